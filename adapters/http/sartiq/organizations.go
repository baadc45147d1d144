package sartiq

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/commands"
	cmdorganization "github.com/annals-dev/annals/commands/organization"
	"github.com/annals-dev/annals/domain/organization"
	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

// defaultOrganizationRework is an organization's rework allowance when
// created without one, the same as a user's.
const defaultOrganizationRework = defaultReworkAvailable

// Field rules of the seed's organization schemas.
var (
	organizationNameRules = fastapi.Rules{Required: true, Max: 255}
	descriptionRules      = fastapi.Rules{Nullable: true, Max: 1000}
)

// organizationPublic is OrganizationPublic. Uploaded media live in a Sartiq
// module the seed does not describe, so avatar_image_media is always null
// and the avatar is its URL.
type organizationPublic struct {
	readmodel.Organization
	AvatarImageMedia *struct{} `json:"avatar_image_media"`
}

func (d *Dialect) createOrganization(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	name := b.Str("name", organizationNameRules)
	avatar := avatarImage(b, fastapi.Rules{Required: true})
	description := b.Str("description", descriptionRules)
	rework := b.Int("rework_available", nullable)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	id := uuid.New()
	cmd := cmdorganization.Create{OrganizationID: id.String(), Profile: organization.Profile{
		Name: name.V, AvatarImage: avatar.V, Description: description.Ptr(), ReworkAvailable: defaultOrganizationRework,
	}}
	if rework.Has() {
		cmd.ReworkAvailable = rework.V
	}
	res, err := d.orgs.Create(r.Context(), d.Meta(r, "CreateOrganization"), actor(r), cmd)
	d.organizationAfter(w, r, id, res, err)
}

// organizationAfter answers an organization command with the organization
// as the read model shows it once it includes the command's events.
func (d *Dialect) organizationAfter(w http.ResponseWriter, r *http.Request, id uuid.UUID, res commands.Result, err error) {
	fastapi.Written(d.Responder, w, r, http.StatusOK, res, err, func(ctx context.Context) (organizationPublic, error) {
		return d.organization(ctx, r, id)
	})
}

func (d *Dialect) organization(ctx context.Context, r *http.Request, id uuid.UUID) (organizationPublic, error) {
	o, err := d.reads.Organization(ctx, viewer(r), id)
	return organizationPublic{Organization: o}, err
}

// listOrganizations lists the caller's organizations, or all of them for a
// superuser.
func (d *Dialect) listOrganizations(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	pg := page(p)
	if !fastapi.Valid(w, p.Errors()) {
		return
	}
	list, err := d.reads.Organizations(r.Context(), viewer(r), pg)
	out := readmodel.List[organizationPublic]{Data: make([]organizationPublic, len(list.Data)), Count: list.Count}
	for i, o := range list.Data {
		out.Data[i] = organizationPublic{Organization: o}
	}
	d.Reply(w, r, out, err)
}

// readOrganization shows an organization to its members and superusers;
// to anyone else it does not exist.
func (d *Dialect) readOrganization(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	id := p.PathUUID("organization_id")
	if !fastapi.Valid(w, p.Errors()) {
		return
	}
	o, err := d.organization(r.Context(), r, id)
	d.Reply(w, r, o, err)
}

// updateOrganization changes the profile and may transfer ownership
// (OrganizationUpdate). A null leaves a field as it is, except description,
// which null clears.
func (d *Dialect) updateOrganization(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	id := p.PathUUID("organization_id")
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	name := b.Str("name", fastapi.Rules{Nullable: true, Max: 255})
	avatar := avatarImage(b, nullable)
	description := b.Str("description", descriptionRules)
	rework := b.Int("rework_available", nullable)
	owner := b.UUID("owner_id", nullable)
	if !fastapi.Valid(w, p.Errors(), b.Errors()) {
		return
	}
	cmd := cmdorganization.Update{OrganizationID: id.String(), Changes: organization.Changes{
		Name: name.Ptr(), AvatarImage: avatar.Ptr(), Description: description.Ptr(), ClearDescription: description.Null,
		ReworkAvailable: rework.Ptr(),
	}}
	if owner.Has() {
		cmd.NewOwner = owner.V.String()
	}
	res, err := d.orgs.Update(r.Context(), d.Meta(r, "UpdateOrganization"), actor(r), cmd)
	d.organizationAfter(w, r, id, res, err)
}

func (d *Dialect) deleteOrganization(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	id := p.PathUUID("organization_id")
	if !fastapi.Valid(w, p.Errors()) {
		return
	}
	res, err := d.orgs.Delete(r.Context(), d.Meta(r, "DeleteOrganization"), actor(r), id.String())
	d.confirm(w, r, "Organization deleted successfully", res, err)
}

// listMembers lists an organization's members to those who see it.
func (d *Dialect) listMembers(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	id := p.PathUUID("organization_id")
	pg := page(p)
	if !fastapi.Valid(w, p.Errors()) {
		return
	}
	d.answerMembers(w, r, id, pg)
}

func (d *Dialect) answerMembers(w http.ResponseWriter, r *http.Request, id uuid.UUID, pg readmodel.Page) {
	if _, err := d.reads.Organization(r.Context(), viewer(r), id); err != nil {
		d.Fail(w, r, err)
		return
	}
	members, err := d.reads.Members(r.Context(), id, pg)
	d.Reply(w, r, members, err)
}

// addMember adds an existing user and answers the whole member list
// (AddMemberRequest → OrganizationMembersPublic).
func (d *Dialect) addMember(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	id := p.PathUUID("organization_id")
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	user := b.UUID("user_id", fastapi.Rules{Required: true})
	if !fastapi.Valid(w, p.Errors(), b.Errors()) {
		return
	}
	res, err := d.orgs.AddMember(r.Context(), d.Meta(r, "AddOrganizationMember"), actor(r), id.String(), user.V.String())
	if err != nil {
		d.Fail(w, r, err)
		return
	}
	d.Await(r, res)
	d.answerMembers(w, r, id, readmodel.Unpaged)
}

func (d *Dialect) removeMember(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	id := p.PathUUID("organization_id")
	user := p.PathUUID("user_id")
	if !fastapi.Valid(w, p.Errors()) {
		return
	}
	res, err := d.orgs.RemoveMember(r.Context(), d.Meta(r, "RemoveOrganizationMember"), actor(r), id.String(), user.String())
	d.confirm(w, r, "Member removed successfully", res, err)
}

// resourceKinds are the personal resources migrate-resources moves, in the
// order of ResourceMigrationCounts. They live in Sartiq modules the seed
// does not describe, so there is never anything of them to move.
var resourceKinds = []string{
	"products", "subjects", "styles", "generations", "shootings", "shot_types", "stylists",
	"background_presets", "resolution_presets", "product_type_shot_types", "external_integrations",
	"shooting_guidelines", "export_configurations",
}

// migrationResponse is ResourceMigrationResponse.
type migrationResponse struct {
	Message        string         `json:"message"`
	OrganizationID uuid.UUID      `json:"organization_id"`
	MigratedCounts map[string]int `json:"migrated_counts"`
	TotalMigrated  int            `json:"total_migrated"`
}

// migrateResources checks the migration as Sartiq does (superusers only,
// the source user a member) and reports zero resources of every kind.
func (d *Dialect) migrateResources(w http.ResponseWriter, r *http.Request) {
	p := fastapi.NewParams(r)
	id := p.PathUUID("organization_id")
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	source := b.UUID("user_id", fastapi.Rules{Required: true})
	counts := make(map[string]int, len(resourceKinds))
	for _, kind := range resourceKinds {
		// Read to validate the flags; whatever they ask, nothing moves.
		b.Bool("migrate_"+kind, fastapi.Rules{})
		counts[kind] = 0
	}
	if !fastapi.Valid(w, p.Errors(), b.Errors()) {
		return
	}
	if err := d.orgs.AuthorizeMigration(r.Context(), readmodel.Realm, actor(r), id.String(), source.V.String()); err != nil {
		d.Fail(w, r, err)
		return
	}
	fastapi.WriteJSON(w, http.StatusOK, migrationResponse{
		Message: "Resources migrated successfully", OrganizationID: id, MigratedCounts: counts,
	})
}

// avatarImage reads avatar_image: a URL string, or a MediaInput object. Media
// resources are not kept here, so a MediaInput must carry its url.
func avatarImage(b *fastapi.Body, rules fastapi.Rules) fastapi.Opt[string] {
	field, _ := b.Raw("avatar_image")
	raw := bytes.TrimSpace(field)
	if len(raw) == 0 || raw[0] != '{' {
		return b.Str("avatar_image", rules)
	}
	var media struct {
		URL *string `json:"url"`
	}
	if err := json.Unmarshal(raw, &media); err != nil || media.URL == nil {
		var input any
		_ = json.Unmarshal(raw, &input)
		b.Fail("avatar_image", "value_error", "Value error, a media input needs a url string", input,
			map[string]any{"error": "media resources are not available; give the image url"})
		return fastapi.Opt[string]{Set: true}
	}
	return fastapi.Opt[string]{Set: true, V: *media.URL}
}
