package main

import (
	"testing"

	"github.com/understudy-dev/understudy/openapi"
)

// environments create/update take the inbox settings (a retention in
// days or as a duration), roles create/update the patterns, and each bad
// value is refused naming its field, or as a usage error before any call.
func TestCLIInboxSettings(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	e := decode[openapi.Environment](t, s, "environments", "create", "staging", "--email-domain", "qa.example.test",
		"--inbox-retention", "3d", "--inbox-max-messages", "50")
	if e.InboxRetentionSeconds != 259200 || e.InboxMaxMessages != 50 {
		t.Fatalf("created %+v", e)
	}
	e = decode[openapi.Environment](t, s, "environments", "update", "staging", "--inbox-retention", "36h")
	if e.InboxRetentionSeconds != 129600 || e.InboxMaxMessages != 50 || len(e.EmailDomains) != 1 {
		t.Fatalf("updated %+v", e)
	}
	res := mustOK(t, s.cli(t, s.Admin, "environments", "get", "staging"))
	if r := rows(t, res.Stdout); len(r) != 1 || r[0][len(r[0])-3] != "36h0m0s" || r[0][len(r[0])-2] != "50" {
		t.Errorf("table %q", res.Stdout)
	}
	r := decode[openapi.Role](t, s, "roles", "update", "production", "buyer", "--code-pattern", `code: (\d{6})`, "--link-pattern", "/magic/")
	if r.CodePattern == nil || *r.CodePattern != `code: (\d{6})` || r.LinkPattern == nil || *r.LinkPattern != "/magic/" {
		t.Fatalf("role %+v", r)
	}
	r = decode[openapi.Role](t, s, "roles", "update", "production", "buyer", "--code-pattern=")
	if r.CodePattern != nil || r.LinkPattern == nil {
		t.Fatalf("role after clearing the code pattern %+v", r)
	}
	for _, tc := range []struct {
		argv []string
		code int
		want string
	}{
		{[]string{"environments", "update", "staging", "--inbox-retention", "30m"}, exitInvalid, "inbox_retention_seconds"},
		{[]string{"environments", "update", "staging", "--inbox-retention", "400d"}, exitInvalid, "inbox_retention_seconds"},
		{[]string{"environments", "update", "staging", "--inbox-max-messages", "0"}, exitInvalid, "inbox_max_messages"},
		{[]string{"environments", "create", "qa", "--email-domain", "qa.example.test", "--inbox-max-messages", "10001"}, exitInvalid, "inbox_max_messages"},
		{[]string{"environments", "update", "staging", "--inbox-retention", "a week"}, exitUsage, "--inbox-retention"},
		{[]string{"roles", "update", "production", "buyer", "--code-pattern", `(\d+)-(\d+)`}, exitInvalid, "code_pattern"},
		{[]string{"roles", "create", "production", "seller", "--link-pattern", `x*`}, exitInvalid, "link_pattern"},
		{[]string{"roles", "update", "production", "buyer", "--code-pattern", `(\d+`}, exitInvalid, "code_pattern"},
	} {
		mustFail(t, s.cli(t, s.Admin, tc.argv...), tc.code, tc.want)
	}
}
