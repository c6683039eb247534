package spec_test

import (
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/spec"
)

// Every time an apply and a lock store is the injected clock's, not the
// database's: the plan's creation and end, the object's applied_at, the
// workspace's creation and last apply, and a lock taken by hand.
func TestTheSpecStoresTheTimesOfItsClock(t *testing.T) {
	db := dbtest.NewPool(t)
	st := domaintest.New(t, db, 1)
	ctx := access.WithCaller(st.Ctx, access.Caller{Actor: "admin-1", Scope: access.ScopeAdmin})
	kr, _ := secret.NewKeyring(make([]byte, secret.KeySize))
	at := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	s, err := spec.New(spec.Config{DB: db, Keyring: kr, Accounts: st.Accounts, Apps: st.Apps, LeasePoll: 20_000_000, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	d := spec.Desired{Environments: []spec.Environment{{Address: "environment.staging", Name: "staging", EmailDomains: []string{"qa.example.test"}}}}
	p, err := s.Plan(ctx, spec.PlanRequest{Workspace: "clock", Desired: d})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, p.ID, spec.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	var created, finished, applied time.Time
	if err := db.QueryRow(ctx, `SELECT created_at, finished_at FROM spec_plans WHERE id = $1`, p.ID).Scan(&created, &finished); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT applied_at FROM spec_objects WHERE workspace = 'clock' AND address = 'environment.staging'`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	w, err := s.Workspace(ctx, "clock")
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]*time.Time{"plan created_at": &created, "plan finished_at": &finished,
		"object applied_at": &applied, "workspace last_applied_at": w.LastAppliedAt, "workspace created_at": &w.CreatedAt} {
		if got == nil || !got.Equal(at) {
			t.Errorf("%s is %v, want the clock's %v", name, got, at)
		}
	}
	at = at.Add(time.Hour)
	w, err = s.LockWorkspace(ctx, "clock", "ops", "maintenance")
	if err != nil {
		t.Fatal(err)
	}
	if w.Lock == nil || !w.Lock.Since.Equal(at) {
		t.Errorf("lock %+v, want one since the clock's %v", w.Lock, at)
	}
}
