package main

import (
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/openapi"
)

// mustOK fails the test unless res exited 0, showing what it printed.
func mustOK(t *testing.T, res cliResult) cliResult {
	t.Helper()
	if res.Code != exitOK {
		t.Fatalf("exit code %d, want 0\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	return res
}

// mustFail fails the test unless res exited with code and its stderr
// holds every one of want.
func mustFail(t *testing.T, res cliResult, code int, want ...string) {
	t.Helper()
	if res.Code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", res.Code, code, res.Stdout, res.Stderr)
	}
	for _, w := range want {
		if !strings.Contains(res.Stderr, w) {
			t.Errorf("stderr does not mention %q: %s", w, res.Stderr)
		}
	}
}

// decode runs the CLI with -o json as admin and decodes what it printed.
func decode[T any](t *testing.T, s *testServer, argv ...string) T {
	t.Helper()
	res := mustOK(t, s.cli(t, s.Admin, append(argv, "-o", "json")...))
	var v T
	if err := json.Unmarshal([]byte(res.Stdout), &v); err != nil {
		t.Fatalf("decoding the output of %v: %v\n%s", argv, err, res.Stdout)
	}
	return v
}

// rows splits table output into its lines' whitespace-separated fields,
// without the header line.
func rows(t *testing.T, out string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no table header in %q", out)
	}
	var rs [][]string
	for _, l := range lines[1:] {
		rs = append(rs, strings.Fields(l))
	}
	return rs
}

// withRole starts a server with environment production (accounts at
// qa.example.test) holding role buyer with a pool of pool accounts.
func withRole(t *testing.T, pool string) *testServer {
	t.Helper()
	s := startServer(t, serverOptions{})
	mustOK(t, s.cli(t, s.Admin, "environments", "create", "production", "--email-domain", "qa.example.test"))
	mustOK(t, s.cli(t, s.Admin, "roles", "create", "production", "buyer", "--pool", pool))
	return s
}

func accountIDs(t *testing.T, s *testServer, argv ...string) []string {
	t.Helper()
	list := decode[openapi.AccountList](t, s, append([]string{"accounts", "list"}, argv...)...)
	var ids []string
	for _, a := range list.Items {
		ids = append(ids, a.Id)
	}
	return ids
}

func TestCLIDoneWhen(t *testing.T) {
	t.Parallel()
	s := withRole(t, "2")

	rs := rows(t, mustOK(t, s.cli(t, s.Reader, "accounts", "list", "--environment", "production")).Stdout)
	if len(rs) != 2 {
		t.Fatalf("accounts list shows %d rows, want 2: %v", len(rs), rs)
	}
	for _, r := range rs { // ID ENVIRONMENT ROLE SLOT STATUS EMAIL NAME…
		if r[1] != "production" || r[2] != "buyer" || !strings.HasSuffix(r[5], "@qa.example.test") {
			t.Errorf("row %v: want production, buyer and an email at qa.example.test", r)
		}
	}

	list := decode[openapi.AccountList](t, s, "accounts", "list", "--environment", "production")
	if len(list.Items) != 2 {
		t.Fatalf("-o json lists %d accounts, want 2", len(list.Items))
	}
	if a, b := list.Items[0], list.Items[1]; a.Identity.Email == b.Identity.Email || a.Slot == b.Slot {
		t.Errorf("the two accounts share an email or a slot: %+v / %+v", a.Identity, b.Identity)
	}
	if list.NextOffset != nil {
		t.Errorf("next_offset = %d, want none", *list.NextOffset)
	}
}

func TestCLICredentials(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	id := accountIDs(t, s)[0]

	cr := decode[openapi.Credentials](t, s, "accounts", "credentials", id)
	if len(cr.Password) < 16 || cr.AccountId != id || !strings.HasSuffix(cr.Email, "@qa.example.test") {
		t.Fatalf("credentials %+v: want a password and the account's email", cr)
	}
	rs := rows(t, mustOK(t, s.cli(t, s.Admin, "accounts", "credentials", id)).Stdout)
	if want := []string{cr.Email, cr.Username, cr.Password}; len(rs) != 1 || !slices.Equal(rs[0], want) {
		t.Errorf("the credentials table is not one row of email, username and password")
	}
	for token, want := range map[string]string{s.Reader: "scope", s.Runner: "only under an open lease held by this token"} {
		res := s.cli(t, token, "accounts", "credentials", id)
		if strings.Contains(res.Stdout+res.Stderr, cr.Password) {
			t.Fatal("a reader, or a runner without a lease, was shown the password")
		}
		mustFail(t, res, exitAuth, want)
	}
	// Under its own lease, a runner reads them.
	mustOK(t, s.cli(t, s.Runner, "leases", "acquire", "--environment", "production", "--role", "buyer", "--holder", "ci"))
	rs = rows(t, mustOK(t, s.cli(t, s.Runner, "accounts", "credentials", id)).Stdout)
	if len(rs) != 1 || !slices.Equal(rs[0], []string{cr.Email, cr.Username, cr.Password}) {
		t.Errorf("the runner's credentials table under its lease is not the account's")
	}
}

func TestCLIRotatePassword(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	id := accountIDs(t, s)[0]
	before := decode[openapi.Credentials](t, s, "accounts", "credentials", id)

	rs := rows(t, mustOK(t, s.cli(t, s.Admin, "accounts", "rotate-password", id)).Stdout)
	if len(rs) != 1 || len(rs[0]) != 3 {
		t.Fatalf("rotate-password printed %v, want one row EMAIL USERNAME PASSWORD", rs)
	}
	rotated := rs[0][2]
	after := decode[openapi.Credentials](t, s, "accounts", "credentials", id)
	if after.Password != rotated || after.Password == before.Password {
		t.Errorf("password before %q, printed by rotate %q, after %q: want after = printed != before",
			before.Password, rotated, after.Password)
	}
	if after.Email != before.Email {
		t.Errorf("the email changed from %s to %s", before.Email, after.Email)
	}
}

func TestCLIExitCodes(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	for _, tc := range []struct {
		name  string
		token string
		argv  []string
		code  int
		want  []string
	}{
		{"unknown account", s.Reader, []string{"accounts", "get", "00000000-0000-0000-0000-000000000000"}, exitNotFound, nil},
		{"malformed account id", s.Admin, []string{"accounts", "credentials", "nope"}, exitNotFound, nil},
		{"unknown role", s.Reader, []string{"roles", "get", "production", "seller"}, exitNotFound, nil},
		{"duplicate environment", s.Admin, []string{"environments", "create", "production", "--email-domain", "qa.example.test"}, exitConflict, []string{"production"}},
		{"duplicate role", s.Admin, []string{"roles", "create", "production", "buyer"}, exitConflict, nil},
		{"pool 0", s.Admin, []string{"roles", "create", "production", "seller", "--pool", "0"}, exitInvalid, []string{"pool_size"}},
		{"pool 0 on update", s.Admin, []string{"roles", "update", "production", "buyer", "--pool", "0"}, exitInvalid, []string{"pool_size"}},
		{"bad visibility", s.Admin, []string{"roles", "update", "production", "buyer", "--isolation", "search=sometimes"}, exitInvalid, []string{"isolation_policy"}},
		{"domain not allowed", s.Admin, []string{"environments", "create", "staging", "--email-domain", "gmail.com"}, exitInvalid, []string{"email_domains[0]"}},
		{"wrong token", "not-a-token", []string{"environments", "list"}, exitAuth, nil},
		{"reader writes", s.Reader, []string{"accounts", "retire", accountIDs(t, s)[0]}, exitAuth, []string{"scope"}},
		{"unknown command", s.Admin, []string{"frobnicate"}, exitUsage, []string{"frobnicate"}},
		{"unknown subcommand", s.Admin, []string{"roles", "frobnicate"}, exitUsage, []string{"frobnicate"}},
		{"unknown flag", s.Admin, []string{"accounts", "list", "--frobnicate"}, exitUsage, []string{"frobnicate"}},
		{"flag without value", s.Admin, []string{"accounts", "list", "--limit"}, exitUsage, nil},
		{"too few arguments", s.Admin, []string{"roles", "get", "production"}, exitUsage, []string{"<env> <name>"}},
		{"too many arguments", s.Admin, []string{"accounts", "credentials", "a", "b"}, exitUsage, []string{"<id>"}},
		{"malformed attribute", s.Admin, []string{"roles", "update", "production", "buyer", "--attribute", "plan"}, exitUsage, []string{`"plan"`}},
		{"malformed isolation", s.Admin, []string{"roles", "create", "production", "seller", "--isolation", "=hidden"}, exitUsage, []string{`"=hidden"`}},
		{"bad output", s.Admin, []string{"audit", "list", "-o", "yaml"}, exitUsage, []string{"--output"}},
		{"unreachable server", s.Admin, []string{"environments", "list", "--url", closed}, exitUnavailable, []string{"cannot reach"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := s.cli(t, tc.token, tc.argv...)
			mustFail(t, res, tc.code, tc.want...)
			if res.Stdout != "" {
				t.Errorf("a failed command printed to stdout: %q", res.Stdout)
			}
		})
	}

	// The refused calls changed nothing.
	if ids := accountIDs(t, s); len(ids) != 1 {
		t.Errorf("%d active accounts after the refused calls, want 1", len(ids))
	}
	if r := decode[openapi.Role](t, s, "roles", "get", "production", "buyer"); r.PoolSize != 1 || len(r.Attributes) != 0 {
		t.Errorf("role after the refused calls: %+v", r)
	}
}

func TestCLIRoleUpdateShrinksPool(t *testing.T) {
	t.Parallel()
	s := withRole(t, "3")
	if ids := accountIDs(t, s, "--environment", "production", "--role", "buyer"); len(ids) != 3 {
		t.Fatalf("pool 3 has %d accounts", len(ids))
	}

	rs := rows(t, mustOK(t, s.cli(t, s.Admin, "roles", "update", "production", "buyer", "--pool", "1")).Stdout)
	if want := []string{"production", "buyer", "1"}; len(rs) != 1 || !slices.Equal(rs[0], want) {
		t.Errorf("roles update printed %v, want %v", rs, want)
	}
	active := decode[openapi.AccountList](t, s, "accounts", "list", "--environment", "production")
	if len(active.Items) != 1 || active.Items[0].Slot != 1 {
		t.Errorf("active accounts after shrinking to 1: %+v, want only slot 1", active.Items)
	}
	retired := rows(t, mustOK(t, s.cli(t, s.Reader, "accounts", "list", "--status", "retired")).Stdout)
	if len(retired) != 2 {
		t.Fatalf("accounts list --status retired shows %d rows, want 2: %v", len(retired), retired)
	}
	for _, r := range retired {
		if r[4] != "retired" {
			t.Errorf("row %v is not retired", r)
		}
	}
	if ids := accountIDs(t, s, "--include-retired"); len(ids) != 3 {
		t.Errorf("--include-retired lists %d accounts, want 3", len(ids))
	}
}

func TestCLIRoleFlags(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	mustOK(t, s.cli(t, s.Admin, "environments", "create", "staging", "--email-domain", "qa2.example.test"))
	mustOK(t, s.cli(t, s.Admin, "roles", "create", "staging", "admin", "--description", "store admin",
		"--attribute", "plan=pro,annual", "--attribute", "region=eu", "--isolation", "leaderboards=hidden,search=testers_only"))

	r := decode[openapi.Role](t, s, "roles", "get", "staging", "admin")
	if r.PoolSize != 1 || r.Description != "store admin" || r.Attributes["plan"] != "pro,annual" || r.Attributes["region"] != "eu" ||
		r.IsolationPolicy["leaderboards"] != openapi.Hidden || r.IsolationPolicy["search"] != openapi.TestersOnly {
		t.Fatalf("created role: %+v", r)
	}
	out := mustOK(t, s.cli(t, s.Reader, "roles", "get", "staging", "admin")).Stdout
	for _, want := range []string{"plan=pro,annual, region=eu", "leaderboards=hidden, search=testers_only", "store admin"} {
		if !strings.Contains(out, want) {
			t.Errorf("roles get does not show %q:\n%s", want, out)
		}
	}

	// An update sends only the flags given; a map flag replaces the map.
	mustOK(t, s.cli(t, s.Admin, "roles", "update", "staging", "admin", "--attribute", "tier=gold"))
	r = decode[openapi.Role](t, s, "roles", "get", "staging", "admin")
	if r.Description != "store admin" || len(r.Attributes) != 1 || r.Attributes["tier"] != "gold" || len(r.IsolationPolicy) != 2 {
		t.Errorf("after --attribute tier=gold: %+v", r)
	}
	mustOK(t, s.cli(t, s.Admin, "roles", "update", "staging", "admin", "--isolation=", "--description", ""))
	r = decode[openapi.Role](t, s, "roles", "get", "staging", "admin")
	if r.Description != "" || len(r.IsolationPolicy) != 0 || r.Attributes["tier"] != "gold" {
		t.Errorf("after clearing isolation and description: %+v", r)
	}

	list := rows(t, mustOK(t, s.cli(t, s.Reader, "roles", "list", "staging")).Stdout)
	if want := []string{"staging", "admin", "1"}; len(list) != 1 || !slices.Equal(list[0], want) {
		t.Errorf("roles list = %v, want %v", list, want)
	}
	if out := mustOK(t, s.cli(t, s.Admin, "roles", "delete", "staging", "admin")).Stdout; out != "deleted role admin of environment staging\n" {
		t.Errorf("roles delete printed %q", out)
	}
	mustFail(t, s.cli(t, s.Reader, "roles", "get", "staging", "admin"), exitNotFound)
	if ids := accountIDs(t, s, "--status", "retired"); len(ids) != 1 {
		t.Errorf("deleting the role retired %d accounts, want 1", len(ids))
	}
}

func TestCLIAccountsGetAndRetire(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	a := decode[openapi.AccountList](t, s, "accounts", "list").Items[0]

	out := mustOK(t, s.cli(t, s.Reader, "accounts", "get", a.Id)).Stdout
	id := a.Identity
	for _, want := range []string{a.Id, id.DisplayName, id.Username, id.Email, id.Phone, id.Address.Street + ", " + id.Address.City,
		id.BirthDate.String(), id.Locale, id.TimeZone, string(a.Status)} {
		if !strings.Contains(out, want) {
			t.Errorf("accounts get does not show %q:\n%s", want, out)
		}
	}

	out = mustOK(t, s.cli(t, s.Admin, "accounts", "retire", a.Id)).Stdout
	if !strings.Contains(out, "retired account "+a.Id) {
		t.Errorf("accounts retire printed %q", out)
	}
	if got := decode[openapi.Account](t, s, "accounts", "get", a.Id); got.Status != openapi.AccountStatusRetired || got.RetiredAt == nil {
		t.Errorf("retired account: status %s, retired at %v", got.Status, got.RetiredAt)
	}
	next := decode[openapi.AccountList](t, s, "accounts", "list").Items
	if len(next) != 1 || next[0].Id == a.Id || next[0].Slot != a.Slot || next[0].Generation != a.Generation+1 {
		t.Errorf("after retiring, active accounts are %+v: want a new account in slot %d", next, a.Slot)
	}
}

func TestCLIAccountsListPages(t *testing.T) {
	t.Parallel()
	s := withRole(t, "3")

	res := mustOK(t, s.cli(t, s.Reader, "accounts", "list", "--limit", "2"))
	if rs := rows(t, res.Stdout); len(rs) != 2 || rs[0][3] != "1" || rs[1][3] != "2" {
		t.Errorf("--limit 2 shows %v, want slots 1 and 2", rs)
	}
	if !strings.Contains(res.Stderr, "--offset 2") {
		t.Errorf("--limit 2 does not say how to get the next page: %q", res.Stderr)
	}
	page := decode[openapi.AccountList](t, s, "accounts", "list", "--limit", "2", "--offset", "2")
	if len(page.Items) != 1 || page.Items[0].Slot != 3 || page.NextOffset != nil {
		t.Errorf("--limit 2 --offset 2: %+v", page)
	}
}

// TestCLIAccountsListAll needs more accounts than the server's page of 100
// to prove that accounts list follows next_offset.
func TestCLIAccountsListAll(t *testing.T) {
	t.Parallel()
	s := withRole(t, "100")
	mustOK(t, s.cli(t, s.Admin, "roles", "create", "production", "seller", "--pool", "2"))

	ids := accountIDs(t, s)
	if len(ids) != 102 || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 102 {
		t.Errorf("accounts list -o json gives %d accounts, want 102 distinct", len(ids))
	}
	if rs := rows(t, mustOK(t, s.cli(t, s.Reader, "accounts", "list")).Stdout); len(rs) != 102 {
		t.Errorf("accounts list shows %d rows, want 102", len(rs))
	}
}

func TestCLIAuditList(t *testing.T) {
	t.Parallel()
	s := withRole(t, "2")

	rs := rows(t, mustOK(t, s.cli(t, s.Reader, "audit", "list")).Stdout)
	count := map[string]int{}
	for _, r := range rs { // ID AT(date time) ACTOR ACTION TARGET REQUEST-ID
		if len(r) != 7 {
			t.Fatalf("audit row %v: want 7 fields", r)
		}
		if r[4] == "role.create" || r[4] == "account.create" {
			count[r[4]]++
			if r[3] != "test-admin" {
				t.Errorf("%s by %s, want test-admin", r[4], r[3])
			}
		}
	}
	if count["role.create"] != 1 || count["account.create"] != 2 {
		t.Errorf("audit list counts %v, want 1 role.create and 2 account.create", count)
	}

	events := decode[openapi.AuditEventList](t, s, "audit", "list", "--action", "account.create", "--limit", "1")
	if len(events.Items) != 1 || events.Items[0].Action != "account.create" || events.Items[0].TargetType != "account" {
		t.Fatalf("--action account.create --limit 1: %+v", events.Items)
	}
	e := events.Items[0]
	byTarget := rows(t, mustOK(t, s.cli(t, s.Reader, "audit", "list", "--target-type", "account", "--target-id", e.TargetId)).Stdout)
	if len(byTarget) != 1 || byTarget[0][5] != "account/"+e.TargetId || byTarget[0][6] != e.RequestId {
		t.Errorf("--target-id %s: %v", e.TargetId, byTarget)
	}
	byRequest := decode[openapi.AuditEventList](t, s, "audit", "list", "--request-id", e.RequestId)
	if len(byRequest.Items) != 3 { // the role and its two accounts, in one request
		t.Errorf("--request-id %s gives %d events, want 3", e.RequestId, len(byRequest.Items))
	}
}
