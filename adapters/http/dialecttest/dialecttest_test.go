package dialecttest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/adapters/http/dialecttest"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/adapters/postgres/pgtest"
	"github.com/annals-dev/annals/commands"
	"github.com/annals-dev/annals/domain/kernel"
	"github.com/annals-dev/annals/projections"
)

// noted is the probe dialect's only event.
type noted struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

func (noted) EventType() string { return "probe.Noted" }

var notes = kernel.Aggregate[bool]{Kind: "note", Evolve: func(bool, kernel.Event) bool { return true }}

// probe is the smallest dialect: notes written as events, read back from a
// projected table, and an echo of what a request carried.
type probe struct {
	deps         kit.Deps
	bootstrapped string
}

var _ kit.Dialect = (*probe)(nil)

func newProbe(deps kit.Deps) kit.Dialect {
	deps.Executor.Registry.Register(noted{})
	return &probe{deps: deps}
}

func (p *probe) Name() string { return "probe" }

func (p *probe) Migrate(ctx context.Context) error {
	_, err := p.deps.Pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS probe;
CREATE TABLE IF NOT EXISTS probe.notes (id text PRIMARY KEY, text text NOT NULL)`)
	return err
}

// Bootstrap writes a note, which the read model must show before Start
// returns.
func (p *probe) Bootstrap(ctx context.Context) error {
	p.bootstrapped = p.deps.Admin.Email
	_, err := p.note(ctx, commands.Meta{Realm: "probe", Command: "Bootstrap"}, "bootstrap", p.deps.Admin.Email)
	return err
}

func (p *probe) note(ctx context.Context, meta commands.Meta, id, text string) (commands.Result, error) {
	return commands.Execute(ctx, p.deps.Executor, notes, meta, id, func(bool) ([]kernel.Event, error) {
		return []kernel.Event{noted{ID: id, Text: text}}, nil
	})
}

func (p *probe) Handler() http.Handler {
	r := chi.NewRouter()
	r.Post("/notes", func(w http.ResponseWriter, r *http.Request) {
		var in noted
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		res, err := p.note(r.Context(), kit.CommandMeta(r, "probe", "", "Note"), uuid.NewString(), in.Text)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		p.deps.Await(r.Context(), "probe", res)
		var text string
		if err := p.deps.Pool.QueryRow(r.Context(), `SELECT text FROM probe.notes WHERE id = $1`, res.Events[0].(noted).ID).Scan(&text); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(noted{Text: text})
	})
	r.Post("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"authorization": r.Header.Get("Authorization"), "content_type": r.Header.Get("Content-Type"), "body": string(body),
		})
	})
	return r
}

func (p *probe) Projectors() []projections.Projector {
	return []projections.Projector{notesProjector{}}
}

type notesProjector struct{}

func (notesProjector) Name() string            { return "probe.notes" }
func (notesProjector) Version() int            { return 1 }
func (notesProjector) Realm() string           { return "probe" }
func (notesProjector) Handles(typ string) bool { return typ == noted{}.EventType() }
func (notesProjector) Apply(ctx context.Context, tx pgx.Tx, e projections.Event) error {
	n := e.Payload.(noted)
	_, err := tx.Exec(ctx, `INSERT INTO probe.notes (id, text) VALUES ($1, $2)`, n.ID, n.Text)
	return err
}

func TestEnvironment(t *testing.T) {
	for name, factory := range map[string]dialecttest.StoreFactory{"postgres": dialecttest.Postgres, "memory": dialecttest.Memory} {
		t.Run(name, func(t *testing.T) { testEnvironment(t, factory) })
	}
}

func testEnvironment(t *testing.T, factory dialecttest.StoreFactory) {
	admin := kit.Admin{Email: "root@probe.test", Password: "secret-password"}
	env, err := dialecttest.Start(t.Context(), "dialecttest", newProbe, dialecttest.Options{NewStore: factory, Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = env.Close()
		}
	})

	if got := env.Dialect.(*probe).bootstrapped; got != admin.Email {
		t.Fatalf("bootstrap saw admin %q, want %q", got, admin.Email)
	}
	var text string
	if err := env.Pool.QueryRow(t.Context(), `SELECT text FROM probe.notes WHERE id = 'bootstrap'`).Scan(&text); err != nil || text != admin.Email {
		t.Fatalf("the bootstrap's event is not projected when Start returns: %q, %v", text, err)
	}

	for i := range 10 {
		want := uuid.NewString()
		var got noted
		env.JSON(t, http.MethodPost, "/notes", "", map[string]string{"text": want}).Expect(t, http.StatusOK).Decode(t, &got)
		if got.Text != want {
			t.Fatalf("write %d read back %q, want %q", i, got.Text, want)
		}
	}

	echo := env.JSON(t, http.MethodPost, "/echo", "tok", dialecttest.Raw(`{"broken":`)).Expect(t, http.StatusOK).Object(t)
	if echo["authorization"] != "Bearer tok" || echo["content_type"] != "application/json" || echo["body"] != `{"broken":` {
		t.Fatalf("raw JSON request arrived as %v", echo)
	}
	echo = env.Form(t, "/echo", "", url.Values{"username": {"a@b.c"}}).Expect(t, http.StatusOK).Object(t)
	if echo["authorization"] != "" || echo["content_type"] != "application/x-www-form-urlencoded" || echo["body"] != "username=a%40b.c" {
		t.Fatalf("form request arrived as %v", echo)
	}

	closed = true
	if err := env.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var left int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_database WHERE datname = $1`, env.Database.Name).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("database %s survived Close", env.Database.Name)
	}
}
