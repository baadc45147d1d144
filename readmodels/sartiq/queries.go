package sartiq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/organization"
)

// User is a user as the sartiq API shows it (UserPublic).
type User struct {
	ID              uuid.UUID `json:"id" db:"id"`
	CreatedAt       time.Time `json:"created_at" db:"created_at"`
	UpdatedAt       time.Time `json:"updated_at" db:"updated_at"`
	Email           string    `json:"email" db:"email"`
	FullName        *string   `json:"full_name" db:"full_name"`
	IsActive        bool      `json:"is_active" db:"is_active"`
	IsSuperuser     bool      `json:"is_superuser" db:"is_superuser"`
	ReworkAvailable int       `json:"rework_available" db:"rework_available"`
}

// Organization is an organization as the sartiq API shows it
// (OrganizationPublic, without the media it does not keep).
type Organization struct {
	ID              uuid.UUID `json:"id" db:"id"`
	CreatedAt       time.Time `json:"created_at" db:"created_at"`
	UpdatedAt       time.Time `json:"updated_at" db:"updated_at"`
	Name            string    `json:"name" db:"name"`
	AvatarImageURL  string    `json:"avatar_image_url" db:"avatar_image_url"`
	Description     *string   `json:"description" db:"description"`
	ReworkAvailable int       `json:"rework_available" db:"rework_available"`
	OwnerID         uuid.UUID `json:"owner_id" db:"owner_id"`
}

// Member is one membership of an organization (OrganizationMemberPublic).
type Member struct {
	UserID   uuid.UUID `json:"user_id" db:"user_id"`
	JoinedAt time.Time `json:"joined_at" db:"joined_at"`
	Email    string    `json:"email" db:"email"`
	FullName *string   `json:"full_name" db:"full_name"`
}

// List is one page of a list and the number of items on all pages.
type List[T any] struct {
	Data  []T `json:"data"`
	Count int `json:"count"`
}

// Page selects a slice of a list; Search, when not empty, keeps the items
// whose searchable text contains it, case-insensitively.
type Page struct {
	Skip   int
	Limit  int
	Search string
}

// Unpaged is the whole list.
var Unpaged = Page{Limit: math.MaxInt32}

// Viewer is who asks, for the queries whose answer depends on it: members
// see their organizations, superusers see all.
type Viewer struct {
	UserID    uuid.UUID
	Superuser bool
}

// Queries answers from the sartiq read models.
type Queries struct {
	pool *pgxpool.Pool
}

// NewQueries returns the queries over a pool holding the sartiq schema.
func NewQueries(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

// Timestamps are read as UTC whatever the session's time zone, so answers
// do not depend on the server's settings.
const (
	userColumns = `id, email, full_name, is_active, is_superuser, rework_available,
		created_at AT TIME ZONE 'UTC' AS created_at, updated_at AT TIME ZONE 'UTC' AS updated_at`
	organizationColumns = `o.id, o.name, o.avatar_image_url, o.description, o.rework_available, o.owner_id,
		o.created_at AT TIME ZONE 'UTC' AS created_at, o.updated_at AT TIME ZONE 'UTC' AS updated_at`
	memberColumns = `m.user_id, u.email, u.full_name, m.joined_at AT TIME ZONE 'UTC' AS joined_at`

	// visibleOrganizations filters organizations for a viewer ($1 superuser,
	// $2 user id).
	visibleOrganizations = `FROM sartiq.organizations o
		WHERE ($1 OR EXISTS (SELECT 1 FROM sartiq.organization_members v WHERE v.organization_id = o.id AND v.user_id = $2))`
)

// Users lists users, searching email and full name.
func (q *Queries) Users(ctx context.Context, page Page) (List[User], error) {
	return list[User](ctx, q.pool, listQuery{
		columns: userColumns,
		from:    `FROM sartiq.users WHERE email ILIKE $1 OR full_name ILIKE $1`,
		order:   `created_at, id`,
	}, page, contains(page.Search))
}

// User returns one user.
func (q *Queries) User(ctx context.Context, id uuid.UUID) (User, error) {
	return one[User](ctx, q.pool, `SELECT `+userColumns+` FROM sartiq.users WHERE id = $1`, identity.ErrUserNotFound, id)
}

// Organizations lists the organizations a viewer sees, searching names.
func (q *Queries) Organizations(ctx context.Context, viewer Viewer, page Page) (List[Organization], error) {
	return list[Organization](ctx, q.pool, listQuery{
		columns: organizationColumns,
		from:    visibleOrganizations + ` AND o.name ILIKE $3`,
		order:   `o.created_at, o.id`,
	}, page, viewer.Superuser, viewer.UserID, contains(page.Search))
}

// Organization returns an organization if the viewer sees it; one it does
// not see is not found.
func (q *Queries) Organization(ctx context.Context, viewer Viewer, id uuid.UUID) (Organization, error) {
	return one[Organization](ctx, q.pool, `SELECT `+organizationColumns+` `+visibleOrganizations+` AND o.id = $3`,
		organization.ErrNotFound, viewer.Superuser, viewer.UserID, id)
}

// Members lists an organization's members in the order they joined. Deleted
// users are not members any more.
func (q *Queries) Members(ctx context.Context, organizationID uuid.UUID, page Page) (List[Member], error) {
	return list[Member](ctx, q.pool, listQuery{
		columns: memberColumns,
		from: `FROM sartiq.organization_members m JOIN sartiq.users u ON u.id = m.user_id
			WHERE m.organization_id = $1`,
		order: `m.joined_at, m.user_id`,
	}, page, organizationID)
}

// listQuery is a list's SQL in parts: the FROM/WHERE clause is shared by
// the count and the page, so both see the same filter.
type listQuery struct {
	columns string
	from    string
	order   string
}

// list reads the total and one page in one snapshot, so count and data
// agree even while projectors write. The transaction and both statements go
// as one pipelined batch: one round trip instead of four.
func list[T any](ctx context.Context, pool *pgxpool.Pool, q listQuery, page Page, args ...any) (List[T], error) {
	out := List[T]{Data: []T{}}
	pageSQL := fmt.Sprintf(`SELECT %s %s ORDER BY %s OFFSET $%d LIMIT $%d`, q.columns, q.from, q.order, len(args)+1, len(args)+2)
	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`)
	b.Queue(`SELECT count(*) `+q.from, args...).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&out.Count); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		return nil
	})
	b.Queue(pageSQL, slices.Concat(args, []any{page.Skip, page.Limit})...).Query(func(rows pgx.Rows) error {
		data, err := pgx.CollectRows(rows, pgx.RowToStructByName[T])
		if err != nil {
			return fmt.Errorf("page: %w", err)
		}
		out.Data = data
		return nil
	})
	b.Queue(`COMMIT`)
	// A failed batch leaves its connection inside the transaction; the pool
	// closes such a connection instead of reusing it.
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		return List[T]{}, fmt.Errorf("list %T: %w", out.Data, err)
	}
	return out, nil
}

// one reads exactly one row, failing with notFound when there is none.
func one[T any](ctx context.Context, pool *pgxpool.Pool, sql string, notFound error, args ...any) (T, error) {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("read %T: %w", zero, err)
	}
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[T])
	if errors.Is(err, pgx.ErrNoRows) {
		return v, notFound
	}
	if err != nil {
		return v, fmt.Errorf("read %T: %w", v, err)
	}
	return v, nil
}

// likeEscaper makes LIKE's wildcards in a search term match themselves.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// contains is the ILIKE pattern of text containing s; "" matches any text.
func contains(s string) string { return "%" + likeEscaper.Replace(s) + "%" }
