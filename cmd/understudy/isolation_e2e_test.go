package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/openapi"
)

// seedIsolation creates environment production (custom surface stories)
// and role buyer (pool 2) allowed on leaderboards, testers_only on
// social_feed, hidden elsewhere.
func seedIsolation(t *testing.T, s *testServer) []openapi.Account {
	t.Helper()
	ctx := context.Background()
	c := s.client(t, s.Admin)
	env, err := c.CreateEnvironmentWithResponse(ctx, openapi.EnvironmentCreate{Name: "production", EmailDomains: []string{"qa.example.test"}, CustomSurfaces: &[]string{"stories"}})
	if err != nil || env.JSON201 == nil || !slices.Equal(env.JSON201.CustomSurfaces, []string{"stories"}) {
		t.Fatalf("creating environment: %v %s", err, env.Body)
	}
	policy := openapi.IsolationPolicy{"leaderboards": openapi.Allowed, "social_feed": openapi.TestersOnly}
	role, err := c.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: "buyer", PoolSize: new(2), IsolationPolicy: &policy})
	if err != nil || role.StatusCode() != http.StatusCreated {
		t.Fatalf("creating role: %v %s", err, role.Body)
	}
	list, err := c.ListAccountsWithResponse(ctx, &openapi.ListAccountsParams{Environment: new("production")})
	if err != nil || list.JSON200 == nil || len(list.JSON200.Items) != 2 {
		t.Fatalf("listing accounts: %v %s", err, list.Body)
	}
	return list.JSON200.Items
}

func TestIsolationCheckFollowsTheRule(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	accts := seedIsolation(t, s)
	ctx := context.Background()
	app := s.client(t, s.tokenOf(t, "chirp", access.ScopeApp))
	subjects := []string{accts[0].Id, accts[1].Identity.Email, "real-user-7"}
	type want struct {
		visible bool
		reason  string
	}
	for _, tc := range []struct {
		name, viewer, surface string
		want                  []want
	}{
		{"real viewer, allowed", "real-viewer", "leaderboards", []want{{true, "allowed"}, {true, "allowed"}, {true, "not_synthetic"}}},
		{"real viewer, testers_only", "real-viewer", "social_feed", []want{{false, "testers_only_real_viewer"}, {false, "testers_only_real_viewer"}, {true, "not_synthetic"}}},
		{"real viewer, hidden by default", "real-viewer", "search", []want{{false, "hidden"}, {false, "hidden"}, {true, "not_synthetic"}}},
		{"synthetic viewer, testers_only", accts[1].Identity.Username, "social_feed", []want{{true, "testers_only_synthetic_viewer"}, {true, "self"}, {true, "not_synthetic"}}},
		{"synthetic viewer, hidden", accts[1].Id, "search", []want{{false, "hidden"}, {true, "self"}, {true, "not_synthetic"}}},
		{"synthetic viewer, custom surface", accts[0].Identity.Email, "stories", []want{{true, "self"}, {false, "hidden"}, {true, "not_synthetic"}}},
	} {
		r, err := app.CheckIsolationWithResponse(ctx, openapi.IsolationCheck{Environment: "production", Surface: tc.surface, Viewer: tc.viewer, Subjects: subjects})
		if err != nil || r.JSON200 == nil || len(r.JSON200.Results) != len(subjects) {
			t.Fatalf("%s: %v %d %s", tc.name, err, r.StatusCode(), r.Body)
		}
		for i, res := range r.JSON200.Results {
			if res.Subject != subjects[i] || res.Visible != tc.want[i].visible || res.Reason != tc.want[i].reason {
				t.Errorf("%s: subject %s: got %v %s, want %v %s", tc.name, subjects[i], res.Visible, res.Reason, tc.want[i].visible, tc.want[i].reason)
			}
		}
	}
	// An app ref is an identifier too.
	refs, _ := s.client(t, s.Admin).CheckIsolationWithResponse(ctx, openapi.IsolationCheck{Environment: "production", Surface: "search", Viewer: "real", Subjects: []string{"chirp:nobody"}})
	if refs.JSON200 == nil || !refs.JSON200.Results[0].Visible {
		t.Fatalf("unknown app ref: %s", refs.Body)
	}
	// A reader may check too; an unknown surface is 422 naming it.
	r, _ := s.client(t, s.Reader).CheckIsolationWithResponse(ctx, openapi.IsolationCheck{Environment: "production", Surface: "stories_v2", Viewer: "v", Subjects: subjects})
	if p := problemOf(t, r.StatusCode(), r.Body, http.StatusUnprocessableEntity, "invalid"); !strings.Contains(fieldsOf(p)["surface"], "stories_v2") {
		t.Fatalf("unknown surface: %s", r.Body)
	}
	// Over 10,000 subjects: 413 naming the limit.
	many := make([]string, 10_001)
	for i := range many {
		many[i] = fmt.Sprintf("u%d", i)
	}
	r, _ = app.CheckIsolationWithResponse(ctx, openapi.IsolationCheck{Environment: "production", Surface: "search", Viewer: "v", Subjects: many})
	if p := problemOf(t, r.StatusCode(), r.Body, http.StatusRequestEntityTooLarge, "too_large"); !strings.Contains(p.Detail, "10000") {
		t.Fatalf("too many subjects: %s", r.Body)
	}
	// Exactly 10,000 is fine.
	r, _ = app.CheckIsolationWithResponse(ctx, openapi.IsolationCheck{Environment: "production", Surface: "search", Viewer: "v", Subjects: append(many[:9_999], accts[0].Id)})
	if r.JSON200 == nil || len(r.JSON200.Results) != 10_000 || r.JSON200.Results[9_999].Reason != "hidden" {
		t.Fatalf("10,000 subjects: %d", r.StatusCode())
	}
}

func TestIsolationPolicyNamesOnlyKnownSurfaces(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seedIsolation(t, s)
	ctx := context.Background()
	admin := s.client(t, s.Admin)
	r, _ := admin.UpdateRoleWithResponse(ctx, "production", "buyer", openapi.RoleUpdate{IsolationPolicy: &openapi.IsolationPolicy{"search": openapi.Allowed, "wall": openapi.Hidden}})
	if p := problemOf(t, r.StatusCode(), r.Body, http.StatusUnprocessableEntity, "invalid"); fieldsOf(p)["isolation_policy.wall"] == "" || len(fieldsOf(p)) != 1 {
		t.Fatalf("unknown surface: %s", r.Body)
	}
	c, _ := admin.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: "seller", IsolationPolicy: &openapi.IsolationPolicy{"search": "sometimes"}})
	if p := problemOf(t, c.StatusCode(), c.Body, http.StatusUnprocessableEntity, "invalid"); fieldsOf(p)["isolation_policy.search"] == "" {
		t.Fatalf("unknown visibility: %s", c.Body)
	}
	// A custom surface may be named once declared, and then not dropped.
	e, _ := admin.UpdateEnvironmentWithResponse(ctx, "production", openapi.EnvironmentUpdate{EmailDomains: &[]string{"qa.example.test"}, CustomSurfaces: &[]string{"stories", "wall"}})
	if e.JSON200 == nil || len(e.JSON200.CustomSurfaces) != 2 {
		t.Fatalf("declaring wall: %s", e.Body)
	}
	r, _ = admin.UpdateRoleWithResponse(ctx, "production", "buyer", openapi.RoleUpdate{IsolationPolicy: &openapi.IsolationPolicy{"wall": openapi.Allowed}})
	if r.JSON200 == nil || r.JSON200.IsolationPolicy["wall"] != openapi.Allowed {
		t.Fatalf("policy on wall: %s", r.Body)
	}
	e, _ = admin.UpdateEnvironmentWithResponse(ctx, "production", openapi.EnvironmentUpdate{EmailDomains: &[]string{"qa.example.test"}, CustomSurfaces: &[]string{}})
	problemOf(t, e.StatusCode(), e.Body, http.StatusConflict, "conflict")
	// Custom surfaces: no built-in names, no duplicates, the surface pattern.
	e, _ = admin.UpdateEnvironmentWithResponse(ctx, "production", openapi.EnvironmentUpdate{EmailDomains: &[]string{"qa.example.test"}, CustomSurfaces: &[]string{"wall", "search"}})
	if p := problemOf(t, e.StatusCode(), e.Body, http.StatusUnprocessableEntity, "invalid"); fieldsOf(p)["custom_surfaces[1]"] == "" {
		t.Fatalf("built-in surface: %s", e.Body)
	}
	e, _ = admin.UpdateEnvironmentWithResponse(ctx, "production", openapi.EnvironmentUpdate{EmailDomains: &[]string{"qa.example.test"}, CustomSurfaces: &[]string{"wall", "Bad-Name"}})
	problemOf(t, e.StatusCode(), e.Body, http.StatusUnprocessableEntity, "invalid")
}

// isolationList reads the list through the generated client, returning its
// body, version (ETag) and signature header.
func isolationList(t *testing.T, c *openapi.ClientWithResponses, etag string) (*openapi.GetIsolationListResponse, openapi.IsolationList) {
	t.Helper()
	p := &openapi.GetIsolationListParams{}
	if etag != "" {
		p.IfNoneMatch = &etag
	}
	r, err := c.GetIsolationListWithResponse(context.Background(), "production", p)
	if err != nil {
		t.Fatal(err)
	}
	var l openapi.IsolationList
	if r.StatusCode() == http.StatusOK {
		if err := json.Unmarshal(r.Body, &l); err != nil {
			t.Fatal(err)
		}
	}
	return r, l
}

// verify checks body's signature header against the trusted keys.
func verify(t *testing.T, keys []openapi.IsolationKey, header string, body []byte) (string, bool) {
	t.Helper()
	kid, sig, ok := strings.Cut(header, ", ed25519=")
	kid, found := strings.CutPrefix(kid, "keyid=")
	raw, err := base64.StdEncoding.DecodeString(sig)
	if !ok || !found || err != nil {
		t.Fatalf("signature header %q", header)
	}
	for _, k := range keys {
		pub, err := base64.StdEncoding.DecodeString(k.PublicKey)
		if k.KeyId == kid && err == nil && len(pub) == ed25519.PublicKeySize {
			return kid, ed25519.Verify(pub, body, raw)
		}
	}
	return kid, false
}

func TestIsolationListIsSignedAndVersioned(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	accts := seedIsolation(t, s)
	ctx := context.Background()
	app := s.client(t, s.tokenOf(t, "chirp", access.ScopeApp))
	keys, err := app.ListIsolationKeysWithResponse(ctx)
	if err != nil || keys.JSON200 == nil || len(keys.JSON200.Keys) != 1 || keys.JSON200.Keys[0].Algorithm != "ed25519" {
		t.Fatalf("keys: %v %s", err, keys.Body)
	}
	first := keys.JSON200.Keys

	r, l := isolationList(t, app, "")
	sigHeader := r.HTTPResponse.Header.Get("X-Understudy-Signature")
	if kid, ok := verify(t, first, sigHeader, r.Body); !ok || kid != first[0].KeyId {
		t.Fatalf("the list does not verify: %s %s", sigHeader, r.Body)
	}
	tampered := bytes.Replace(r.Body, []byte(`"allowed"`), []byte(`"hidden"`), 1)
	if _, ok := verify(t, first, sigHeader, tampered); ok || bytes.Equal(tampered, r.Body) {
		t.Fatal("a tampered list verifies")
	}
	etag := r.HTTPResponse.Header.Get("ETag")
	if l.Format != 1 || etag != `"`+l.Version+`"` || len(l.Identities) != 2 || len(l.Surfaces) != 9 || l.Surfaces[8] != "stories" ||
		!slices.Equal(l.ControlledDomains, []string{"qa.example.test"}) {
		t.Fatalf("list = %s (ETag %s)", r.Body, etag)
	}
	id := l.Identities[0]
	if id.Role != "buyer" || !slices.Contains(id.Ids, accts[0].Id) && !slices.Contains(id.Ids, accts[1].Id) || len(id.Policy) != 9 ||
		id.Policy["leaderboards"] != openapi.Allowed || id.Policy["social_feed"] != openapi.TestersOnly || id.Policy["stories"] != openapi.Hidden {
		t.Fatalf("identity = %+v", id)
	}
	// If-None-Match with the ETag: 304.
	if r, _ := isolationList(t, app, etag); r.StatusCode() != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.StatusCode())
	}
	// A policy change, then a new account, each change the version.
	admin := s.client(t, s.Admin)
	if u, _ := admin.UpdateRoleWithResponse(ctx, "production", "buyer", openapi.RoleUpdate{IsolationPolicy: &openapi.IsolationPolicy{"leaderboards": openapi.Hidden}}); u.JSON200 == nil {
		t.Fatalf("policy update: %s", u.Body)
	}
	r, l2 := isolationList(t, app, etag)
	if r.StatusCode() != http.StatusOK || l2.Version == l.Version || l2.Identities[0].Policy["leaderboards"] != openapi.Hidden {
		t.Fatalf("after a policy update: %d %s", r.StatusCode(), r.Body)
	}
	if u, _ := admin.UpdateRoleWithResponse(ctx, "production", "buyer", openapi.RoleUpdate{PoolSize: new(3)}); u.JSON200 == nil {
		t.Fatalf("pool update: %s", u.Body)
	}
	r, l3 := isolationList(t, app, `"`+l2.Version+`"`)
	if r.StatusCode() != http.StatusOK || l3.Version == l2.Version || len(l3.Identities) != 3 {
		t.Fatalf("after a new account: %d %s", r.StatusCode(), r.Body)
	}
	oldBody, oldSig := r.Body, r.HTTPResponse.Header.Get("X-Understudy-Signature")

	// Rotation: the new key signs, the old one stays listed until retired.
	if rr, _ := app.RotateIsolationKeyWithResponse(ctx); rr.StatusCode() != http.StatusForbidden {
		t.Fatalf("app rotating: %d", rr.StatusCode())
	}
	rot, _ := admin.RotateIsolationKeyWithResponse(ctx)
	if rot.JSON201 == nil || rot.JSON201.KeyId == first[0].KeyId {
		t.Fatalf("rotate: %s", rot.Body)
	}
	keys, _ = app.ListIsolationKeysWithResponse(ctx)
	if keys.JSON200 == nil || len(keys.JSON200.Keys) != 2 || keys.JSON200.Keys[0].KeyId != rot.JSON201.KeyId || keys.JSON200.Keys[1].KeyId != first[0].KeyId {
		t.Fatalf("keys after rotation: %s", keys.Body)
	}
	if kid, ok := verify(t, keys.JSON200.Keys, oldSig, oldBody); !ok || kid != first[0].KeyId {
		t.Fatal("a list signed before the rotation no longer verifies")
	}
	r, _ = isolationList(t, app, "")
	if kid, ok := verify(t, keys.JSON200.Keys, r.HTTPResponse.Header.Get("X-Understudy-Signature"), r.Body); !ok || kid != rot.JSON201.KeyId {
		t.Fatalf("the new list is not signed by the new key: %s", kid)
	}
	// Retiring: never the current key; an old one leaves the list.
	d, _ := admin.RetireIsolationKeyWithResponse(ctx, rot.JSON201.KeyId)
	problemOf(t, d.StatusCode(), d.Body, http.StatusConflict, "conflict")
	if d, _ := admin.RetireIsolationKeyWithResponse(ctx, first[0].KeyId); d.StatusCode() != http.StatusNoContent {
		t.Fatalf("retire: %d %s", d.StatusCode(), d.Body)
	}
	d, _ = admin.RetireIsolationKeyWithResponse(ctx, first[0].KeyId)
	problemOf(t, d.StatusCode(), d.Body, http.StatusNotFound, "not_found")
	keys, _ = app.ListIsolationKeysWithResponse(ctx)
	if keys.JSON200 == nil || len(keys.JSON200.Keys) != 1 || keys.JSON200.Keys[0].KeyId != rot.JSON201.KeyId {
		t.Fatalf("keys after retiring: %s", keys.Body)
	}
	// Both are audited.
	ev, _ := admin.ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{})
	var actions []string
	for _, e := range ev.JSON200.Items {
		actions = append(actions, e.Action+":"+e.TargetId)
	}
	if !slices.Contains(actions, "isolation_key.rotate:"+rot.JSON201.KeyId) || !slices.Contains(actions, "isolation_key.retire:"+first[0].KeyId) {
		t.Fatalf("audit: %v", actions)
	}
}

func TestAppScopeCallsOnlyTheIsolationAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seedIsolation(t, s)
	ctx := context.Background()
	app := s.client(t, s.tokenOf(t, "chirp", access.ScopeApp))
	if r, _ := app.ListAccountsWithResponse(ctx, nil); r.StatusCode() != http.StatusForbidden {
		t.Fatalf("app listing accounts: %d", r.StatusCode())
	}
	if r, _ := app.GetExclusionsWithResponse(ctx, "production", &openapi.GetExclusionsParams{}); r.StatusCode() != http.StatusForbidden {
		t.Fatalf("app reading exclusions: %d", r.StatusCode())
	}
	if r, _ := app.ListEnvironmentsWithResponse(ctx); r.StatusCode() != http.StatusForbidden {
		t.Fatalf("app listing environments: %d", r.StatusCode())
	}
	// The analytics scope cannot use the isolation API, and a reader can.
	analytics := s.client(t, s.tokenOf(t, "pipeline", access.ScopeAnalytics))
	if r, _ := analytics.ListIsolationKeysWithResponse(ctx); r.StatusCode() != http.StatusForbidden {
		t.Fatalf("analytics listing keys: %d", r.StatusCode())
	}
	if r, _ := s.client(t, s.Reader).GetIsolationListWithResponse(ctx, "production", &openapi.GetIsolationListParams{}); r.StatusCode() != http.StatusOK {
		t.Fatalf("reader reading the list: %d", r.StatusCode())
	}
	// An app token can be made through the API.
	tok, _ := s.client(t, s.Admin).CreateTokenWithResponse(ctx, openapi.TokenCreate{Name: "chirp-prod", Scope: openapi.ScopeApp})
	if tok.StatusCode() != http.StatusCreated {
		t.Fatalf("creating an app token: %s", tok.Body)
	}
}

func TestCLIIsolation(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	accts := seedIsolation(t, s)
	app := s.tokenOf(t, "chirp", access.ScopeApp)
	res := mustOK(t, s.cli(t, app, "isolation", "check", "--environment", "production", "--surface", "social_feed", "--viewer", "real-viewer", accts[0].Id, "real-user"))
	if !strings.Contains(res.Stdout, accts[0].Id) || !strings.Contains(res.Stdout, "testers_only_real_viewer") || !strings.Contains(res.Stdout, "not_synthetic") {
		t.Fatalf("isolation check: %q", res.Stdout)
	}
	mustFail(t, s.cli(t, app, "isolation", "check", "--environment", "production", "--surface", "wall", "--viewer", "v", "x"), exitInvalid, "surface")

	res = mustOK(t, s.cli(t, app, "isolation", "list", "--environment", "production"))
	if !strings.Contains(res.Stdout, "LEADERBOARDS") || !strings.Contains(res.Stdout, "STORIES") || !strings.Contains(res.Stdout, accts[1].Identity.Email) ||
		!strings.Contains(res.Stdout, "allowed") || strings.Count(res.Stdout, "buyer") != 2 {
		t.Fatalf("isolation list: %q", res.Stdout)
	}
	res = mustOK(t, s.cli(t, app, "isolation", "list", "--environment", "production", "-o", "json"))
	var l openapi.IsolationList
	if err := json.Unmarshal([]byte(res.Stdout), &l); err != nil || len(l.Identities) != 2 {
		t.Fatalf("isolation list -o json: %v %q", err, res.Stdout)
	}

	res = mustOK(t, s.cli(t, app, "isolation", "keys", "-o", "json"))
	var keys openapi.IsolationKeys
	if err := json.Unmarshal([]byte(res.Stdout), &keys); err != nil || len(keys.Keys) != 1 {
		t.Fatalf("isolation keys: %v %q", err, res.Stdout)
	}
	mustFail(t, s.cli(t, app, "isolation", "keys", "rotate"), exitAuth, "scope")
	res = mustOK(t, s.cli(t, s.Admin, "isolation", "keys", "rotate"))
	if strings.Contains(res.Stdout, keys.Keys[0].KeyId) || !strings.Contains(res.Stdout, "ed25519") {
		t.Fatalf("isolation keys rotate: %q", res.Stdout)
	}
	mustOK(t, s.cli(t, s.Admin, "isolation", "keys", "retire", keys.Keys[0].KeyId))
	res = mustOK(t, s.cli(t, app, "isolation", "keys"))
	if strings.Contains(res.Stdout, keys.Keys[0].KeyId) || strings.Count(res.Stdout, "ed25519") != 1 {
		t.Fatalf("isolation keys after retiring: %q", res.Stdout)
	}
}

func TestCLIIsolationSurfaces(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	res := mustOK(t, s.cli(t, s.Admin, "environments", "create", "production", "--email-domain", "qa.example.test", "--surface", "stories,wall"))
	if !strings.Contains(res.Stdout, "stories,wall") {
		t.Fatalf("create: %q", res.Stdout)
	}
	mustFail(t, s.cli(t, s.Admin, "roles", "create", "production", "buyer", "--isolation", "clips=allowed"), exitInvalid, "isolation_policy.clips")
	mustOK(t, s.cli(t, s.Admin, "roles", "create", "production", "buyer", "--isolation", "wall=allowed"))
	mustFail(t, s.cli(t, s.Admin, "environments", "update", "production", "--email-domain", "qa.example.test", "--surface", ""), exitConflict, "wall")
	res = mustOK(t, s.cli(t, s.Admin, "environments", "update", "production", "--email-domain", "qa.example.test", "--surface", "wall"))
	if strings.Contains(res.Stdout, "stories") || !strings.Contains(res.Stdout, "wall") {
		t.Fatalf("update: %q", res.Stdout)
	}
	mustFail(t, s.cli(t, s.Admin, "environments", "update", "production", "--email-domain", "qa.example.test", "--surface", "wall,search"), exitInvalid, "custom_surfaces[1]")
}
