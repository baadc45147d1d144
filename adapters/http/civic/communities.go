package civic

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/annals-dev/annals/adapters/http/fastapi"
	"github.com/annals-dev/annals/commands"
	cmdcommunity "github.com/annals-dev/annals/commands/community"
	"github.com/annals-dev/annals/domain/community"
	readmodel "github.com/annals-dev/annals/readmodels/civic"
)

// communityList is CommunityListResponse, the envelope the seed's schemas
// give community listings.
type communityList struct {
	Status  string                `json:"status"`
	Message string                `json:"message"`
	Data    []readmodel.Community `json:"data"`
}

// listCommunities answers every community in its envelope.
func (d *Dialect) listCommunities(w http.ResponseWriter, r *http.Request) {
	list, err := d.reads.Communities(r.Context())
	d.Reply(w, r, communityList{Status: "success", Message: "Communities retrieved successfully", Data: list}, err)
}

// readCommunity answers one community.
func (d *Dialect) readCommunity(w http.ResponseWriter, r *http.Request) {
	c, err := d.reads.Community(r.Context(), chi.URLParam(r, "community_id"))
	d.Reply(w, r, c, err)
}

// createCommunity founds a community (CommunityCreate, with an optional
// logo, which CommunityResponse shows).
func (d *Dialect) createCommunity(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	name := b.Str("name", labelRules)
	logo := b.Str("logo", optional)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	id := uuid.NewString()
	res, err := d.communities.Create(r.Context(), d.Meta(r, "CreateCommunity"), id, name.V, logo.V)
	d.answerCommunity(w, r, http.StatusCreated, id, res, err)
}

// updateCommunity changes a community (CommunityUpdate; absent and null
// fields stay).
func (d *Dialect) updateCommunity(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "community_id")
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	name := b.Str("name", optionalLabelRules)
	logo := b.Str("logo", optional)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	res, err := d.communities.Update(r.Context(), d.Meta(r, "UpdateCommunity"), id, community.Changes{Name: name.Ptr(), Logo: logo.Ptr()})
	d.answerCommunity(w, r, http.StatusOK, id, res, err)
}

func (d *Dialect) answerCommunity(w http.ResponseWriter, r *http.Request, status int, id string, res commands.Result, err error) {
	fastapi.Written(d.Responder, w, r, status, res, err, func(ctx context.Context) (readmodel.Community, error) { return d.reads.Community(ctx, id) })
}

// deleteCommunity ends a community with its memberships and requests.
func (d *Dialect) deleteCommunity(w http.ResponseWriter, r *http.Request) {
	res, err := d.communities.Delete(r.Context(), d.Meta(r, "DeleteCommunity"), chi.URLParam(r, "community_id"))
	d.done(w, r, res, err)
}

// listMembers answers a community's members.
func (d *Dialect) listMembers(w http.ResponseWriter, r *http.Request) {
	members, err := d.reads.Members(r.Context(), chi.URLParam(r, "community_id"))
	d.Reply(w, r, members, err)
}

// requestJoin files a request to join (CommunityJoinRequestCreate). Users
// ask for themselves; a superuser may file one for anybody.
func (d *Dialect) requestJoin(w http.ResponseWriter, r *http.Request) {
	b, ok := d.Body(w, r)
	if !ok {
		return
	}
	communityID := b.Str("community_id", required)
	userID := b.Str("user_id", required)
	message := b.Str("message", optional)
	if !fastapi.Valid(w, b.Errors()) {
		return
	}
	if err := selfOrSuperuser(r, userID.V); err != nil {
		d.Fail(w, r, err)
		return
	}
	cmd := cmdcommunity.RequestJoin{CommunityID: communityID.V, RequestID: uuid.NewString(), UserID: userID.V, Message: message.Ptr()}
	res, err := d.communities.RequestJoin(r.Context(), d.Meta(r, "RequestToJoinCommunity"), cmd)
	d.answerJoinRequest(w, r, http.StatusCreated, cmd.CommunityID, cmd.RequestID, res, err)
}

// listJoinRequests answers a community's join requests.
func (d *Dialect) listJoinRequests(w http.ResponseWriter, r *http.Request) {
	requests, err := d.reads.JoinRequests(r.Context(), chi.URLParam(r, "community_id"))
	d.Reply(w, r, requests, err)
}

// approveJoin grants a pending request: its user becomes a member.
func (d *Dialect) approveJoin(w http.ResponseWriter, r *http.Request) {
	d.decideJoin(w, r, "ApproveJoinRequest", true)
}

// rejectJoin turns a pending request down.
func (d *Dialect) rejectJoin(w http.ResponseWriter, r *http.Request) {
	d.decideJoin(w, r, "RejectJoinRequest", false)
}

func (d *Dialect) decideJoin(w http.ResponseWriter, r *http.Request, command string, approve bool) {
	communityID, requestID := chi.URLParam(r, "community_id"), chi.URLParam(r, "request_id")
	res, err := d.communities.DecideJoin(r.Context(), d.Meta(r, command), communityID, requestID, approve)
	d.answerJoinRequest(w, r, http.StatusOK, communityID, requestID, res, err)
}

func (d *Dialect) answerJoinRequest(w http.ResponseWriter, r *http.Request, status int, communityID, requestID string, res commands.Result, err error) {
	fastapi.Written(d.Responder, w, r, status, res, err, func(ctx context.Context) (readmodel.JoinRequest, error) {
		return d.reads.JoinRequest(ctx, communityID, requestID)
	})
}
