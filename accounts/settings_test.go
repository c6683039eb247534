package accounts_test

import (
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
)

// wantField fails unless err is EINVALID naming exactly field, with a
// detail holding each of details.
func wantField(t *testing.T, err error, field string, details ...string) {
	t.Helper()
	e := wantCode(t, err, understudy.EINVALID)
	if len(e.Fields) != 1 || e.Fields[0].Field != field {
		t.Fatalf("fields %+v; want only %s", e.Fields, field)
	}
	for _, d := range details {
		if !strings.Contains(e.Fields[0].Detail, d) {
			t.Errorf("%s: detail %q lacks %q", field, e.Fields[0].Detail, d)
		}
	}
}

// An environment takes the default inbox settings, and each bound of
// either is refused on create and on update with the field named.
func TestEnvironmentInboxSettingsAndTheirBounds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	e := f.env(t, "production")
	if e.InboxRetentionSeconds != 604800 || e.InboxMaxMessages != 200 {
		t.Fatalf("defaults: %+v", e)
	}
	for _, c := range []struct {
		retention, max int
		field, detail  string
	}{
		{3599, 200, "inbox_retention_seconds", "got 3599"},
		{31536001, 200, "inbox_retention_seconds", "got 31536001"},
		{-1, 200, "inbox_retention_seconds", "3600 (1h) to 31536000 (365d)"},
		{3600, -1, "inbox_max_messages", "got -1"},
		{3600, 10001, "inbox_max_messages", "from 1 to 10000; got 10001"},
	} {
		_, err := f.svc.CreateEnvironment(f.ctx, accounts.Environment{Name: "staging", EmailDomains: []string{"qa.example.test"},
			InboxRetentionSeconds: c.retention, InboxMaxMessages: c.max})
		wantField(t, err, c.field, c.detail)
		_, err = f.svc.UpdateEnvironment(f.ctx, "production", accounts.EnvironmentChange{InboxRetentionSeconds: &c.retention, InboxMaxMessages: &c.max})
		wantField(t, err, c.field, c.detail)
	}
	_, err := f.svc.UpdateEnvironment(f.ctx, "production", accounts.EnvironmentChange{InboxMaxMessages: new(0)})
	wantField(t, err, "inbox_max_messages", "got 0")

	// The bounds themselves are taken, and a change keeps what it leaves out.
	e, err = f.svc.UpdateEnvironment(f.ctx, "production", accounts.EnvironmentChange{InboxRetentionSeconds: new(3600), InboxMaxMessages: new(10000)})
	if err != nil || e.InboxRetentionSeconds != 3600 || e.InboxMaxMessages != 10000 || len(e.EmailDomains) != 1 {
		t.Fatalf("update to the bounds: %+v, %v", e, err)
	}
	e, err = f.svc.UpdateEnvironment(f.ctx, "production", accounts.EnvironmentChange{InboxMaxMessages: new(1)})
	if err != nil || e.InboxRetentionSeconds != 3600 || e.InboxMaxMessages != 1 {
		t.Fatalf("update of one setting: %+v, %v", e, err)
	}
	s, err := f.svc.CreateEnvironment(f.ctx, accounts.Environment{Name: "staging", EmailDomains: []string{"qa.example.test"}, InboxRetentionSeconds: 31536000, InboxMaxMessages: 1})
	if err != nil || s.InboxRetentionSeconds != 31536000 || s.InboxMaxMessages != 1 {
		t.Fatalf("create at the bounds: %+v, %v", s, err)
	}
	events, err := access.NewAudit(f.db).List(f.ctx, access.AuditFilter{Action: "environment.update"})
	if err != nil || len(events) != 2 {
		t.Fatalf("audit: %+v, %v", events, err)
	}
	d := events[0].Details
	if d["inbox_max_messages"] != float64(1) || d["previous_inbox_max_messages"] != float64(10000) || d["inbox_retention_seconds"] != float64(3600) {
		t.Errorf("audit details %v", d)
	}
}

// An environment keeps its runs' captures 30 days unless told otherwise;
// each bound is refused on create and on update with the field named and
// the range in words, the bounds themselves are taken, and the create and
// the update are audited with the retention (and the previous one).
func TestEnvironmentCaptureRetentionAndItsBounds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	e := f.env(t, "production")
	if e.CaptureRetentionSeconds != 2592000 {
		t.Fatalf("default: %+v", e)
	}
	for _, c := range []struct {
		retention int
		detail    string
	}{
		{3599, "got 3599"},
		{31536001, "got 31536001"},
		{-1, "must be from 3600 (1h) to 31536000 (365d) seconds; got -1"},
	} {
		_, err := f.svc.CreateEnvironment(f.ctx, accounts.Environment{Name: "staging", EmailDomains: []string{"qa.example.test"},
			CaptureRetentionSeconds: c.retention})
		wantField(t, err, "capture_retention_seconds", c.detail)
		_, err = f.svc.UpdateEnvironment(f.ctx, "production", accounts.EnvironmentChange{CaptureRetentionSeconds: &c.retention})
		wantField(t, err, "capture_retention_seconds", c.detail)
	}
	wantField(t, f.svc.Reconciler().CheckEnvironment(accounts.Environment{Name: "staging", EmailDomains: []string{"qa.example.test"},
		CaptureRetentionSeconds: 60}), "capture_retention_seconds", "got 60")

	e, err := f.svc.UpdateEnvironment(f.ctx, "production", accounts.EnvironmentChange{CaptureRetentionSeconds: new(3600)})
	if err != nil || e.CaptureRetentionSeconds != 3600 || e.InboxRetentionSeconds != 604800 || len(e.EmailDomains) != 1 {
		t.Fatalf("update to the lower bound: %+v, %v", e, err)
	}
	e, err = f.svc.UpdateEnvironment(f.ctx, "production", accounts.EnvironmentChange{InboxMaxMessages: new(5)})
	if err != nil || e.CaptureRetentionSeconds != 3600 || e.InboxMaxMessages != 5 {
		t.Fatalf("update of another setting: %+v, %v", e, err)
	}
	if got, err := f.svc.GetEnvironment(f.ctx, "production"); err != nil || got.CaptureRetentionSeconds != 3600 {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	s, err := f.svc.CreateEnvironment(f.ctx, accounts.Environment{Name: "staging", EmailDomains: []string{"qa.example.test"}, CaptureRetentionSeconds: 31536000})
	if err != nil || s.CaptureRetentionSeconds != 31536000 || s.InboxRetentionSeconds != 604800 {
		t.Fatalf("create at the upper bound: %+v, %v", s, err)
	}

	audit := access.NewAudit(f.db)
	created, err := audit.List(f.ctx, access.AuditFilter{Action: "environment.create"})
	if err != nil || len(created) != 2 {
		t.Fatalf("create audit: %+v, %v", created, err)
	}
	got := map[string]any{}
	for _, ev := range created {
		got[ev.TargetID] = ev.Details["capture_retention_seconds"]
	}
	if got["production"] != float64(2592000) || got["staging"] != float64(31536000) {
		t.Errorf("create audit retentions %v", got)
	}
	updated, err := audit.List(f.ctx, access.AuditFilter{Action: "environment.update"})
	if err != nil || len(updated) != 2 {
		t.Fatalf("update audit: %+v, %v", updated, err)
	}
	for _, ev := range updated {
		d := ev.Details
		switch d["inbox_max_messages"] {
		case float64(5): // the change of another setting keeps it
			if d["capture_retention_seconds"] != float64(3600) || d["previous_capture_retention_seconds"] != float64(3600) {
				t.Errorf("audit details of the inbox update %v", d)
			}
		default:
			if d["capture_retention_seconds"] != float64(3600) || d["previous_capture_retention_seconds"] != float64(2592000) {
				t.Errorf("audit details of the capture update %v", d)
			}
		}
	}
}

// A role's patterns are checked when written: each refusal names its
// field and says why; good patterns are stored, read back, audited and
// cleared with "".
func TestRolePatternsAreCheckedWhenWritten(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	f.env(t, "production")
	for _, c := range []struct {
		code, link    string
		field, detail string
	}{
		{code: `(\d{6}`, field: "code_pattern", detail: "missing closing )"},
		{code: `(?<=x)\d`, field: "code_pattern", detail: "not an RE2"},
		{code: `(\d{3})-(\d{3})`, field: "code_pattern", detail: "at most one capture group"},
		{code: `\d*`, field: "code_pattern", detail: "empty string"},
		{code: `code:|x`, field: "code_pattern", detail: ""},
		{code: `^`, field: "code_pattern", detail: "empty string"},
		{code: `code: (\d*)`, field: "code_pattern", detail: "capture group must not match the empty string"},
		{code: strings.Repeat("a", 201), field: "code_pattern", detail: "at most 200 bytes; got 201"},
		{code: `((((x{100}){100}){100}){100})`, field: "code_pattern", detail: ""},
		{link: `(a)?|b`, field: "link_pattern", detail: "empty string"},
		{link: `[z-a]`, field: "link_pattern", detail: "invalid character class range"},
	} {
		_, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{CodePattern: new(c.code), LinkPattern: new(c.link)})
		if c.code == `code:|x` { // matches "code:" or "x": no empty match, so it is taken
			if err != nil {
				t.Fatalf("%q: %v", c.code, err)
			}
			if err := f.svc.DeleteRole(f.ctx, "production", "buyer"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		wantField(t, err, c.field, c.detail)
	}
	// A link pattern may have several groups; only a code's group counts.
	r, err := f.svc.CreateRole(f.ctx, "production", "seller", accounts.RoleChange{
		CodePattern: new(`code: ([0-9]{6})`), LinkPattern: new(`/(magic|s)/(\w+)`)})
	if err != nil || r.CodePattern != `code: ([0-9]{6})` || r.LinkPattern != `/(magic|s)/(\w+)` {
		t.Fatalf("CreateRole: %+v, %v", r, err)
	}
	got, err := f.svc.GetRole(f.ctx, "production", "seller")
	if err != nil || got.CodePattern != r.CodePattern || got.LinkPattern != r.LinkPattern {
		t.Fatalf("GetRole: %+v, %v", got, err)
	}
	boxes, err := accounts.Mailboxes(f.ctx, f.db, []string{mustAccount(t, f, "seller").ID})
	if err != nil || len(boxes) != 1 {
		t.Fatalf("Mailboxes: %v, %v", boxes, err)
	}
	for _, b := range boxes {
		if b.CodePattern != r.CodePattern || b.LinkPattern != r.LinkPattern || b.MaxMessages != 200 {
			t.Errorf("mailbox %+v", b)
		}
	}
	r, err = f.svc.UpdateRole(f.ctx, "production", "seller", accounts.RoleChange{CodePattern: new("")})
	if err != nil || r.CodePattern != "" || r.LinkPattern == "" {
		t.Fatalf("clearing the code pattern: %+v, %v", r, err)
	}
	events, err := access.NewAudit(f.db).List(f.ctx, access.AuditFilter{Action: "role.update"})
	if err != nil || len(events) != 1 {
		t.Fatalf("audit: %+v, %v", events, err)
	}
	before, _ := events[0].Details["before"].(map[string]any)
	after, _ := events[0].Details["after"].(map[string]any)
	if before["code_pattern"] != `code: ([0-9]{6})` || after["code_pattern"] != nil || after["link_pattern"] != `/(magic|s)/(\w+)` {
		t.Errorf("audit details %v", events[0].Details)
	}
}

func mustAccount(t *testing.T, f fixture, role string) accounts.Account {
	t.Helper()
	list, err := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production", Role: role})
	if err != nil || len(list) == 0 {
		t.Fatalf("accounts of %s: %v, %v", role, list, err)
	}
	return list[0]
}

// ParseRetention reads days and Go durations, FormatRetention writes what
// it reads, and DescribeRetention writes a bound as people say it.
func TestParseAndFormatRetention(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "365d": 365 * 24 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute, " 1h ": time.Hour} {
		d, err := accounts.ParseRetention(in)
		if err != nil || d != want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", in, d, err, want)
		}
	}
	for _, in := range []string{"", "7", "d", "-1d", "+2d", "1.5d", "1d12h", "week", "99999999999d"} {
		if _, err := accounts.ParseRetention(in); err == nil {
			t.Errorf("ParseRetention(%q) took it", in)
		}
	}
	for secs, want := range map[int]string{604800: "7d", 3600: "1h0m0s", 5400: "1h30m0s", 31536000: "365d"} {
		if got := accounts.FormatRetention(secs); got != want {
			t.Errorf("FormatRetention(%d) = %q; want %q", secs, got, want)
		}
	}
	for d, want := range map[time.Duration]string{time.Hour: "1h", 36 * time.Hour: "36h", 30 * 24 * time.Hour: "30d", 90 * time.Minute: "1h30m0s", 0: "0s"} {
		if got := accounts.DescribeRetention(d); got != want {
			t.Errorf("DescribeRetention(%v) = %q; want %q", d, got, want)
		}
	}
}
