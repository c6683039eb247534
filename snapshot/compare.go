package snapshot

import (
	"context"
	"errors"

	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/providers"
)

// AppDiff is what differs, in one app, between an account's state now and
// a named state.
type AppDiff struct {
	App string `json:"app"`
	// Hash is the hex SHA-256 of the app's state now.
	Hash    string   `json:"hash,omitempty"`
	Changes []Change `json:"changes"`
	// Error says why the app's state could not be read or compared; the
	// other apps are compared all the same.
	Error string `json:"error,omitempty"`
}

// Compare snapshots every app of the account now, in parallel, each within
// the app timeout, and diffs each with the newest version of state (the
// baseline when state is ""). Nothing is recorded: it is a read. An app
// that is down or has no such state has its Error set.
// Errors: ENOTFOUND, and the database's.
func (s *Service) Compare(ctx context.Context, accountID, state string) ([]AppDiff, error) {
	a, err := s.accounts.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	refs, _, err := s.apps.LiveRefs(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	want, err := s.store.latest(ctx, a.ID, StateOrBaseline(state))
	if err != nil {
		return nil, err
	}
	out := make([]AppDiff, len(refs))
	err = eachApp(ctx, "comparing with "+StateOrBaseline(state), refs, s.appTimeout, func(ctx context.Context, i int, r apps.LiveRef) error {
		out[i].App = r.AppName
		now, err := r.App.Snapshot(ctx, providers.Target{Ref: r.Ref, AccountID: a.ID})
		if err != nil {
			return err
		}
		c, err := Canonical(now)
		if err != nil {
			return err
		}
		out[i].Hash = HashOf(c).String()
		h, ok := want[r.AppID]
		if !ok {
			out[i].Error = "no snapshot of state " + StateOrBaseline(state) + " in this app"
			return nil
		}
		before, err := s.store.blob(ctx, h)
		if err != nil {
			return err
		}
		out[i].Changes, err = Diff(before, c)
		return err
	})
	if ae, ok := errors.AsType[*AppsError](err); ok {
		for _, f := range ae.Failures {
			for i := range out {
				if refs[i].AppName == f.App {
					out[i].App, out[i].Error = f.App, f.Err.Error()
				}
			}
		}
	} else if err != nil {
		return nil, err
	}
	return out, nil
}
