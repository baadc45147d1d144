package sartiq

import (
	"context"
	"net/http"

	readmodel "github.com/annals-dev/annals/readmodels/sartiq"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/adapters/http/kit"
	"github.com/annals-dev/annals/commands"
	cmdidentity "github.com/annals-dev/annals/commands/identity"
	"github.com/annals-dev/annals/domain/identity"
)

// defaultReworkAvailable is UserCreate's default rework allowance.
const defaultReworkAvailable = 2

// Field rules of the seed's user schemas.
var (
	passwordRules = fastapi.Rules{Required: true, Min: 8, Max: 40}
	emailRules    = fastapi.Rules{Required: true, Max: 255}
	nameRules     = fastapi.Rules{Nullable: true, Max: 255}
	nullable      = fastapi.Rules{Nullable: true}
)

// signup registers an active, ordinary user without authentication
// (UserRegister). The id/created_at/updated_at the schema leaks from its
// base model are ignored: the server decides them.
func (d *Dialect) signup(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	email := b.Email("email", emailRules)
	password := b.Str("password", passwordRules)
	fullName := b.Str("full_name", nameRules)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	d.register(w, r, "RegisterUser", cmdidentity.Register{
		Email: email.V, Password: password.V, FullName: fullName.Ptr(), Active: true, ReworkAvailable: defaultReworkAvailable,
	})
}

// createUser registers any kind of user (UserCreate); superusers only.
func (d *Dialect) createUser(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	email := b.Email("email", emailRules)
	password := b.Str("password", passwordRules)
	fullName := b.Str("full_name", nullable)
	superuser := b.Bool("is_superuser", fastapi.Rules{})
	rework := b.Int("rework_available", fastapi.Rules{})
	active := b.Bool("is_active", fastapi.Rules{})
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	cmd := cmdidentity.Register{
		Email: email.V, Password: password.V, FullName: fullName.Ptr(),
		Superuser: superuser.V, Active: true, ReworkAvailable: defaultReworkAvailable,
	}
	if active.Set {
		cmd.Active = active.V
	}
	if rework.Set {
		cmd.ReworkAvailable = rework.V
	}
	d.register(w, r, "CreateUser", cmd)
}

// register creates the account under a new id and answers it.
func (d *Dialect) register(w http.ResponseWriter, r *http.Request, command string, cmd cmdidentity.Register) {
	id := uuid.New()
	cmd.UserID = id.String()
	res, err := d.users.Register(r.Context(), d.Meta(r, command), cmd)
	d.userAfter(w, r, id, res, err)
}

// userAfter answers a user command with the user as the read model shows it
// once it includes the command's events.
func (d *Dialect) userAfter(w http.ResponseWriter, r *http.Request, id uuid.UUID, res commands.Result, err error) {
	fastapi.Written(d.Responder, w, r, http.StatusOK, res, err, func(ctx context.Context) (readmodel.User, error) {
		return d.reads.User(ctx, id)
	})
}

func (d *Dialect) readMe(w http.ResponseWriter, r *http.Request) {
	u, err := d.reads.User(r.Context(), callerID(r))
	d.Reply(w, r, u, err)
}

// updateMe changes the caller's own email and full name (UserUpdateMe).
func (d *Dialect) updateMe(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	email := b.Email("email", fastapi.Rules{Nullable: true, Max: 255})
	fullName := b.Str("full_name", nameRules)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	id := callerID(r)
	res, err := d.users.Update(r.Context(), d.Meta(r, "UpdateUserMe"), id.String(), identity.UserChanges{
		Email: email.Ptr(), FullName: fullName.Ptr(), ClearFullName: fullName.Null,
	})
	d.userAfter(w, r, id, res, err)
}

// updatePasswordMe changes the caller's password once the current one is
// verified (UpdatePassword).
func (d *Dialect) updatePasswordMe(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	current := b.Str("current_password", passwordRules)
	next := b.Str("new_password", passwordRules)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	res, err := d.users.ChangePassword(r.Context(), d.Meta(r, "UpdatePasswordMe"), callerID(r).String(), current.V, next.V, true)
	d.confirm(w, r, "Password updated successfully", res, err)
}

// readUser shows a user to itself or to a superuser.
func (d *Dialect) readUser(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	id := p.PathUUID("user_id")
	if !fastapi.Valid(w, p.Errors()) {
		return
	}
	if !self(r, id) && !kit.PrincipalFrom(r.Context()).User.Superuser {
		d.Fail(w, r, errNotSuperuser)
		return
	}
	u, err := d.reads.User(r.Context(), id)
	d.Reply(w, r, u, err)
}

func (d *Dialect) listUsers(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	pg := page(p)
	if !fastapi.Valid(w, p.Errors()) {
		return
	}
	users, err := d.reads.Users(r.Context(), pg)
	d.Reply(w, r, users, err)
}

// updateUser changes any field of a user, its password included
// (UserUpdate). A null leaves a field as it is, except full_name, which
// null clears.
func (d *Dialect) updateUser(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	id := p.PathUUID("user_id")
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	email := b.Email("email", nullable)
	fullName := b.Str("full_name", nullable)
	password := b.Str("password", fastapi.Rules{Nullable: true, Min: 8, Max: 40})
	superuser := b.Bool("is_superuser", nullable)
	active := b.Bool("is_active", nullable)
	rework := b.Int("rework_available", nullable)
	if !fastapi.Valid(w, p.Errors(), b.Errors()) {
		return
	}
	ctx := r.Context()
	profile, err := d.users.Update(ctx, d.Meta(r, "UpdateUser"), id.String(), identity.UserChanges{
		Email: email.Ptr(), FullName: fullName.Ptr(), ClearFullName: fullName.Null,
		Superuser: superuser.Ptr(), Active: active.Ptr(), ReworkAvailable: rework.Ptr(),
	})
	if err != nil || !password.Has() {
		d.userAfter(w, r, id, profile, err)
		return
	}
	pass, err := d.users.ChangePassword(ctx, d.Meta(r, "UpdateUser"), id.String(), "", password.V, false)
	d.userAfter(w, r, id, commands.Latest(profile, pass), err)
}

// deleteUser ends a user's account.
func (d *Dialect) deleteUser(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	id := p.PathUUID("user_id")
	if !fastapi.Valid(w, p.Errors()) {
		return
	}
	res, err := d.users.Delete(r.Context(), d.Meta(r, "DeleteUser"), id.String())
	d.confirm(w, r, "User deleted successfully", res, err)
}
