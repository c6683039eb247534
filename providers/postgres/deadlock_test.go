package postgres_test

import (
	"sync"
	"testing"

	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/providertest"
)

// Two synthetic users who follow each other are restored at the same time,
// many times: each restore's foreign-key checks need a share lock on the
// other user's row, which the row lock a restore takes must not block.
func TestConcurrentRestoresOfUsersWhoFollowEachOtherDoNotDeadlock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	var targets [2]providers.Target
	var states [2]providers.State
	for i := range targets {
		acct := providertest.NewAccount(t)
		provisioned, err := e.provider.Provision(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		ref := provisioned.Ref
		targets[i] = providers.Target{Ref: ref, AccountID: acct.ID}
	}
	a, b := refID(t, targets[0].Ref), refID(t, targets[1].Ref)
	if err := e.chirp.Follow(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	if err := e.chirp.Follow(ctx, b, a); err != nil {
		t.Fatal(err)
	}
	for i, tg := range targets {
		s, err := e.provider.Snapshot(ctx, tg)
		if err != nil {
			t.Fatal(err)
		}
		states[i] = s
	}
	for round := range 25 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range targets {
			wg.Go(func() { errs[i] = e.provider.Restore(ctx, targets[i], states[i]) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, user %d: %v", round, i, err)
			}
		}
	}
}
