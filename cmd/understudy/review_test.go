package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/openapi"
)

// The tests in this file each reproduce one finding of the security review
// (hardening issue): each failed on the code before the fix.

// plainDo sends a request without the contract checker (which could not
// even route some of these paths), returning status and body.
func plainDo(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// A path parameter holding an encoded slash used to match no operation in
// the gate, which let the request through to the router unauthenticated.
// Every path either meets the gate (401 without a token) or is answered
// 404 before any handler runs.
func TestNoPathBypassesTheGate(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/environments/%2Fprod"},
		{"DELETE", "/v1/environments/production%2F"},
		{"DELETE", "/v1/environments/%2E%2E"},
		{"GET", "/v1/environments/production/roles/%2Fbuyer"},
		{"PATCH", "/v1/environments/production/roles/buyer%2Fx"},
		{"GET", "/v1/accounts/%2F"},
		{"GET", "/v1/environments/"},
		{"GET", "/v1/environments/production/"},
		{"GET", "//v1/environments/production"},
		{"GET", "/v1/%65nvironments/production"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			status, body := plainDo(t, tc.method, s.URL+tc.path, "", "")
			if status != http.StatusUnauthorized && status != http.StatusNotFound {
				t.Fatalf("without a token: %d %s; want 401 (the gate) or 404 (no operation)", status, body)
			}
			var p openapi.Problem
			if err := json.Unmarshal(body, &p); err != nil || p.Code == nil {
				t.Fatalf("not a problem document: %s", body)
			}
			// With a token the parameter is validated against the contract
			// (a slug has no slash): never a handler's 2xx.
			status, body = plainDo(t, tc.method, s.URL+tc.path, s.Admin, "")
			if status < 400 || status >= 500 {
				t.Fatalf("with a token: %d %s; want a 4xx", status, body)
			}
		})
	}
	// Nothing was deleted by any of it.
	if status, body := plainDo(t, "GET", s.URL+"/v1/environments/production", s.Admin, ""); status != http.StatusOK {
		t.Fatalf("production after the attempts: %d %s", status, body)
	}
}

// A second token of runner scope, for the same server.
func (s *testServer) secondRunner(t *testing.T, name string) string {
	t.Helper()
	_, secret, err := access.NewTokens(s.main.pool).Create(access.WithCaller(context.Background(), access.Caller{Actor: "test"}), name, access.ScopeRunner)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// Any runner token could renew or release another run's lease, after which
// the next lease got the same account while the first run still used it.
func TestOnlyTheHolderOrAnAdminRenewsOrReleasesALease(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	attachFake(t, s)
	ctx := context.Background()
	other := s.secondRunner(t, "other-run")
	g, err := s.client(t, s.Runner).AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "run-1"})
	if err != nil || g.JSON201 == nil {
		t.Fatalf("acquire: %v %s", err, g.Body)
	}
	id := g.JSON201.Lease.Id
	renew, _ := s.client(t, other).RenewLeaseWithResponse(ctx, id, openapi.LeaseRenew{TtlSeconds: new(60)})
	problemOf(t, renew.StatusCode(), renew.Body, http.StatusForbidden, "forbidden")
	rel, _ := s.client(t, other).ReleaseLeaseWithResponse(ctx, id, openapi.LeaseRelease{})
	problemOf(t, rel.StatusCode(), rel.Body, http.StatusForbidden, "forbidden")
	if l, _ := s.client(t, s.Reader).GetLeaseWithResponse(ctx, id); l.JSON200 == nil || l.JSON200.Status != openapi.LeaseStatusActive {
		t.Fatalf("after the refused release: %s", l.Body)
	}
	// The holder renews; an admin may release.
	if r, _ := s.client(t, s.Runner).RenewLeaseWithResponse(ctx, id, openapi.LeaseRenew{TtlSeconds: new(120)}); r.JSON200 == nil {
		t.Fatalf("the holder's renewal: %d %s", r.StatusCode(), r.Body)
	}
	if r, _ := s.client(t, s.Admin).ReleaseLeaseWithResponse(ctx, id, openapi.LeaseRelease{}); r.JSON200 == nil || r.JSON200.Status != openapi.LeaseStatusReleased {
		t.Fatalf("an admin's release: %d %s", r.StatusCode(), r.Body)
	}
	// Both refusals and the renewal are in the audit trail.
	for action, actor := range map[string]string{"lease.renew_denied": "other-run", "lease.release_denied": "other-run", "lease.renew": "test-runner"} {
		ev, _ := s.client(t, s.Admin).ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new(action)})
		if ev.JSON200 == nil || len(ev.JSON200.Items) != 1 || ev.JSON200.Items[0].Actor != actor || ev.JSON200.Items[0].RequestId == "" {
			t.Fatalf("audit of %s: %s", action, ev.Body)
		}
	}
}

// Replaying an Idempotency-Key with a different body returned the first
// lease, for another role.
func TestAnIdempotencyKeyIsBoundToItsRequest(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	ctx := context.Background()
	admin := s.client(t, s.Admin)
	if r, err := admin.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: "seller"}); err != nil || r.JSON201 == nil {
		t.Fatalf("creating seller: %v", err)
	}
	attachFake(t, s)
	runner := s.client(t, s.Runner)
	key := "run-77"
	p := &openapi.AcquireLeaseParams{IdempotencyKey: &key}
	first, err := runner.AcquireLeaseWithResponse(ctx, p, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci"})
	if err != nil || first.JSON201 == nil {
		t.Fatalf("first: %v %s", err, first.Body)
	}
	same, _ := runner.AcquireLeaseWithResponse(ctx, p, openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci"})
	if same.JSON201 == nil || same.JSON201.Lease.Id != first.JSON201.Lease.Id {
		t.Fatalf("the same request again: %s", same.Body)
	}
	other, _ := runner.AcquireLeaseWithResponse(ctx, p, openapi.LeaseRequest{Environment: "production", Role: "seller", Holder: "ci"})
	pr := problemOf(t, other.StatusCode(), other.Body, http.StatusUnprocessableEntity, "invalid")
	if !strings.Contains(pr.Detail, "Idempotency-Key") || !strings.Contains(pr.Detail, "different") {
		t.Fatalf("the refusal does not say why: %s", other.Body)
	}
}

// A body that trails data after its JSON value, or null for a required
// integer, was accepted.
func TestMalformedBodiesAreRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"trailing object", "POST", "/v1/environments", `{"name":"staging","email_domains":["qa.example.test"]} {"name":"x"}`, 400},
		{"trailing garbage", "POST", "/v1/environments", `{"name":"staging","email_domains":["qa.example.test"]}xyz`, 400},
		{"null pool size", "POST", "/v1/environments/production/roles", `{"name":"seller","pool_size":null}`, 400},
		{"null ttl", "POST", "/v1/leases", `{"environment":"production","role":"buyer","holder":"ci","ttl_seconds":null}`, 400},
		{"two bodies on release", "POST", "/v1/leases/7c9e6679-7425-40de-944b-e07fc1f90ae7/release", `{} {}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := plainDo(t, tc.method, s.URL+tc.path, s.Admin, tc.body)
			if status != tc.status {
				t.Fatalf("%d %s, want %d", status, body, tc.status)
			}
		})
	}
	if status, body := plainDo(t, "GET", s.URL+"/v1/environments/staging", s.Admin, ""); status != http.StatusNotFound {
		t.Fatalf("an environment was created from a malformed body: %d %s", status, body)
	}
}

// A client that sends its headers and then its body slowly held a
// connection (and a goroutine) forever.
func TestASlowBodyIsCutOff(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{Mutate: func(c *Config) { c.ReadTimeout = time.Second }})
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/environments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":", s.Admin)
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	for {
		if _, err := r.ReadByte(); err != nil {
			break // the server closed the connection
		}
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the connection was held %v with a read timeout of 1s", took)
	}
}

// Reading credentials wrote nothing to the audit trail.
func TestReadingCredentialsIsAudited(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	accts := seed(t, s)
	ctx := context.Background()
	if r, _ := s.client(t, s.Admin).GetCredentialsWithResponse(ctx, accts[0].Id); r.JSON200 == nil {
		t.Fatalf("credentials: %d", r.StatusCode())
	}
	ev, _ := s.client(t, s.Admin).ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("account.read_credentials")})
	if ev.JSON200 == nil || len(ev.JSON200.Items) != 1 || ev.JSON200.Items[0].TargetId != accts[0].Id || ev.JSON200.Items[0].Actor != "test-admin" {
		t.Fatalf("audit: %s", ev.Body)
	}
	if strings.Contains(string(ev.Body), "password\":\"") {
		t.Fatal("the audit event holds the password")
	}
}

// A postgres app whose user_column does not reference the users table let
// a restore delete a real user's rows, and `apps test` approved it. Attach,
// update and test check the settings against the app's catalog and answer
// 422 naming the setting; an explicit override is accepted and audited.
func TestAPostgresAppIsCheckedAgainstItsCatalog(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	ctx := context.Background()
	dsn := dbtest.NewDatabase(t)
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	if _, err := db.Exec(ctx, shopSchema+`
CREATE TABLE shop.reviews (id bigserial PRIMARY KEY, author bigint NOT NULL, body text);`); err != nil {
		t.Fatal(err)
	}
	settings := func(tables string) *map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(`{"schema":"shop","users_table":"users","key_column":"id","synthetic_column":"is_synthetic",
			"owner_column":"understudy_account_id","columns":{"email":"email","username":"username"},"tables":`+tables+`}`), &m); err != nil {
			t.Fatal(err)
		}
		return &m
	}
	admin := s.client(t, s.Admin)
	secrets := &map[string]string{"dsn": dsn}
	for _, tc := range []struct{ tables, field string }{
		{`[{"table":"reviews","user_column":"author"}]`, "settings.tables[0].user_column"},
		{`[{"table":"nowhere","user_column":"user_id"}]`, "settings.tables[0].table"},
		{`[{"table":"cart_items","user_column":"sku"}]`, "settings.tables[0].user_column"},
	} {
		r, _ := admin.AttachAppWithResponse(ctx, "production", openapi.AppAttach{Name: "shop", Provider: "postgres", Settings: settings(tc.tables), Secrets: secrets})
		p := problemOf(t, r.StatusCode(), r.Body, http.StatusUnprocessableEntity, "invalid")
		if _, ok := fieldsOf(p)[tc.field]; !ok {
			t.Fatalf("%s: the refusal does not name %s: %s", tc.tables, tc.field, r.Body)
		}
	}
	// Attached with a good table, then updated to a bad one: refused, and
	// the app keeps its settings.
	if r, _ := admin.AttachAppWithResponse(ctx, "production", openapi.AppAttach{Name: "shop", Provider: "postgres",
		Settings: settings(`[{"table":"cart_items","user_column":"user_id"}]`), Secrets: secrets}); r.JSON201 == nil {
		t.Fatalf("a good attach: %d %s", r.StatusCode(), r.Body)
	}
	r, _ := admin.UpdateAppWithResponse(ctx, "production", "shop", openapi.AppUpdate{Settings: settings(`[{"table":"reviews","user_column":"author"}]`)})
	problemOf(t, r.StatusCode(), r.Body, http.StatusUnprocessableEntity, "invalid")
	// The override says the app has no foreign key there: accepted, and the
	// audit trail shows it.
	r, _ = admin.UpdateAppWithResponse(ctx, "production", "shop", openapi.AppUpdate{
		Settings: settings(`[{"table":"cart_items","user_column":"user_id"},{"table":"reviews","user_column":"author","unchecked_user_column":true}]`)})
	if r.JSON200 == nil {
		t.Fatalf("the override: %d %s", r.StatusCode(), r.Body)
	}
	ev, _ := admin.ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("app.update")})
	if ev.JSON200 == nil || len(ev.JSON200.Items) != 1 || !strings.Contains(string(ev.Body), "unchecked_user_column") {
		t.Fatalf("the override is not in the audit trail: %s", ev.Body)
	}
	// The table goes away behind Understudy's back: `apps test` says so.
	if _, err := db.Exec(ctx, `DROP TABLE shop.reviews`); err != nil {
		t.Fatal(err)
	}
	tr, _ := admin.TestAppWithResponse(ctx, "production", "shop")
	problemOf(t, tr.StatusCode(), tr.Body, http.StatusUnprocessableEntity, "invalid")
}
