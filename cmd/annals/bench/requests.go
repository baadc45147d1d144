package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	readmodel "github.com/annals-dev/annals/readmodels/sartiq"
)

// Aims of the HTTP figures, on throughput.
var (
	commandAim = &Aim{MinRatio: 0.5}
	queryAim   = &Aim{MinRatio: 0.8}
)

// ceilingHandlerName names the HTTP figures' ceiling.
const ceilingHandlerName = "bare chi+pgx"

const (
	// pageSize is the length of the pages the list queries ask for.
	pageSize = 20
	// password of every user the bench signs up.
	password = "bench-password"
)

// queries measures reading one organization and one page of a list, as
// a member of Organizations organizations, beside a bare handler's SELECT.
func (s *session) queries(ctx context.Context) (Report, error) {
	d, err := s.dialect(ctx)
	if err != nil {
		return Report{}, err
	}
	ceiling, err := s.ceiling()
	if err != nil {
		return Report{}, err
	}
	api := s.apiClient(d.url + "/api/v1")
	reader, err := api.newAccount(ctx, "reader")
	if err != nil {
		return Report{}, err
	}
	ids, err := reader.seedOrganizations(ctx, s.cfg.Organizations)
	if err != nil {
		return Report{}, err
	}
	owner := uuid.New()
	ceilingIDs, err := s.seedCeilingOrganizations(ctx, owner)
	if err != nil {
		return Report{}, err
	}
	bare := s.apiClient(ceiling)

	byID := func(c client, ids []uuid.UUID) func(ctx context.Context, _ int) error {
		return func(ctx context.Context, _ int) error {
			return c.do(ctx, http.MethodGet, "/organizations/"+ids[rand.N(len(ids))].String(), nil)
		}
	}
	list := func(c client, query url.Values) func(ctx context.Context, _ int) error {
		return func(ctx context.Context, _ int) error {
			q := url.Values{"skip": {strconv.Itoa(rand.N(s.cfg.Organizations - pageSize))}, "limit": {strconv.Itoa(pageSize)}}
			for k, v := range query {
				q[k] = v
			}
			return c.do(ctx, http.MethodGet, "/organizations/?"+q.Encode(), nil)
		}
	}
	report, err := s.compareHTTP(ctx, []httpFigure{
		{name: "query organization by id", aim: queryAim, op: byID(reader, ids), ceiling: byID(bare, ceilingIDs)},
		{name: fmt.Sprintf("query organizations, page of %d", pageSize), aim: queryAim,
			op: list(reader, nil), ceiling: list(bare, url.Values{"owner_id": {owner.String()}})},
	})
	if err != nil {
		return Report{}, err
	}
	report.Notes = append(report.Notes, fmt.Sprintf(
		"queries: the caller is an authenticated member of %d organizations; ceiling: the same SELECT without authentication (the list's page and total in one statement)",
		s.cfg.Organizations))
	return report, nil
}

// commands measures creating organizations and signing up, each answered
// once the read model shows the write as the dialect does, beside a bare
// handler's INSERT.
func (s *session) commands(ctx context.Context) (Report, error) {
	d, err := s.dialect(ctx)
	if err != nil {
		return Report{}, err
	}
	ceiling, err := s.ceiling()
	if err != nil {
		return Report{}, err
	}
	api := s.apiClient(d.url + "/api/v1")
	owner, err := api.newAccount(ctx, "owner")
	if err != nil {
		return Report{}, err
	}
	bare := s.apiClient(ceiling)
	ceilingOwner := uuid.New()
	var n atomic.Int64
	createOrganization := func(c client, ownerID *uuid.UUID) func(ctx context.Context, _ int) error {
		return func(ctx context.Context, _ int) error {
			body := map[string]any{"name": fmt.Sprintf("Org %d", n.Add(1)), "avatar_image": "https://img.example/org.png"}
			if ownerID != nil {
				body["owner_id"] = ownerID
			}
			return c.do(ctx, http.MethodPost, "/organizations/", body)
		}
	}
	signup := func(c client) func(ctx context.Context, _ int) error {
		return func(ctx context.Context, _ int) error {
			return c.do(ctx, http.MethodPost, "/users/signup", map[string]any{
				"email": fmt.Sprintf("user-%d@bench.example", n.Add(1)), "password": password, "full_name": "Bench User",
			})
		}
	}
	report, err := s.compareHTTP(ctx, []httpFigure{
		{name: "command create organization", aim: commandAim, op: createOrganization(owner, nil), ceiling: createOrganization(bare, &ceilingOwner)},
		{name: "command signup", aim: commandAim, op: signup(api), ceiling: signup(bare)},
	})
	if err != nil {
		return Report{}, err
	}
	report.Notes = append(report.Notes, fmt.Sprintf(
		"commands: answered once the read model shows the write, as the dialect does; ceiling: one INSERT of the same row; sign-ups hash with bcrypt cost %d on both sides",
		s.cfg.BcryptCost))
	return report, nil
}

// httpFigure is one HTTP operation and its ceiling's equivalent.
type httpFigure struct {
	name        string
	aim         *Aim
	op, ceiling func(ctx context.Context, worker int) error
}

// compareHTTP measures each figure with Clients concurrent clients beside
// its ceiling.
func (s *session) compareHTTP(ctx context.Context, figures []httpFigure) (Report, error) {
	var report Report
	for _, f := range figures {
		s.progress("%s: %d clients, %d × %s per side", f.name, s.cfg.Clients, s.cfg.Rounds, s.cfg.Duration)
		samples, err := compare(ctx, s.cfg,
			workers(ceilingHandlerName, s.cfg.Clients, timed(f.ceiling)),
			workers("annals", s.cfg.Clients, timed(f.op)))
		if err != nil {
			return Report{}, fmt.Errorf("%s: %w", f.name, err)
		}
		report.Figures = append(report.Figures, throughputAndLatency(f.name, ceilingHandlerName, samples[1], samples[0], f.aim)...)
	}
	return report, nil
}

// ceiling returns the bare handler's root URL, starting it on first use on
// the ceilings' pool.
func (s *session) ceiling() (string, error) {
	if s.ceilingURL != "" {
		return s.ceilingURL, nil
	}
	url, stop, err := listen(ceilingHandler(s.pool, s.cfg.BcryptCost))
	if err != nil {
		return "", fmt.Errorf("start ceiling: %w", err)
	}
	s.closers.add(stop)
	s.ceilingURL = url
	return url, nil
}

// client speaks JSON to one server, as one user.
type client struct {
	http  *http.Client
	base  string
	token string
}

// apiClient is an anonymous client of the server at base.
func (s *session) apiClient(base string) client {
	return client{http: s.http, base: base}
}

// do sends a request and fails unless the answer is 200.
func (c client) do(ctx context.Context, method, path string, body any) error {
	_, err := c.call(ctx, method, path, body)
	return err
}

// call sends a request and returns the body of a 200 answer.
func (c client) call(ctx context.Context, method, path string, body any) ([]byte, error) {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, in)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %.200s", method, path, res.Status, out)
	}
	return out, nil
}

// newAccount signs a user up on the dialect and logs it in.
func (c client) newAccount(ctx context.Context, name string) (client, error) {
	email := fmt.Sprintf("%s-%s@bench.example", name, uuid.NewString()[:8])
	if err := c.do(ctx, http.MethodPost, "/users/signup", map[string]any{"email": email, "password": password}); err != nil {
		return client{}, fmt.Errorf("sign up %s: %w", name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/login/access-token",
		bytes.NewBufferString(url.Values{"username": {email}, "password": {password}}.Encode()))
	if err != nil {
		return client{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.http.Do(req)
	if err != nil {
		return client{}, fmt.Errorf("log %s in: %w", name, err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return client{}, fmt.Errorf("log %s in: %s, token %q: %v", name, res.Status, tok.AccessToken, err)
	}
	c.token = tok.AccessToken
	return c, nil
}

// seedOrganizations creates n organizations for the queries to read, as
// this client's user, and returns their ids.
func (c client) seedOrganizations(ctx context.Context, n int) ([]uuid.UUID, error) {
	ids := make([]uuid.UUID, n)
	for i := range ids {
		out, err := c.call(ctx, http.MethodPost, "/organizations/", map[string]any{
			"name": fmt.Sprintf("Seeded %03d", i), "avatar_image": "https://img.example/seeded.png",
		})
		if err != nil {
			return nil, fmt.Errorf("seed organizations: %w", err)
		}
		var o readmodel.Organization
		if err := json.Unmarshal(out, &o); err != nil {
			return nil, fmt.Errorf("seed organizations: decode: %w", err)
		}
		ids[i] = o.ID
	}
	return ids, nil
}

// seedCeilingOrganizations gives the ceiling the same number of
// organizations, owned by owner.
func (s *session) seedCeilingOrganizations(ctx context.Context, owner uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `INSERT INTO ceiling.organizations
		(id, name, avatar_image_url, rework_available, owner_id, created_at, updated_at)
		SELECT gen_random_uuid(), format('Seeded %s', g), 'https://img.example/seeded.png', 2, $1, now(), now()
		FROM generate_series(1, $2) g
		RETURNING id`, owner, s.cfg.Organizations)
	if err != nil {
		return nil, fmt.Errorf("seed ceiling organizations: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("seed ceiling organizations: %w", err)
	}
	return ids, nil
}
