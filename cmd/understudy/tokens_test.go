package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/openapi"
)

// With only UNDERSTUDY_URL and an admin token, and no DATABASE_URL, tokens
// create, list and revoke work over REST: the runner token created works,
// the list shows it without its secret, and once revoked it is a 401.
func TestTokensCreateListRevokeOverREST(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	ctx := context.Background()

	r := s.cli(t, s.Admin, "tokens", "create", "--name", "ci-runner", "--scope", "runner")
	if r.Code != 0 {
		t.Fatalf("tokens create over REST: exit %d: %s", r.Code, redactTokens(r.Stderr))
	}
	secret := tokenRE.FindString(r.Stdout)
	if secret == "" || !strings.Contains(r.Stdout, "Created token ci-runner (scope runner)") {
		t.Fatalf("tokens create printed %q, want the created runner token", redactTokens(r.Stdout))
	}
	if got := s.cli(t, secret, "accounts", "list"); got.Code != 0 {
		t.Fatalf("the new runner token cannot list accounts: exit %d: %s", got.Code, redactTokens(got.Stderr))
	}
	if got := s.cli(t, secret, "tokens", "list"); got.Code != exitAuth {
		t.Errorf("the new token lists tokens: exit %d, want %d (it is a runner, not an admin)", got.Code, exitAuth)
	}

	// The server audited the creation under the admin token's name.
	events, err := s.client(t, s.Admin).ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("token.create")})
	if err != nil || events.JSON200 == nil {
		t.Fatalf("listing audit events: %v", err)
	}
	var audited bool
	for _, e := range events.JSON200.Items {
		if e.Details["name"] == "ci-runner" {
			audited = true
			if e.Actor != "test-admin" || e.RequestId == "" {
				t.Errorf("token.create of ci-runner: actor %q, request id %q; want test-admin and the request's id", e.Actor, e.RequestId)
			}
		}
	}
	if !audited {
		t.Error("the creation of ci-runner was not audited")
	}

	list := s.cli(t, s.Admin, "tokens", "list")
	if list.Code != 0 || !strings.Contains(list.Stdout, "ci-runner") || !strings.Contains(list.Stdout, "runner") {
		t.Fatalf("tokens list: exit %d, want ci-runner listed:\n%s%s", list.Code, redactTokens(list.Stdout), redactTokens(list.Stderr))
	}
	if strings.Contains(list.Stdout, secret) {
		t.Fatal("tokens list shows the secret")
	}
	listJSON := s.cli(t, s.Admin, "tokens", "list", "-o", "json")
	if strings.Contains(listJSON.Stdout, secret) {
		t.Fatal("tokens list -o json shows the secret")
	}
	var tokens openapi.TokenList
	if err := json.Unmarshal([]byte(listJSON.Stdout), &tokens); err != nil {
		t.Fatalf("tokens list -o json: %v", err)
	}
	var id string
	for _, tok := range tokens.Items {
		if tok.Name == "ci-runner" {
			id = tok.Id
		}
	}
	if id == "" {
		t.Fatalf("tokens list -o json has no ci-runner: %+v", tokens.Items)
	}

	if rev := s.cli(t, s.Admin, "tokens", "revoke", id); rev.Code != 0 || !strings.Contains(rev.Stdout, "revoked token ci-runner") {
		t.Fatalf("tokens revoke: exit %d: %s%s", rev.Code, rev.Stdout, redactTokens(rev.Stderr))
	}
	resp, body := s.raw(t, secret, http.MethodGet, "/v1/accounts", "", nil)
	problemOf(t, resp.StatusCode, body, http.StatusUnauthorized, "unauthorized")
	if got := s.cli(t, secret, "accounts", "list"); got.Code != exitAuth {
		t.Errorf("the revoked token lists accounts: exit %d, want %d", got.Code, exitAuth)
	}
}

// tokens create -o json prints the same fields over REST as on the database.
func TestTokensCreateOverRESTPrintsJSON(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	r := s.cli(t, s.Admin, "tokens", "create", "--name", "ci-json", "--scope", "reader", "-o", "json")
	var got struct{ ID, Name, Scope, Secret string }
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &got) != nil {
		t.Fatalf("tokens create -o json: exit %d: %s%s", r.Code, redactTokens(r.Stdout), redactTokens(r.Stderr))
	}
	if got.ID == "" || got.Name != "ci-json" || got.Scope != "reader" || !strings.HasPrefix(got.Secret, "ust_") {
		t.Fatalf("tokens create -o json = id %q, name %q, scope %q; want an id, ci-json, reader and a secret", got.ID, got.Name, got.Scope)
	}
}

// tokens create refuses what it cannot do, saying what to set: no token
// and no database, a token that is not an admin's, a scope that does not
// exist.
func TestTokensCreateErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	r := s.cli(t, "", "tokens", "create", "--name", "x", "--scope", "runner")
	if r.Code != exitUsage || !strings.Contains(r.Stderr, "UNDERSTUDY_TOKEN") || !strings.Contains(r.Stderr, "DATABASE_URL") {
		t.Errorf("tokens create without a token or a database: exit %d, %q; want %d naming UNDERSTUDY_TOKEN and DATABASE_URL", r.Code, r.Stderr, exitUsage)
	}
	r = s.cli(t, s.Runner, "tokens", "create", "--name", "x", "--scope", "admin")
	if r.Code != exitAuth || tokenRE.MatchString(r.Stdout) {
		t.Errorf("tokens create with a runner token: exit %d, want %d and no token", r.Code, exitAuth)
	}
	r = s.cli(t, s.Admin, "tokens", "create", "--name", "x", "--scope", "root")
	if r.Code != exitInvalid || !strings.Contains(r.Stderr, "scope") {
		t.Errorf("tokens create --scope root: exit %d, %q; want %d naming scope", r.Code, r.Stderr, exitInvalid)
	}
}

// Without a token, tokens create works on the database: that is how the
// first admin token is made, and the token it makes works on the server.
func TestTokensCreateFirstAdminOnTheDatabase(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	var out, errb bytes.Buffer
	env := map[string]string{"DATABASE_URL": s.DatabaseURL}
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: time.Now,
		getenv: func(k string) string { return env[k] }}
	if code := a.run(context.Background(), []string{"tokens", "create", "--name", "first-admin", "--scope", "admin"}); code != 0 {
		t.Fatalf("tokens create on the database: exit %d: %s", code, redactTokens(errb.String()))
	}
	secret := tokenRE.FindString(out.String())
	if secret == "" {
		t.Fatalf("tokens create printed no token: %q", redactTokens(out.String()))
	}
	if r := s.cli(t, secret, "tokens", "list"); r.Code != 0 || !strings.Contains(r.Stdout, "first-admin") {
		t.Fatalf("the first admin token cannot list tokens: exit %d: %s", r.Code, redactTokens(r.Stderr))
	}
}
