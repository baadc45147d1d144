package civic

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/annals-dev/annals/domain/identity"
	"github.com/annals-dev/annals/domain/role"
)

// Role is a role definition (UserRoleResponse).
type Role struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// Holder is a user holding a role, in the shape the by-role listing
// answers with: the user's name and id.
type Holder struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// Module is a role-based module with the ids of the roles allowed to use
// it, in the order they were added.
type Module struct {
	ID        string    `json:"id"`
	Name      string    `json:"module_name"`
	Roles     []string  `json:"user_roles"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ModulePage is one page of modules with the totals of the whole listing.
type ModulePage struct {
	Items      []Module `json:"items"`
	Total      int      `json:"total"`
	Page       int      `json:"page"`
	Limit      int      `json:"limit"`
	TotalPages int      `json:"total_pages"`
}

// ModuleFilter selects modules: Name matches part of the name, ignoring
// case; RoleID keeps modules that role may use. Empty means no filter.
type ModuleFilter struct {
	Name   string
	RoleID string
	Page   int // from 1
	Limit  int
}

func scanRole(row pgx.CollectableRow) (Role, error) {
	var r Role
	return r, row.Scan(&r.ID, &r.Name)
}

func scanHolder(row pgx.CollectableRow) (Holder, error) {
	var h Holder
	return h, row.Scan(&h.ID, &h.Name)
}

func scanModule(row pgx.CollectableRow) (Module, error) {
	var m Module
	err := row.Scan(&m.ID, &m.Name, &m.Roles, &m.CreatedAt, &m.UpdatedAt)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, err
}

// Roles returns every role, oldest first.
func (q *Queries) Roles(ctx context.Context) ([]Role, error) {
	return all(ctx, q, scanRole, `SELECT id, name FROM civic.roles ORDER BY seq`)
}

// Role returns one role.
func (q *Queries) Role(ctx context.Context, id string) (Role, error) {
	return one(ctx, q, scanRole, role.ErrRoleNotFound, `SELECT id, name FROM civic.roles WHERE id = $1`, id)
}

// RolesOfUser returns the roles a user holds, in the order granted.
func (q *Queries) RolesOfUser(ctx context.Context, userID string) ([]Role, error) {
	if err := q.exists(ctx, identity.ErrUserNotFound, `SELECT 1 FROM civic.users WHERE id = $1`, userID); err != nil {
		return nil, err
	}
	return all(ctx, q, scanRole, `
SELECT r.id, r.name FROM civic.user_roles ur JOIN civic.roles r ON r.id = ur.role_id
WHERE ur.user_id = $1 ORDER BY ur.seq`, userID)
}

// HoldersOfRole returns the users holding a role, in the order granted.
func (q *Queries) HoldersOfRole(ctx context.Context, roleID string) ([]Holder, error) {
	if err := q.exists(ctx, role.ErrRoleNotFound, `SELECT 1 FROM civic.roles WHERE id = $1`, roleID); err != nil {
		return nil, err
	}
	return all(ctx, q, scanHolder, `
SELECT u.id, u.name FROM civic.user_roles ur JOIN civic.users u ON u.id = ur.user_id
WHERE ur.role_id = $1 ORDER BY ur.seq`, roleID)
}

const moduleColumns = `
m.id, m.name,
array(SELECT mr.role_id FROM civic.module_roles mr JOIN civic.roles r ON r.id = mr.role_id
    WHERE mr.module_id = m.id ORDER BY mr.seq),
m.created_at, m.updated_at`

// Module returns one module.
func (q *Queries) Module(ctx context.Context, id string) (Module, error) {
	return one(ctx, q, scanModule, role.ErrModuleNotFound, `SELECT `+moduleColumns+` FROM civic.modules m WHERE m.id = $1`, id)
}

// moduleWhere applies a ModuleFilter given as $1 (name pattern or "") and
// $2 (role id or "").
const moduleWhere = `
WHERE ($1 = '' OR m.name ILIKE $1)
  AND ($2 = '' OR EXISTS (SELECT 1 FROM civic.module_roles mr JOIN civic.roles r ON r.id = mr.role_id
      WHERE mr.module_id = m.id AND mr.role_id = $2))`

// Modules returns a page of the modules a filter selects, oldest first.
func (q *Queries) Modules(ctx context.Context, f ModuleFilter) (ModulePage, error) {
	pattern := ""
	if f.Name != "" {
		pattern = likePattern(f.Name)
	}
	page := ModulePage{Page: f.Page, Limit: f.Limit}
	if err := q.pool.QueryRow(ctx, `SELECT count(*) FROM civic.modules m`+moduleWhere, pattern, f.RoleID).Scan(&page.Total); err != nil {
		return ModulePage{}, fmt.Errorf("civic query: count modules: %w", err)
	}
	page.TotalPages = (page.Total + f.Limit - 1) / f.Limit
	items, err := all(ctx, q, scanModule, `SELECT `+moduleColumns+` FROM civic.modules m`+moduleWhere+`
ORDER BY m.seq OFFSET $3 LIMIT $4`, pattern, f.RoleID, (f.Page-1)*f.Limit, f.Limit)
	if err != nil {
		return ModulePage{}, err
	}
	page.Items = items
	return page, nil
}
