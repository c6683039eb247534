package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/internal/dbtest"
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
	a := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: time.Now,
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

var exportRE = regexp.MustCompile(`(?m)^[ \t]*export ((?:[A-Z_]+=\S+ ?)+)$`)

// printedExports returns the variables of each `export A=… B=…` line of
// text, in order, merging the lines of one block (consecutive exports).
func printedExports(text string) []map[string]string {
	var out []map[string]string
	last := -1
	for _, m := range exportRE.FindAllStringSubmatchIndex(text, -1) {
		vars := map[string]string{}
		for _, kv := range strings.Fields(text[m[2]:m[3]]) {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		// A line right after another export line belongs to its block.
		if last >= 0 && text[last:m[0]] == "\n" {
			maps.Copy(out[len(out)-1], vars)
		} else {
			out = append(out, vars)
		}
		last = m[1]
	}
	return out
}

// checkPrintedTokens checks what the demo or serve --dev printed: an admin
// block and a runner block of exports, ready to paste, whose tokens have
// those scopes on the server at their UNDERSTUDY_URL. It returns the
// runner block.
func checkPrintedTokens(t *testing.T, text string) (runner map[string]string) {
	t.Helper()
	blocks := printedExports(text)
	if len(blocks) != 2 {
		t.Fatalf("%d blocks of export lines printed, want 2 (the admin's, then the runner's):\n%s", len(blocks), redactTokens(text))
	}
	admin, runner := blocks[0], blocks[1]
	for _, b := range blocks {
		if !strings.HasPrefix(b["UNDERSTUDY_URL"], "http://127.0.0.1:") || !tokenRE.MatchString(b["UNDERSTUDY_TOKEN"]) {
			t.Fatalf("an export block lacks UNDERSTUDY_URL or UNDERSTUDY_TOKEN:\n%s", redactTokens(text))
		}
	}
	if admin["UNDERSTUDY_TOKEN"] == runner["UNDERSTUDY_TOKEN"] {
		t.Fatal("the admin and runner blocks print the same token")
	}
	if runner["UNDERSTUDY_ENVIRONMENT"] != "production" || runner["UNDERSTUDY_ROLE"] != "buyer" {
		t.Errorf("the runner block sets environment %q and role %q, want production and buyer (the fixture's settings)",
			runner["UNDERSTUDY_ENVIRONMENT"], runner["UNDERSTUDY_ROLE"])
	}
	for _, c := range []struct {
		who    string
		block  map[string]string
		status int
	}{{"admin", admin, http.StatusOK}, {"runner", runner, http.StatusForbidden}} {
		req, _ := http.NewRequest(http.MethodGet, c.block["UNDERSTUDY_URL"]+"/v1/tokens", nil)
		req.Header.Set("Authorization", "Bearer "+c.block["UNDERSTUDY_TOKEN"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("the printed %s token lists tokens: %d, want %d", c.who, resp.StatusCode, c.status)
		}
	}
	return runner
}

// serve --dev prints a runner token beside the admin one, with the
// fixture's environment variables ready to paste.
func TestServeDevPrintsARunnerToken(t *testing.T) {
	t.Parallel()
	out, errb := &lockedBuffer{}, &lockedBuffer{}
	env := map[string]string{"DATABASE_URL": dbtest.NewDatabase(t), "UNDERSTUDY_SECRET_KEY": testKey, "UNDERSTUDY_ADDR": "127.0.0.1:0",
		"UNDERSTUDY_DATA_DIR": t.TempDir()}
	a := &cli{stdin: strings.NewReader(""), stdout: out, stderr: errb, now: time.Now, getenv: func(k string) string { return env[k] }}
	ctx, stop := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() { exited <- a.run(ctx, []string{"serve", "--dev"}) }()
	defer func() { stop(); <-exited }()
	waitFor(t, "serve --dev printing its tokens", func() bool {
		select {
		case code := <-exited:
			exited <- code
			t.Fatalf("serve --dev exited %d: %s\n%s", code, redactTokens(errb.String()), redactTokens(out.String()))
		default:
		}
		return strings.Contains(out.String(), "The web console is at")
	})
	runner := checkPrintedTokens(t, out.String())
	if len(runner) != 4 {
		t.Errorf("the runner block sets %d variables, want UNDERSTUDY_URL, _TOKEN, _ENVIRONMENT and _ROLE", len(runner))
	}
}
