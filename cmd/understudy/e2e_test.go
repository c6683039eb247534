package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/openapi"
)

// problemOf decodes a problem document and checks its status and code.
func problemOf(t *testing.T, status int, body []byte, wantStatus int, wantCode string) openapi.Problem {
	t.Helper()
	var p openapi.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("status %d, body %q is not a problem document", status, body)
	}
	if status != wantStatus || p.Status != wantStatus || p.Code == nil || string(*p.Code) != wantCode {
		t.Fatalf("got %d %+v, want %d %s; body %s", status, p, wantStatus, wantCode, body)
	}
	if p.RequestId == nil || *p.RequestId == "" {
		t.Fatalf("problem has no request id: %s", body)
	}
	return p
}

func fieldsOf(p openapi.Problem) map[string]string {
	out := map[string]string{}
	if p.Errors != nil {
		for _, f := range *p.Errors {
			out[f.Field] = f.Detail
		}
	}
	return out
}

// seed creates environment production and role buyer with pool 2.
func seed(t *testing.T, s *testServer) []openapi.Account {
	t.Helper()
	ctx := context.Background()
	c := s.client(t, s.Admin)
	env, err := c.CreateEnvironmentWithResponse(ctx, openapi.EnvironmentCreate{Name: "production", EmailDomains: []string{"qa.example.test"}})
	if err != nil || env.StatusCode() != http.StatusCreated {
		t.Fatalf("creating environment: %v %s", err, env.Body)
	}
	role, err := c.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: "buyer", PoolSize: new(2)})
	if err != nil || role.StatusCode() != http.StatusCreated {
		t.Fatalf("creating role: %v %s", err, role.Body)
	}
	list, err := c.ListAccountsWithResponse(ctx, &openapi.ListAccountsParams{Environment: new("production")})
	if err != nil || list.JSON200 == nil || len(list.JSON200.Items) != 2 {
		t.Fatalf("listing accounts: %v %s", err, list.Body)
	}
	return list.JSON200.Items
}

func TestEndToEndThroughTheGeneratedClient(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	accts := seed(t, s)
	ctx := context.Background()
	admin, runner, reader := s.client(t, s.Admin), s.client(t, s.Runner), s.client(t, s.Reader)

	got, err := reader.GetAccountWithResponse(ctx, accts[0].Id)
	if err != nil || got.JSON200 == nil || got.JSON200.Identity.Email != accts[0].Identity.Email {
		t.Fatalf("get account: %v %s", err, got.Body)
	}
	if !strings.HasSuffix(got.JSON200.Identity.Email, "@qa.example.test") || got.JSON200.Status != "ready" {
		t.Fatalf("account = %+v", got.JSON200)
	}
	cr, err := admin.GetCredentialsWithResponse(ctx, accts[0].Id)
	if err != nil || cr.JSON200 == nil || len(cr.JSON200.Password) < 20 || cr.HTTPResponse.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("credentials as admin: %v %d", err, cr.StatusCode())
	}
	denied, _ := reader.GetCredentialsWithResponse(ctx, accts[0].Id)
	problemOf(t, denied.StatusCode(), denied.Body, http.StatusForbidden, "forbidden")
	unleased, _ := runner.GetCredentialsWithResponse(ctx, accts[0].Id) // a runner reads only what it leases
	if unleased.StatusCode() != http.StatusForbidden {
		t.Fatalf("credentials as a runner without a lease: %d, want 403", unleased.StatusCode())
	}

	rot, err := admin.RotatePasswordWithResponse(ctx, accts[0].Id)
	if err != nil || rot.JSON200 == nil || rot.JSON200.Password == cr.JSON200.Password {
		t.Fatalf("rotate: %v %s", err, rot.Body)
	}
	again, _ := admin.GetCredentialsWithResponse(ctx, accts[0].Id)
	if again.JSON200.Password != rot.JSON200.Password {
		t.Fatal("credentials after rotation are not the rotated password")
	}

	upd, err := admin.UpdateRoleWithResponse(ctx, "production", "buyer", openapi.RoleUpdate{PoolSize: new(3), Description: new("buys things")})
	if err != nil || upd.JSON200 == nil || upd.JSON200.PoolSize != 3 || upd.JSON200.Description != "buys things" {
		t.Fatalf("update role: %v %s", err, upd.Body)
	}
	page, _ := reader.ListAccountsWithResponse(ctx, &openapi.ListAccountsParams{Environment: new("production"), Limit: new(2)})
	if len(page.JSON200.Items) != 2 || page.JSON200.NextOffset == nil || *page.JSON200.NextOffset != 2 {
		t.Fatalf("first page = %s", page.Body)
	}
	ret, err := admin.RetireAccountWithResponse(ctx, accts[1].Id)
	if err != nil || ret.JSON200 == nil || ret.JSON200.Status != "retired" {
		t.Fatalf("retire: %v %s", err, ret.Body)
	}
	audit, _ := reader.ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("account.retire")})
	if len(audit.JSON200.Items) != 1 || audit.JSON200.Items[0].Actor != "test-admin" || audit.JSON200.Items[0].TargetId != accts[1].Id {
		t.Fatalf("audit = %s", audit.Body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml", "/metrics"} {
		resp, body := s.raw(t, "", http.MethodGet, path, "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s = %d %s", path, resp.StatusCode, body)
		}
	}
}

func TestBadInputIsRefusedWithAProblemNamingIt(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	cases := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"unknown field", "POST", "/v1/environments", `{"name":"staging","email_domains":["qa.example.test"],"colour":"red"}`, 400, "malformed", "colour"},
		{"malformed json", "POST", "/v1/environments", `{"name":`, 400, "malformed", "body"},
		{"wrong type", "POST", "/v1/environments/production/roles", `{"name":"seller","pool_size":"two"}`, 400, "malformed", "pool_size"},
		{"domain not allowed", "POST", "/v1/environments", `{"name":"staging","email_domains":["qa.example.test","gmail.com"]}`, 422, "invalid", "email_domains[1]"},
		{"pool 0", "POST", "/v1/environments/production/roles", `{"name":"seller","pool_size":0}`, 422, "invalid", "pool_size"},
		{"pool 101", "PATCH", "/v1/environments/production/roles/buyer", `{"pool_size":101}`, 422, "invalid", "pool_size"},
		{"bad visibility", "POST", "/v1/environments/production/roles", `{"name":"seller","isolation_policy":{"leaderboards":"invisible"}}`, 422, "invalid", "isolation_policy.leaderboards"},
		{"duplicate environment", "POST", "/v1/environments", `{"name":"production","email_domains":["qa.example.test"]}`, 409, "conflict", ""},
		{"duplicate role", "POST", "/v1/environments/production/roles", `{"name":"buyer"}`, 409, "conflict", ""},
		{"unknown environment", "GET", "/v1/environments/nowhere", "", 404, "not_found", ""},
		{"unknown role", "GET", "/v1/environments/production/roles/ghost", "", 404, "not_found", ""},
		{"role of unknown environment", "POST", "/v1/environments/nowhere/roles", `{"name":"buyer"}`, 404, "not_found", ""},
		{"unknown account", "GET", "/v1/accounts/7c9e6679-7425-40de-944b-e07fc1f90ae7", "", 404, "not_found", ""},
		{"malformed account id", "GET", "/v1/accounts/nope", "", 404, "not_found", ""},
		{"unknown route", "GET", "/v1/nothing-here", "", 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			var resp *http.Response
			var b []byte
			if body != nil {
				resp, b = s.raw(t, s.Admin, tc.method, tc.path, "application/json", body)
			} else {
				resp, b = s.raw(t, s.Admin, tc.method, tc.path, "", nil)
			}
			if ct := resp.Header.Get("Content-Type"); ct != openapi.ProblemContentType {
				t.Errorf("Content-Type = %q", ct)
			}
			p := problemOf(t, resp.StatusCode, b, tc.status, tc.code)
			if tc.field != "" {
				if _, ok := fieldsOf(p)[tc.field]; !ok {
					t.Fatalf("problem does not name field %s: %s", tc.field, b)
				}
			}
		})
	}
}

func TestEveryInvalidFieldIsReportedAtOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	resp, b := s.raw(t, s.Admin, "POST", "/v1/environments/production/roles", "application/json",
		strings.NewReader(`{"name":"Not A Slug","pool_size":500,"description":"`+strings.Repeat("x", 1001)+`"}`))
	p := problemOf(t, resp.StatusCode, b, 422, "invalid")
	f := fieldsOf(p)
	for _, want := range []string{"name", "pool_size", "description"} {
		if _, ok := f[want]; !ok {
			t.Errorf("field %s not reported: %s", want, b)
		}
	}
}

func TestOversizedBodyIs413(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	big := `{"name":"staging","email_domains":["` + strings.Repeat("a", 1<<20) + `"]}`
	resp, b := s.raw(t, s.Admin, "POST", "/v1/environments", "application/json", strings.NewReader(big))
	problemOf(t, resp.StatusCode, b, http.StatusRequestEntityTooLarge, "too_large")
	// Without a Content-Length the limit still holds.
	req, _ := http.NewRequest("POST", s.URL+"/v1/environments", struct{ *strings.Reader }{strings.NewReader(big)})
	req.Header.Set("Authorization", "Bearer "+s.Admin)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Body.Close()
	if r2.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized body: status %d", r2.StatusCode)
	}
}

func TestTokensAndScopes(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	cases := []struct {
		name, token, method, path string
		status                    int
		code                      string
	}{
		{"no token", "", "GET", "/v1/environments", 401, "unauthorized"},
		{"wrong token", "ust_not-a-real-token", "GET", "/v1/environments", 401, "unauthorized"},
		{"not a bearer token", "garbage", "GET", "/v1/environments", 401, "unauthorized"},
		{"reader writes", s.Reader, "POST", "/v1/environments", 403, "forbidden"},
		{"runner lists tokens", s.Runner, "GET", "/v1/tokens", 403, "forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, b := s.raw(t, tc.token, tc.method, tc.path, "application/json", strings.NewReader(`{"name":"x","email_domains":["qa.example.test"]}`))
			problemOf(t, resp.StatusCode, b, tc.status, tc.code)
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	ctx := context.Background()
	admin := s.client(t, s.Admin)
	created, err := admin.CreateTokenWithResponse(ctx, openapi.TokenCreate{Name: "ci-runner", Scope: "runner"})
	if err != nil || created.JSON201 == nil || !strings.HasPrefix(created.JSON201.Secret, "ust_") {
		t.Fatalf("create token: %v %s", err, created.Body)
	}
	if ok, _ := s.client(t, created.JSON201.Secret).ListAccountsWithResponse(ctx, nil); ok.StatusCode() != 200 {
		t.Fatalf("new token refused: %s", ok.Body)
	}
	list, _ := admin.ListTokensWithResponse(ctx)
	if bytes.Contains(list.Body, []byte(created.JSON201.Secret)) {
		t.Fatal("token list shows a secret")
	}
	if rev, _ := admin.RevokeTokenWithResponse(ctx, created.JSON201.Token.Id); rev.JSON200 == nil || rev.JSON200.RevokedAt == nil {
		t.Fatalf("revoke: %s", rev.Body)
	}
	after, _ := s.client(t, created.JSON201.Secret).ListAccountsWithResponse(ctx, nil)
	problemOf(t, after.StatusCode(), after.Body, 401, "unauthorized")
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
