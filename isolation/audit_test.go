package isolation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/providers"
)

// results indexes a report's results by surface (the stack has one app).
func results(rep isolation.Report) map[string]isolation.SurfaceResult {
	out := map[string]isolation.SurfaceResult{}
	for _, r := range rep.Results {
		out[r.Surface] = r
	}
	return out
}

// TestAuditOpensUpdatesAndClosesViolations audits a fake app that shows a
// hidden buyer on its leaderboard, an allowed one in search, and answers
// garbage for its feed: one violation, one clean pass, one failure; then
// the leak is fixed and the next audit closes the violation.
func TestAuditOpensUpdatesAndClosesViolations(t *testing.T) {
	t.Parallel()
	st := domaintest.New(t, dbtest.Tx(t), 2)
	if _, err := st.Accounts.UpdateRole(st.Ctx, "production", "buyer", accounts.RoleChange{IsolationPolicy: map[string]accounts.Visibility{"search": accounts.Allowed}}); err != nil {
		t.Fatal(err)
	}
	accts, err := st.Accounts.ListAccounts(st.Ctx, accounts.AccountFilter{Environment: "production"})
	if err != nil || len(accts) != 2 {
		t.Fatalf("accounts: %v %d", err, len(accts))
	}
	leaked, _ := st.App.Ref(accts[0].ID)
	other, _ := st.App.Ref(accts[1].ID)
	real := st.App.AddRealUser()
	st.App.SetSurface("leaderboards", []string{real, leaked, leaked}, nil)
	st.App.SetSurface("search", []string{other, real}, nil)
	st.App.SetSurface("social_feed", nil, providers.ErrProtocol)

	clock := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	svc, err := isolation.New(isolation.Config{DB: st.DB, Keyring: testKeyring(t), Apps: st.Apps, Accounts: st.Accounts, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Audit(st.Ctx, "production")
	if err != nil {
		t.Fatal(err)
	}
	rs := results(rep)
	if rep.Opened != 1 || rep.Open != 1 || rep.Closed != 0 || rep.Failed != 1 || len(rep.Results) != len(accounts.BuiltinSurfaces) {
		t.Fatalf("report = %+v", rep)
	}
	if r := rs["leaderboards"]; r.Status != isolation.StatusViolations || r.Seen != 3 || r.Violations != 1 {
		t.Errorf("leaderboards = %+v", r)
	}
	if r := rs["search"]; r.Status != isolation.StatusClean || r.Seen != 2 {
		t.Errorf("search = %+v", r)
	}
	if r := rs["social_feed"]; r.Status != isolation.StatusFailed || r.Error == "" {
		t.Errorf("social_feed = %+v", r)
	}
	if r := rs["reviews"]; r.Status != isolation.StatusNotShown {
		t.Errorf("reviews = %+v", r)
	}
	open, err := svc.ListViolations(st.Ctx, isolation.ViolationFilter{Environment: "production", Open: new(true)})
	if err != nil || len(open) != 1 {
		t.Fatalf("open violations: %v %+v", err, open)
	}
	v := open[0]
	if v.App != "chirp" || v.Surface != "leaderboards" || v.AccountID != accts[0].ID || v.Role != "buyer" || v.Ref != leaked ||
		v.Visibility != accounts.Hidden || v.Evidence.Position != 1 || v.Evidence.Seen != 3 || v.Evidence.RequestID != domaintest.RequestID ||
		!v.FirstSeenAt.Equal(clock) || !v.LastSeenAt.Equal(clock) || !v.Open() {
		t.Fatalf("violation = %+v", v)
	}
	var failures int
	if err := st.DB.QueryRow(st.Ctx, `SELECT count(*) FROM isolation_audit_failures WHERE surface = 'social_feed'`).Scan(&failures); err != nil || failures != 1 {
		t.Fatalf("audit failures: %d %v", failures, err)
	}

	// Seen again: the same violation, seen later.
	clock = clock.Add(time.Hour)
	if rep, err = svc.Audit(st.Ctx, "production"); err != nil || rep.Opened != 0 || rep.Open != 1 {
		t.Fatalf("second audit: %v %+v", err, rep)
	}
	again, _ := svc.ListViolations(st.Ctx, isolation.ViolationFilter{Environment: "production"})
	if len(again) != 1 || again[0].ID != v.ID || !again[0].FirstSeenAt.Equal(v.FirstSeenAt) || !again[0].LastSeenAt.Equal(clock) {
		t.Fatalf("after the second audit: %+v", again)
	}

	// The leak is fixed, the feed answers: the violation closes, the failure clears.
	st.App.SetSurface("leaderboards", []string{real}, nil)
	st.App.SetSurface("social_feed", []string{}, nil)
	clock = clock.Add(time.Hour)
	if rep, err = svc.Audit(st.Ctx, "production"); err != nil || rep.Closed != 1 || rep.Open != 0 || rep.Failed != 0 {
		t.Fatalf("third audit: %v %+v", err, rep)
	}
	closed, _ := svc.ListViolations(st.Ctx, isolation.ViolationFilter{Open: new(false)})
	if len(closed) != 1 || closed[0].ID != v.ID || closed[0].ClosedAt == nil || !closed[0].ClosedAt.Equal(clock) {
		t.Fatalf("closed violations: %+v", closed)
	}
	if err := st.DB.QueryRow(st.Ctx, `SELECT count(*) FROM isolation_audit_failures`).Scan(&failures); err != nil || failures != 0 {
		t.Fatalf("audit failures after a clean read: %d %v", failures, err)
	}
	var events int
	if err := st.DB.QueryRow(st.Ctx, `SELECT count(*) FROM audit_events WHERE action IN ('isolation.violation_opened', 'isolation.violation_closed', 'isolation.audit')`).Scan(&events); err != nil || events != 5 {
		t.Fatalf("audit events: %d %v", events, err)
	}
	counts, err := svc.OpenCounts(st.Ctx)
	if err != nil || len(counts) != 0 {
		t.Fatalf("open counts: %v %+v", err, counts)
	}
}

// TestAuditQuarantines leaks the only buyer on a hidden surface: the audit
// opens a violation and the lease is refused with the reason; a role that
// does not quarantine leases it; once the leak is fixed, the next audit
// closes the violation and the account is leased again.
func TestAuditQuarantines(t *testing.T) {
	t.Parallel()
	st := domaintest.New(t, dbtest.Tx(t), 1)
	accts, err := st.Accounts.ListAccounts(st.Ctx, accounts.AccountFilter{Environment: "production"})
	if err != nil || len(accts) != 1 {
		t.Fatalf("accounts: %v %d", err, len(accts))
	}
	ref, _ := st.App.Ref(accts[0].ID)
	st.App.SetSurface("leaderboards", []string{ref}, nil)
	svc, err := isolation.New(isolation.Config{DB: st.DB, Keyring: testKeyring(t), Apps: st.Apps, Accounts: st.Accounts})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := svc.Audit(st.Ctx, "production"); err != nil || rep.Opened != 1 {
		t.Fatalf("audit: %v %+v", err, rep)
	}
	quarantining := func() (n int) {
		t.Helper()
		if err := st.DB.QueryRow(st.Ctx, `SELECT count(*) FROM `+isolation.QuarantineView+` WHERE account_id = $1 AND surface = 'leaderboards'`, accts[0].ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := quarantining(); n != 1 {
		t.Fatalf("%s holds %d violations of the account, want 1", isolation.QuarantineView, n)
	}
	_, err = st.Leases.Acquire(st.Ctx, lease.Request{Environment: "production", Role: "buyer", Holder: "ci", TTL: time.Minute})
	e := domaintest.WantCode(t, err, understudy.ECONFLICT)
	if !strings.Contains(e.Message, "quarantined by isolation violations") || !strings.Contains(e.Message, "hidden surface leaderboards of app chirp") {
		t.Fatalf("busy error = %q", e.Message)
	}
	// A role that does not quarantine leases it.
	if _, err := st.Accounts.UpdateRole(st.Ctx, "production", "buyer", accounts.RoleChange{QuarantineOnViolation: new(false)}); err != nil {
		t.Fatal(err)
	}
	g := st.Lease(t, "ci")
	if _, err := st.Leases.Release(st.Ctx, g.Lease.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Accounts.UpdateRole(st.Ctx, "production", "buyer", accounts.RoleChange{QuarantineOnViolation: new(true)}); err != nil {
		t.Fatal(err)
	}
	st.App.SetSurface("leaderboards", []string{}, nil)
	if rep, err := svc.Audit(st.Ctx, "production"); err != nil || rep.Closed != 1 {
		t.Fatalf("audit after the fix: %v %+v", err, rep)
	}
	if n := quarantining(); n != 0 {
		t.Fatalf("%s holds %d violations of the account after the fix, want 0", isolation.QuarantineView, n)
	}
	st.Lease(t, "ci")
}
