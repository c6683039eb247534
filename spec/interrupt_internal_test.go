package spec

import (
	"context"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/secret"
)

func newInternal(t *testing.T) (*Service, context.Context) {
	t.Helper()
	db := dbtest.NewPool(t)
	st := domaintest.New(t, db, 1)
	kr, _ := secret.NewKeyring(make([]byte, secret.KeySize))
	s, err := New(Config{DB: db, Keyring: kr, Accounts: st.Accounts, Apps: st.Apps})
	if err != nil {
		t.Fatal(err)
	}
	return s, access.WithCaller(st.Ctx, access.Caller{Actor: "admin-1", Scope: access.ScopeAdmin})
}

func threeObjects() Desired {
	one, two := 1, 2
	return Desired{
		Environments: []Environment{{Address: "environment.staging", Name: "staging", EmailDomains: []string{"qa.example.test"}}},
		Roles: []Role{{Address: "role.a", Environment: "staging", Name: "a", PoolSize: &one},
			{Address: "role.b", Environment: "staging", Name: "b", PoolSize: &two}},
	}
}

// TestAnApplyKilledMidwayLeavesExactlyTheRestToPlan stops an apply as a
// dying server would: after the environment, and after role a was created
// but before the workspace recorded it as applied.
func TestAnApplyKilledMidwayLeavesExactlyTheRestToPlan(t *testing.T) {
	t.Parallel()
	s, ctx := newInternal(t)
	req := PlanRequest{Workspace: "default", Mode: ModeNormal, Desired: threeObjects()}
	pl, err := s.compute(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.cfg.DB.Exec(ctx, ensureWorkspaceSQL, "default", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.change(ctx, "default", pl.steps[0], ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	a := pl.steps[1]
	if a.Address != "role.a" {
		t.Fatalf("second step %s", a.Address)
	}
	if err := s.recordObject(ctx, "default", a, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.create(ctx, a); err != nil {
		t.Fatal(err)
	}
	// The server dies here. The next plan:
	next, err := s.Plan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, c := range next.Changes {
		if c.Action != NoOp {
			left = append(left, c.Address+" "+string(c.Action))
		}
	}
	if strings.Join(left, ",") != "role.b create" {
		t.Fatalf("left to apply: %v", left)
	}
	if _, err := s.Apply(ctx, next.ID, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.Plan(ctx, req); last.HasChanges() {
		t.Fatalf("after the second apply: %+v", last.Summary)
	}
}

func TestASecondApplyOnTheWorkspaceIsRefusedNamingTheFirst(t *testing.T) {
	t.Parallel()
	s, ctx := newInternal(t)
	p, err := s.Plan(ctx, PlanRequest{Desired: threeObjects()})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.lockForApply(ctx, "default", "ci run 41", "00000000-0000-0000-0000-000000000041")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Apply(ctx, p.ID, ApplyOptions{})
	e := domaintest.WantCode(t, err, understudy.ECONFLICT)
	if !strings.Contains(e.Message, "ci run 41 has been applying plan 00000000-0000-0000-0000-000000000041") {
		t.Fatalf("second apply: %v", e)
	}
	if _, err := s.UnlockWorkspace(ctx, "default"); understudy.ErrorCode(err) != understudy.ECONFLICT {
		t.Fatalf("force-unlock of a running apply: %v", err)
	}
	w, _ := s.Workspace(ctx, "default")
	if w.Lock == nil || w.Lock.Holder != "ci run 41" {
		t.Fatalf("workspace lock %+v", w.Lock)
	}
	first.release(ctx, s)
	if _, err := s.Apply(ctx, p.ID, ApplyOptions{}); err != nil {
		t.Fatalf("apply after the first ended: %v", err)
	}
}
