package main

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/openapi"
)

// e2eTOTPSecret is the base32 secret the tests below store: no answer,
// output or log line may hold it.
var e2eTOTPSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("understudy-totp-e2e!"))

// totpCall is one REST call of the TOTP operations and what it answered.
type totpCall struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request with token and records what came back in seen.
func (s *testServer) totpCall(t *testing.T, seen *[]byte, token, method, path, body string) totpCall {
	t.Helper()
	var r *bytes.Reader
	ct := ""
	if body != "" {
		r, ct = bytes.NewReader([]byte(body)), "application/json"
	} else {
		r = bytes.NewReader(nil)
	}
	resp, b := s.raw(t, token, method, path, ct, r)
	*seen = append(*seen, b...)
	return totpCall{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantStatus fails the test unless c answered status.
func (c totpCall) wantStatus(t *testing.T, what string, status int) totpCall {
	t.Helper()
	if c.status != status {
		t.Fatalf("%s: %d, want %d: %s", what, c.status, status, strings.ReplaceAll(string(c.body), e2eTOTPSecret, "[secret]"))
	}
	return c
}

// TestTOTPOverREST: each operation's scopes (a reader cannot set, a runner
// reads codes only under its own active lease, analytics and app tokens
// are refused), the codes, the refusals, and no answer or log line with
// the secret.
func TestTOTPOverREST(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	s := startServer(t, serverOptions{Logs: logs})
	mustOK(t, s.cli(t, s.Admin, "environments", "create", "production", "--email-domain", "qa.example.test"))
	mustOK(t, s.cli(t, s.Admin, "roles", "create", "production", "buyer", "--pool", "1"))
	mustOK(t, s.cli(t, s.Admin, "apps", "attach", "production", "mem", "--provider", "fake"))
	mustOK(t, s.cli(t, s.Admin, "apps", "attach", "production", "mem2", "--provider", "fake"))
	acct := accountsReady(t, s)[0].Id
	other := s.tokenOf(t, "other-runner", access.ScopeRunner)
	analytics, app := s.tokenOf(t, "pipeline", access.ScopeAnalytics), s.tokenOf(t, "shop", access.ScopeApp)
	var seen []byte
	totpPath := "/v1/accounts/" + acct + "/totp"
	uri := `{"app":"mem","uri":"otpauth://totp/Mem:buyer?secret=` + e2eTOTPSecret + `&issuer=Mem"}`

	for _, tok := range []string{s.Reader, s.Runner, analytics, app} {
		s.totpCall(t, &seen, tok, "POST", totpPath, uri).wantStatus(t, "setting with a weaker token", http.StatusForbidden)
	}
	s.totpCall(t, &seen, s.Admin, "POST", totpPath, uri).wantStatus(t, "setting", http.StatusCreated)
	set := s.totpCall(t, &seen, s.Admin, "POST", totpPath, uri).wantStatus(t, "setting again", http.StatusOK)
	var info openapi.TOTPInfo
	if err := json.Unmarshal(set.body, &info); err != nil || info.App != "mem" || info.Issuer != "Mem" || info.Digits != 6 {
		t.Fatalf("the answer %s, %v: want mem's info", set.body, err)
	}
	for _, bad := range []struct{ body, field string }{
		{`{"app":"mem","uri":"otpauth://hotp/x?secret=` + e2eTOTPSecret + `"}`, "uri"},
		{`{"app":"mem","uri":"otpauth://totp/x?secret=` + e2eTOTPSecret + `&period=45"}`, "uri.period"},
		{`{"app":"mem","secret":"` + e2eTOTPSecret + `","uri":"otpauth://totp/x"}`, "uri"},
		{`{"app":"mem"}`, "uri"},
		{`{"app":"nope","secret":"` + e2eTOTPSecret + `"}`, ""},
	} {
		c := s.totpCall(t, &seen, s.Admin, "POST", totpPath, bad.body)
		if bad.field == "" {
			problemOf(t, c.status, c.body, http.StatusNotFound, "not_found")
			continue
		}
		if f := fieldsOf(problemOf(t, c.status, c.body, http.StatusUnprocessableEntity, "invalid")); f[bad.field] == "" {
			t.Errorf("refusal %s does not name %s", c.body, bad.field)
		}
	}

	for _, tok := range []string{s.Reader, s.Runner, s.Admin} {
		s.totpCall(t, &seen, tok, "GET", totpPath, "").wantStatus(t, "listing", http.StatusOK)
	}
	for _, tok := range []string{analytics, app} {
		s.totpCall(t, &seen, tok, "GET", totpPath, "").wantStatus(t, "listing with an analytics or app token", http.StatusForbidden)
	}

	grant, err := s.client(t, s.Runner).AcquireLeaseWithResponse(context.Background(), &openapi.AcquireLeaseParams{},
		openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci"})
	if err != nil || grant.JSON201 == nil {
		t.Fatalf("leasing: %v", err)
	}
	codePath := "/v1/leases/" + grant.JSON201.Lease.Id + "/totp"
	before := time.Now()
	got := s.totpCall(t, &seen, s.Runner, "GET", codePath+"?app=mem", "").wantStatus(t, "the code under the runner's lease", http.StatusOK)
	after := time.Now()
	var code openapi.TOTPCode
	if err := json.Unmarshal(got.body, &code); err != nil {
		t.Fatal(err)
	}
	want1, _ := totp.GenerateCode(e2eTOTPSecret, before)
	want2, _ := totp.GenerateCode(e2eTOTPSecret, after)
	if (code.Code != want1 && code.Code != want2) || code.ValidFor < 1 || code.ValidFor > 30 || code.Period != 30 {
		t.Errorf("code %+v, want %s (or %s) with its seconds left", code, want1, want2)
	}
	if cc := got.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	s.totpCall(t, &seen, s.Runner, "GET", codePath, "").wantStatus(t, "the code of the one secret", http.StatusOK)
	s.totpCall(t, &seen, s.Admin, "GET", codePath+"?app=mem", "").wantStatus(t, "the code, to an admin", http.StatusOK)
	s.totpCall(t, &seen, other, "GET", codePath+"?app=mem", "").wantStatus(t, "the code under another runner's lease", http.StatusForbidden)
	for _, tok := range []string{s.Reader, analytics, app} {
		s.totpCall(t, &seen, tok, "GET", codePath+"?app=mem", "").wantStatus(t, "the code with a reader, analytics or app token", http.StatusForbidden)
	}
	denied, err := access.NewAudit(s.main.pool).List(context.Background(), access.AuditFilter{Action: "lease.totp_read_denied"})
	if err != nil || len(denied) != 1 || denied[0].Actor != "other-runner" {
		t.Errorf("lease.totp_read_denied events %+v, %v: want the other runner's attempt", denied, err)
	}
	s.totpCall(t, &seen, s.Runner, "GET", codePath+"?app=mem2", "").wantStatus(t, "the code of an app without a secret", http.StatusNotFound)

	s.totpCall(t, &seen, s.Admin, "POST", totpPath, `{"app":"mem2","secret":"`+e2eTOTPSecret+`"}`).wantStatus(t, "setting mem2", http.StatusCreated)
	several := s.totpCall(t, &seen, s.Runner, "GET", codePath, "")
	if f := fieldsOf(problemOf(t, several.status, several.body, http.StatusUnprocessableEntity, "invalid")); !strings.Contains(f["app"], "mem, mem2") {
		t.Errorf("without app, with two secrets: %s, want the apps named", several.body)
	}

	for _, tok := range []string{s.Reader, s.Runner, analytics, app} {
		s.totpCall(t, &seen, tok, "DELETE", totpPath+"/mem2", "").wantStatus(t, "removing with a weaker token", http.StatusForbidden)
	}
	s.totpCall(t, &seen, s.Admin, "DELETE", totpPath+"/mem2", "").wantStatus(t, "removing", http.StatusNoContent)
	s.totpCall(t, &seen, s.Admin, "DELETE", totpPath+"/mem2", "").wantStatus(t, "removing twice", http.StatusNotFound)

	mustOK(t, s.cli(t, s.Runner, "leases", "release", grant.JSON201.Lease.Id))
	s.totpCall(t, &seen, s.Runner, "GET", codePath+"?app=mem", "").wantStatus(t, "the code after the release", http.StatusConflict)

	if strings.Contains(string(seen), e2eTOTPSecret) {
		t.Error("an answer holds the secret")
	}
	if strings.Contains(logs.String(), e2eTOTPSecret) {
		t.Error("the server's log holds the secret")
	}
	if !strings.Contains(logs.String(), "/totp") {
		t.Error("the server logged no TOTP request: the log check saw nothing")
	}
}

// cliStdin runs the CLI against s with token, stdin reading in.
func (s *testServer) cliStdin(t *testing.T, token, in string, argv ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"UNDERSTUDY_URL": s.URL, "UNDERSTUDY_TOKEN": token}
	a := &cli{stdin: strings.NewReader(in), stdout: &out, stderr: &errb, now: time.Now,
		getenv: func(k string) string { return env[k] }, httpClient: http.DefaultClient}
	code := a.run(context.Background(), argv)
	return cliResult{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

func TestCLITOTP(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	// An app that enrols an authenticator at sign-up: provisioning keeps
	// the secret it hands back.
	mustOK(t, s.cli(t, s.Admin, "apps", "attach", "production", "mem", "--provider", "fake", "--settings", `{"totp":true}`))
	mustOK(t, s.cli(t, s.Admin, "apps", "attach", "production", "shop", "--provider", "fake"))
	acct := accountsReady(t, s)[0].Id
	var printed strings.Builder
	run := func(res cliResult) cliResult {
		printed.WriteString(res.Stdout + res.Stderr)
		return res
	}

	list := decode[openapi.TOTPList](t, s, "totp", "list", acct)
	if len(list.Items) != 1 || list.Items[0].App != "mem" || list.Items[0].Issuer != "fake" {
		t.Fatalf("after provisioning: %+v, want mem's enrolled secret", list.Items)
	}

	uriFile := filepath.Join(t.TempDir(), "shop.uri")
	if err := os.WriteFile(uriFile, []byte("otpauth://totp/Shop:buyer?secret="+e2eTOTPSecret+"&digits=8\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rs := rows(t, run(mustOK(t, s.cli(t, s.Admin, "totp", "set", acct, "--app", "shop", "--uri-file", uriFile))).Stdout)
	if len(rs) != 1 || rs[0][0] != "shop" || rs[0][3] != "8" {
		t.Errorf("totp set printed %v, want shop's row with 8 digits", rs)
	}
	run(mustOK(t, s.cliStdin(t, s.Admin, e2eTOTPSecret+"\n", "totp", "set", acct, "--app", "shop", "--secret-stdin")))
	rs = rows(t, run(mustOK(t, s.cli(t, s.Reader, "totp", "list", acct))).Stdout)
	if apps := []string{rs[0][0], rs[1][0]}; len(rs) != 2 || !slices.Equal(apps, []string{"mem", "shop"}) || rs[1][3] != "6" {
		t.Errorf("totp list: %v, want mem and shop (6 digits now)", rs)
	}

	mustFail(t, run(s.cli(t, s.Admin, "totp", "set", acct, "--app", "shop")), exitUsage, "--secret-stdin")
	mustFail(t, run(s.cli(t, s.Admin, "totp", "set", acct, "--uri-file", uriFile)), exitUsage, "--app is required")
	mustFail(t, run(s.cliStdin(t, s.Admin, "x", "totp", "set", acct, "--app", "shop", "--uri-file", uriFile, "--secret-stdin")), exitUsage, "exactly one")
	mustFail(t, run(s.cliStdin(t, s.Admin, "otpauth://hotp/x?secret="+e2eTOTPSecret, "totp", "set", acct, "--app", "shop", "--secret-stdin")), exitInvalid, "uri: ")
	mustFail(t, run(s.cliStdin(t, s.Reader, e2eTOTPSecret, "totp", "set", acct, "--app", "shop", "--secret-stdin")), exitAuth, "scope")

	g := decodeAs[openapi.LeaseGrant](t, mustOK(t, s.cli(t, s.Runner, "leases", "acquire", "--environment", "production", "--role", "buyer", "--holder", "ci", "-o", "json")))
	code := decodeAs[openapi.TOTPCode](t, run(mustOK(t, s.cli(t, s.Runner, "totp", "code", g.Lease.Id, "--app", "shop", "-o", "json"))))
	if want, _ := totp.GenerateCode(e2eTOTPSecret, time.Now()); len(code.Code) != 6 || code.ValidFor < 1 {
		t.Errorf("totp code -o json: %+v, want a 6-digit code like %s", code, want)
	}
	out := run(mustOK(t, s.cli(t, s.Runner, "totp", "code", g.Lease.Id, "--app", "mem"))).Stdout
	if !strings.HasPrefix(out, "Code") || !strings.Contains(out, "Valid for") {
		t.Errorf("totp code printed %q, want the code and its seconds left", out)
	}
	mustFail(t, run(s.cli(t, s.Runner, "totp", "code", g.Lease.Id)), exitInvalid, "mem, shop")
	mustFail(t, run(s.cli(t, s.Reader, "totp", "code", g.Lease.Id, "--app", "mem")), exitAuth)

	mustOK(t, s.cli(t, s.Admin, "totp", "remove", acct, "--app", "shop"))
	mustFail(t, run(s.cli(t, s.Admin, "totp", "remove", acct, "--app", "shop")), exitNotFound, "no TOTP secret")
	mustFail(t, run(s.cli(t, s.Admin, "totp", "remove", acct)), exitUsage, "--app is required")
	if strings.Contains(printed.String(), e2eTOTPSecret) {
		t.Error("the CLI printed the secret")
	}
}

// decodeAs decodes what a CLI run printed with -o json.
func decodeAs[T any](t *testing.T, res cliResult) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(res.Stdout), &v); err != nil {
		t.Fatalf("decoding %q: %v", res.Stdout, err)
	}
	return v
}
