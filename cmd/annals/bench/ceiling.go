package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

// ceilingSchema holds the tables the ceilings write to: the shapes and
// indexes of the tables Annals itself writes (the event log, the sartiq read
// models), so that a ceiling does the same work minus the architecture.
const ceilingSchema = `
CREATE SCHEMA ceiling;

-- As annals_events.events: same columns, same keys.
CREATE TABLE ceiling.events (
    xid         xid8 NOT NULL,
    seq         bigserial,
    event_id    uuid NOT NULL,
    stream_id   text NOT NULL,
    version     bigint NOT NULL,
    type        text NOT NULL,
    data        bytea,
    metadata    bytea,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (xid, seq),
    UNIQUE (stream_id, version),
    UNIQUE (event_id)
);

-- As sartiq.users, plus the password hash and the unique email the command
-- side keeps elsewhere.
CREATE TABLE ceiling.users (
    id               uuid        PRIMARY KEY,
    email            text        NOT NULL,
    password_hash    text        NOT NULL,
    full_name        text,
    is_active        boolean     NOT NULL,
    is_superuser     boolean     NOT NULL,
    rework_available integer     NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email ON ceiling.users (lower(email));

-- As sartiq.organizations, listed by owner (the dialect lists by
-- membership, which for an owner is the same set).
CREATE TABLE ceiling.organizations (
    id               uuid        PRIMARY KEY,
    name             text        NOT NULL,
    avatar_image_url text        NOT NULL,
    description      text,
    rework_available integer     NOT NULL,
    owner_id         uuid        NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX organizations_by_owner ON ceiling.organizations (owner_id, created_at, id);
`

// insertEventSQL is the raw single-row INSERT the appends are judged by.
const insertEventSQL = `INSERT INTO ceiling.events (xid, event_id, stream_id, version, type, data, metadata)
VALUES (pg_current_xact_id(), $1, $2, $3, $4, $5, $6)`

// organizationColumns reads an organization as the sartiq read model does.
const organizationColumns = `id, name, avatar_image_url, description, rework_available, owner_id,
	created_at AT TIME ZONE 'UTC', updated_at AT TIME ZONE 'UTC'`

// ceilingHandler is the bare chi+pgx service the HTTP figures are judged
// by: each request is decoded, does its one statement and is answered in
// the dialect's JSON shapes, with no authentication, no events and no
// projection.
func ceilingHandler(pool *pgxpool.Pool, bcryptCost int) http.Handler {
	h := ceilingHandlers{pool: pool, bcryptCost: bcryptCost}
	r := chi.NewRouter()
	r.Post("/users/signup", h.signup)
	r.Post("/organizations/", h.createOrganization)
	r.Get("/organizations/", h.listOrganizations)
	r.Get("/organizations/{id}", h.readOrganization)
	return r
}

type ceilingHandlers struct {
	pool       *pgxpool.Pool
	bcryptCost int
}

func (h ceilingHandlers) signup(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string  `json:"email"`
		Password string  `json:"password"`
		FullName *string `json:"full_name"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Email == "" || len(in.Password) < 8 {
		http.Error(w, "email and password required", http.StatusUnprocessableEntity)
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), h.bcryptCost)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	u := readmodel.User{ID: uuid.New(), Email: in.Email, FullName: in.FullName, IsActive: true, ReworkAvailable: 2}
	u.CreatedAt = time.Now().UTC()
	u.UpdatedAt = u.CreatedAt
	_, err = h.pool.Exec(r.Context(), `INSERT INTO ceiling.users
		(id, email, password_hash, full_name, is_active, is_superuser, rework_available, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
		u.ID, u.Email, string(hash), u.FullName, u.IsActive, u.IsSuperuser, u.ReworkAvailable, u.CreatedAt)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.ConstraintName == "users_email" {
		http.Error(w, "email taken", http.StatusBadRequest)
		return
	}
	answer(w, u, err)
}

func (h ceilingHandlers) createOrganization(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name        string    `json:"name"`
		AvatarImage string    `json:"avatar_image"`
		Description *string   `json:"description"`
		OwnerID     uuid.UUID `json:"owner_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Name == "" || in.AvatarImage == "" {
		http.Error(w, "name and avatar_image required", http.StatusUnprocessableEntity)
		return
	}
	o := readmodel.Organization{ID: uuid.New(), Name: in.Name, AvatarImageURL: in.AvatarImage,
		Description: in.Description, ReworkAvailable: 2, OwnerID: in.OwnerID}
	o.CreatedAt = time.Now().UTC()
	o.UpdatedAt = o.CreatedAt
	_, err := h.pool.Exec(r.Context(), `INSERT INTO ceiling.organizations
		(id, name, avatar_image_url, description, rework_available, owner_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
		o.ID, o.Name, o.AvatarImageURL, o.Description, o.ReworkAvailable, o.OwnerID, o.CreatedAt)
	answer(w, o, err)
}

func (h ceilingHandlers) readOrganization(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		http.Error(w, "bad id", http.StatusUnprocessableEntity)
		return
	}
	var o readmodel.Organization
	err = h.pool.QueryRow(r.Context(), `SELECT `+organizationColumns+` FROM ceiling.organizations WHERE id = $1`, id).
		Scan(organizationFields(&o)...)
	if errors.Is(err, pgx.ErrNoRows) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	answer(w, o, err)
}

// listOrganizations reads one page and the total in one statement.
func (h ceilingHandlers) listOrganizations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	owner, err := uuid.Parse(q.Get("owner_id"))
	skip, skipErr := strconv.Atoi(q.Get("skip"))
	limit, limitErr := strconv.Atoi(q.Get("limit"))
	if err := errors.Join(err, skipErr, limitErr); err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	rows, err := h.pool.Query(r.Context(), `SELECT `+organizationColumns+`, count(*) OVER ()
		FROM ceiling.organizations WHERE owner_id = $1 ORDER BY created_at, id OFFSET $2 LIMIT $3`, owner, skip, limit)
	if err != nil {
		answer(w, nil, err)
		return
	}
	out := readmodel.List[readmodel.Organization]{Data: []readmodel.Organization{}}
	var o readmodel.Organization
	_, err = pgx.ForEachRow(rows, append(organizationFields(&o), &out.Count), func() error {
		out.Data = append(out.Data, o)
		return nil
	})
	answer(w, out, err)
}

func organizationFields(o *readmodel.Organization) []any {
	return []any{&o.ID, &o.Name, &o.AvatarImageURL, &o.Description, &o.ReworkAvailable, &o.OwnerID, &o.CreatedAt, &o.UpdatedAt}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return false
	}
	return true
}

// answer writes v as JSON, or err as a 500.
func answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// createCeilingSchema makes the ceilings' tables.
func createCeilingSchema(ctx context.Context, pool *pgxpool.Pool) error {
	if _, err := pool.Exec(ctx, ceilingSchema); err != nil {
		return fmt.Errorf("ceiling tables: %w", err)
	}
	return nil
}
