package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/spec"
)

// bodyRoutes are the operations that take a JSON body, with the generated
// type their handler decodes it into.
var bodyRoutes = []struct {
	method, path string
	target       func() any
}{
	{"POST", "/v1/environments", func() any { return new(EnvironmentCreate) }},
	{"PATCH", "/v1/environments/production", func() any { return new(EnvironmentUpdate) }},
	{"POST", "/v1/environments/production/roles", func() any { return new(RoleCreate) }},
	{"PATCH", "/v1/environments/production/roles/buyer", func() any { return new(RoleUpdate) }},
	{"POST", "/v1/tokens", func() any { return new(TokenCreate) }},
	// The plan body is decoded into the spec type itself, not a generated one.
	{"POST", "/v1/plans", func() any { return new(spec.PlanRequest) }},
	{"POST", "/v1/plans/7c9e6679-7425-40de-944b-e07fc1f90ae7/apply", func() any { return new(ApplyRequest) }},
	{"POST", "/v1/workspaces/default/lock", func() any { return new(LockRequest) }},
}

// FuzzRequestBody checks the request decoders: for any body, on any
// operation that takes one, validation never panics; what it refuses is an
// *understudy.Error that names at least one field; what it accepts decodes
// into the type the handler uses (none where the body is optional), and no
// field of it is unknown.
func FuzzRequestBody(f *testing.F) {
	f.Add(0, []byte(`{"name":"production","email_domains":["qa.example.test"]}`))
	f.Add(2, []byte(`{"name":"buyer","pool_size":2,"attributes":{"plan":"pro"},"isolation_policy":{"leaderboards":"hidden"}}`))
	f.Add(3, []byte(`{"pool_size":0}`))
	f.Add(4, []byte(`{"name":"ci","scope":"runner","extra":1}`))
	f.Add(1, []byte(`{"email_domains":`))
	f.Add(5, []byte(`{"workspace":"default","mode":"normal","desired":{"environments":[{"address":"environment.production","name":"production","email_domains":["qa.example.test"],"lifecycle":{"prevent_destroy":true}}],"apps":[{"address":"app.chirp","settings":{"url":"https://chirp.example.test"},"secrets":{"k":"v"}}]}}`))
	f.Add(6, []byte(`{"wait_leases":"5m"}`))
	f.Add(7, []byte(`{"reason":"release freeze"}`))
	g, err := newGate()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which int, body []byte) {
		r := bodyRoutes[uint(which)%uint(len(bodyRoutes))]
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		route, params, ok := g.find(req)
		if !ok {
			t.Fatalf("no route for %s %s", r.method, r.path)
		}
		err = validateRequest(req, route, params)
		if err != nil {
			ue, ok := errors.AsType[*understudy.Error](err)
			if !ok || (ue.Code != understudy.EMALFORMED && ue.Code != understudy.EINVALID) || len(ue.Fields) == 0 {
				t.Fatalf("refusal %v is not a field-naming 400/422", err)
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(r.target())
		if errors.Is(err, io.EOF) && !route.Operation.RequestBody.Value.Required {
			return // no body where none is required: the handler decodes it with decodeOptional
		}
		if err != nil {
			t.Fatalf("validation accepted %q but decoding refuses it: %v", body, err)
		}
	})
}

func TestRequestErrorsNameFieldsAndStatus(t *testing.T) {
	t.Parallel()
	g, err := newGate()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path, body string
		code       string
		fields     []string
	}{
		{"/v1/environments/production/roles", `{"name":"b","pool_size":0,"description":"` + strings.Repeat("x", 1001) + `"}`, understudy.EINVALID, []string{"description", "pool_size"}},
		{"/v1/environments/production/roles", `{"name":"b","colour":"red","pool_size":"x"}`, understudy.EMALFORMED, []string{"colour", "pool_size"}},
		{"/v1/environments/production/roles", `{"name":"b","attributes":{"plan":3}}`, understudy.EMALFORMED, []string{"attributes.plan"}},
		{"/v1/environments", `{"name":"x"`, understudy.EMALFORMED, []string{"body"}},
		{"/v1/environments", `{"email_domains":[]}`, understudy.EINVALID, []string{"email_domains", "name"}},
		{"/v1/plans", `{"workspace":"Not A Slug","mode":"sideways","desired":{}}`, understudy.EINVALID, []string{"workspace", "mode"}},
		{"/v1/plans", `{"workspace":"default"}`, understudy.EINVALID, []string{"desired"}},
		{"/v1/plans", `{"desired":{"roles":[{"address":"role.buyer","pool_size":"two","colour":"red"}]}}`, understudy.EMALFORMED,
			[]string{"desired.roles[0].pool_size", "desired.roles[0].colour"}},
		{"/v1/plans", `{"desired":{"apps":[{"address":"app.chirp","secrets":{"token":7}}],"imports":[{"to":"app.chirp"}]}}`, understudy.EMALFORMED,
			[]string{"desired.apps[0].secrets.token"}},
		{"/v1/plans/p1/apply", `{"wait_leases":300}`, understudy.EMALFORMED, []string{"wait_leases"}},
		{"/v1/plans/p1/apply", `{"wait":"5m"}`, understudy.EMALFORMED, []string{"wait"}},
		{"/v1/workspaces/default/lock", `{}`, understudy.EINVALID, []string{"reason"}},
		{"/v1/workspaces/default/lock", `{"reason":""}`, understudy.EINVALID, []string{"reason"}},
		{"/v1/workspaces/default/lock", `{"reason":"` + strings.Repeat("x", 501) + `"}`, understudy.EINVALID, []string{"reason"}},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		route, params, ok := g.find(req)
		if !ok {
			t.Fatalf("no route for %s", tc.path)
		}
		ue, ok := errors.AsType[*understudy.Error](validateRequest(req, route, params))
		if !ok || ue.Code != tc.code {
			t.Fatalf("%s: got %v, want code %s", tc.body, ue, tc.code)
		}
		got := map[string]bool{}
		for _, f := range ue.Fields {
			got[f.Field] = true
		}
		for _, want := range tc.fields {
			if !got[want] {
				t.Errorf("%s: field %s not named in %+v", tc.body, want, ue.Fields)
			}
		}
	}
}

func TestGateFindsOperationsAndParameters(t *testing.T) {
	t.Parallel()
	g, err := newGate()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path, want string
		params             map[string]string
	}{
		{"GET", "/v1/environments", "/v1/environments", nil},
		{"PATCH", "/v1/environments/prod/roles/buyer", "/v1/environments/{environment}/roles/{role}", map[string]string{"environment": "prod", "role": "buyer"}},
		{"POST", "/v1/accounts/abc/rotate-password", "/v1/accounts/{account_id}/rotate-password", map[string]string{"account_id": "abc"}},
		{"GET", "/v1/accounts/abc/nothing", "", nil},
		{"DELETE", "/v1/accounts", "", nil},
		{"GET", "/v1/environments//roles", "", nil},
	}
	for _, tc := range cases {
		route, params, ok := g.find(httptest.NewRequest(tc.method, tc.path, nil))
		if tc.want == "" {
			if ok {
				t.Errorf("%s %s matched %s", tc.method, tc.path, route.Path)
			}
			continue
		}
		if !ok || route.Path != tc.want || len(params) != len(tc.params) {
			t.Fatalf("%s %s = %v %v %v", tc.method, tc.path, ok, route, params)
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("%s: param %s = %q, want %q", tc.path, k, params[k], v)
			}
		}
	}
}

// TestPathOnlyRoutesValidateAnything holds the gate's skip of kin-openapi's
// validation for path-only routes to what that validation would answer:
// nothing to refuse, whatever the segments and the query string hold.
func TestPathOnlyRoutesValidateAnything(t *testing.T) {
	t.Parallel()
	g, err := newGate()
	if err != nil {
		t.Fatal(err)
	}
	values := []string{"x", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "%2F", "a%20b", "Zo%C3%AB", "%FF", "%00", strings.Repeat("z", 600), "-1", "null", "%7B%7D"}
	skipped := map[string]bool{}
	for _, r := range g.routes {
		if !r.pathOnly {
			continue
		}
		skipped[r.route.Method+" "+r.route.Path] = true
		for i := range values {
			segs := make([]string, len(r.segments))
			for j, seg := range r.segments {
				segs[j] = seg
				if strings.HasPrefix(seg, "{") {
					segs[j] = values[(i+j)%len(values)]
				}
			}
			target := "/" + strings.Join(segs, "/")
			if i%2 == 1 {
				target += "?limit=-3&x=%FF"
			}
			req := httptest.NewRequest(r.route.Method, target, nil)
			route, params, ok := g.find(req)
			if !ok || route != r.route {
				continue // a literal segment of another route matched first
			}
			if err := validateRequest(req, route, params); err != nil {
				t.Errorf("%s %s: validation refused it (%v); the gate skips it as path-only", r.route.Method, target, err)
			}
		}
	}
	for _, want := range []string{"GET /v1/accounts/{account_id}", "GET /v1/environments/{environment}"} {
		if !skipped[want] {
			t.Errorf("%s is not path-only: the gate validates it with kin-openapi", want)
		}
	}
	for _, not := range []string{"GET /v1/accounts", "POST /v1/environments", "GET /v1/environments/{environment}/isolation/list"} {
		if skipped[not] {
			t.Errorf("%s is path-only, but it takes a query, a body or a header", not)
		}
	}
}
