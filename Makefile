.PHONY: run test

# Serves every dialect; without ANNALS_DATABASE_URL a PostgreSQL is found or
# started on this machine.
run:
	go mod download
	go run ./cmd/annals serve

# Runs every test against a PostgreSQL found or started on this machine, then
# the sartiq HTTP suite once more on the EventStoreDB backend (the in-process
# server double, or ANNALS_ESDB_URL), then stops the private cluster if one
# was started, keeping the tests' exit code.
test:
	go mod download
	@url=$$(go run ./cmd/annals devdb up) || exit $$?; \
	status=0; \
	ANNALS_DATABASE_URL="$$url" go test -race -count=1 ./... || status=$$?; \
	echo "sartiq over HTTP again, on the EventStoreDB backend:"; \
	ANNALS_DATABASE_URL="$$url" ANNALS_TEST_EVENTSTORE=esdb go test -race -count=1 ./adapters/http/sartiq/ || status=$$?; \
	go run ./cmd/annals devdb down || echo "devdb down failed" >&2; \
	exit $$status
