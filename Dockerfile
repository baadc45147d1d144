# syntax=docker/dockerfile:1

# Build a static binary; module downloads are cached in their own layer.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/annals ./cmd/annals

# Run it on a minimal image as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/annals /usr/local/bin/annals
USER nonroot:nonroot
EXPOSE 8080
ENV ANNALS_HTTP_ADDR=:8080
ENTRYPOINT ["/usr/local/bin/annals"]
CMD ["serve"]
