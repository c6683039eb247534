package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/openapi"
)

// specRoutes are the operations of plans and workspaces, each with a body
// the contract accepts, so that a refusal is about the token alone.
var specRoutes = []struct{ op, method, path, body string }{
	{"createPlan", "POST", "/v1/plans", `{"workspace":"default","mode":"normal","desired":{}}`},
	{"getPlan", "GET", "/v1/plans/7c9e6679-7425-40de-944b-e07fc1f90ae7", ""},
	{"applyPlan", "POST", "/v1/plans/7c9e6679-7425-40de-944b-e07fc1f90ae7/apply", `{"wait_leases":"1m"}`},
	{"listWorkspaces", "GET", "/v1/workspaces", ""},
	{"getWorkspace", "GET", "/v1/workspaces/default", ""},
	{"lockWorkspace", "POST", "/v1/workspaces/default/lock", `{"reason":"release freeze"}`},
	{"unlockWorkspace", "DELETE", "/v1/workspaces/default/lock", ""},
	{"forgetObjects", "POST", "/v1/workspaces/default/forget", `{"addresses":["understudy_role.buyer"]}`},
}

// Every operation of the contract tagged plans or workspaces is in
// specRoutes, so the scope test below sees each of them.
func TestSpecRoutesListEveryPlanAndWorkspaceOperation(t *testing.T) {
	t.Parallel()
	doc, err := openapi.Spec()
	if err != nil {
		t.Fatal(err)
	}
	var inContract, listed []string
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(path).Operations() {
			if slices.Contains(op.Tags, "plans") || slices.Contains(op.Tags, "workspaces") {
				inContract = append(inContract, op.OperationID)
			}
		}
	}
	for _, r := range specRoutes {
		listed = append(listed, r.op)
	}
	slices.Sort(inContract)
	slices.Sort(listed)
	if !slices.Equal(inContract, listed) {
		t.Fatalf("operations tagged plans or workspaces: %v; specRoutes: %v", inContract, listed)
	}
}

// A spec changes everything the server holds: only an admin token may
// plan, apply, read plans (they name every object and account) or touch a
// workspace. The gate refuses every other caller before any handler runs.
func TestSpecRoutesNeedAnAdminToken(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	tokens := []struct{ name, token string }{
		{"reader", s.Reader}, {"runner", s.Runner},
		{"analytics", s.tokenOf(t, "pipeline", access.ScopeAnalytics)}, {"app", s.tokenOf(t, "chirp", access.ScopeApp)},
	}
	for _, r := range specRoutes {
		t.Run(r.op, func(t *testing.T) {
			t.Parallel()
			resp, b := s.raw(t, "", r.method, r.path, contentTypeOf(r.body), strings.NewReader(r.body))
			problemOf(t, resp.StatusCode, b, http.StatusUnauthorized, "unauthorized")
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			for _, tok := range tokens {
				resp, b := s.raw(t, tok.token, r.method, r.path, contentTypeOf(r.body), strings.NewReader(r.body))
				p := problemOf(t, resp.StatusCode, b, http.StatusForbidden, "forbidden")
				if !strings.Contains(p.Detail, "needs scope admin") {
					t.Errorf("%s token: the refusal does not name the scope needed: %s", tok.name, b)
				}
			}
		})
	}
}

func contentTypeOf(body string) string {
	if body == "" {
		return ""
	}
	return "application/json"
}

// Bad input to the spec routes is refused with a problem naming the field,
// before the spec service is asked anything.
func TestSpecRoutesRefuseBadInput(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	apply := "/v1/plans/7c9e6679-7425-40de-944b-e07fc1f90ae7/apply"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"workspace not a slug", "POST", "/v1/plans", `{"workspace":"Not A Slug","desired":{}}`, 422, "invalid", "workspace"},
		{"workspace too long", "POST", "/v1/plans", `{"workspace":"w` + strings.Repeat("x", 63) + `","desired":{}}`, 422, "invalid", "workspace"},
		{"unknown mode", "POST", "/v1/plans", `{"mode":"sideways","desired":{}}`, 422, "invalid", "mode"},
		{"no desired state", "POST", "/v1/plans", `{"workspace":"default"}`, 422, "invalid", "desired"},
		{"unknown attribute", "POST", "/v1/plans", `{"desired":{"roles":[{"address":"role.buyer","colour":"red"}]}}`, 400, "malformed", "desired.roles[0].colour"},
		{"wrong type", "POST", "/v1/plans", `{"desired":{"roles":[{"address":"role.buyer","pool_size":"two"}]}}`, 400, "malformed", "desired.roles[0].pool_size"},
		{"null attribute", "POST", "/v1/plans", `{"desired":{"roles":[{"address":"role.buyer","attributes":null}]}}`, 400, "malformed", "desired.roles[0].attributes"},
		{"secret not a string", "POST", "/v1/plans", `{"desired":{"apps":[{"address":"app.chirp","secrets":{"token":7}}]}}`, 400, "malformed", "desired.apps[0].secrets.token"},
		{"malformed json", "POST", "/v1/plans", `{"desired":`, 400, "malformed", "body"},
		{"wait not a duration", "POST", apply, `{"wait_leases":"soon"}`, 422, "invalid", "wait_leases"},
		{"wait over an hour", "POST", apply, `{"wait_leases":"61m"}`, 422, "invalid", "wait_leases"},
		{"wait negative", "POST", apply, `{"wait_leases":"-5s"}`, 422, "invalid", "wait_leases"},
		{"wait a number", "POST", apply, `{"wait_leases":300}`, 400, "malformed", "wait_leases"},
		{"lock without a reason", "POST", "/v1/workspaces/default/lock", `{}`, 422, "invalid", "reason"},
		{"lock with a blank reason", "POST", "/v1/workspaces/default/lock", `{"reason":"   "}`, 422, "invalid", "reason"},
		{"lock with a long reason", "POST", "/v1/workspaces/default/lock", `{"reason":"` + strings.Repeat("x", 501) + `"}`, 422, "invalid", "reason"},
		{"workspace name in the path", "GET", "/v1/workspaces/Not_A_Slug", "", 400, "malformed", "workspace"},
		{"workspace name to lock", "POST", "/v1/workspaces/-default/lock", `{"reason":"x"}`, 400, "malformed", "workspace"},
		{"workspace name to unlock", "DELETE", "/v1/workspaces/9lives/lock", "", 400, "malformed", "workspace"},
		{"forget nothing", "POST", "/v1/workspaces/default/forget", `{"addresses":[]}`, 422, "invalid", "addresses"},
		{"forget without addresses", "POST", "/v1/workspaces/default/forget", `{}`, 422, "invalid", "addresses"},
		{"forget an empty address", "POST", "/v1/workspaces/default/forget", `{"addresses":[""]}`, 422, "invalid", "addresses[0]"},
		{"forget an address not a string", "POST", "/v1/workspaces/default/forget", `{"addresses":[7]}`, 400, "malformed", "addresses[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, b := s.raw(t, s.Admin, tc.method, tc.path, contentTypeOf(tc.body), strings.NewReader(tc.body))
			p := problemOf(t, resp.StatusCode, b, tc.status, tc.code)
			if _, ok := fieldsOf(p)[tc.field]; !ok {
				t.Fatalf("the problem does not name %s: %s", tc.field, b)
			}
		})
	}
}
