package snapshot

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
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
	ev, err := s.Evidence(ctx, accountID, state)
	if err != nil {
		return nil, err
	}
	out := make([]AppDiff, len(ev))
	for i, e := range ev {
		out[i] = e.AppDiff
	}
	return out, nil
}

// AppEvidence is one app's state of an account now, with what differs
// from a named state: what a failed run's capture keeps (package run).
type AppEvidence struct {
	AppDiff
	AppID string `json:"app_id"`
	// Content is the app's state now, canonical JSON (nil when it could
	// not be read: Error says why).
	Content []byte `json:"-"`
	// Baseline is the hex hash of the version of the named state compared
	// with ("" when the app has none: Error says so).
	Baseline string `json:"baseline_hash,omitempty"`
	// ChangesTotal counts the changes; Changes keeps at most
	// MaxDiffChanges of them.
	ChangesTotal int `json:"changes_total"`
}

// Evidence is Compare with the states themselves: it snapshots every app
// of the account now, in parallel, each within the app timeout, and
// returns each app's canonical state, its hash, and its differences from
// the newest version of state (the baseline when state is ""). Nothing is
// recorded, and no app is provisioned: an app the account is missing
// from is not listed. An app that is down, answers outside its contract,
// or has no such state has its Error set; the others are read all the
// same. Errors: ENOTFOUND (the account), and the database's.
func (s *Service) Evidence(ctx context.Context, accountID, state string) ([]AppEvidence, error) {
	b := &pgx.Batch{}
	p := s.QueueEvidence(b, accountID, state)
	if p.bad {
		return p.Read(ctx)
	}
	if err := pgdb.SendBatch(ctx, s.db, b); err != nil {
		return nil, err
	}
	return p.Read(ctx)
}

// PendingEvidence is Evidence in steps, so that a caller sends the reads
// it needs (the account, its refs and the newest hashes of the state) in a
// batch of its own (QueueEvidence); once it is sent, Read reads the apps.
type PendingEvidence struct {
	s                *Service
	accountID, state string
	bad              bool // accountID is not a uuid: nothing was queued
	accountOf        func() (accounts.Account, error)
	refsOf           func(context.Context) ([]apps.LiveRef, int, error)
	wantOf           func() (map[string]Hash, error)
}

// QueueEvidence queues in b the reads Evidence makes of the account's
// state: one round trip, with whatever else b carries.
func (s *Service) QueueEvidence(b *pgx.Batch, accountID, state string) *PendingEvidence {
	p := &PendingEvidence{s: s, accountID: accountID, state: StateOrBaseline(state)}
	uid, err := uuid.Parse(accountID)
	if err != nil {
		p.bad = true
		return p
	}
	// The refs and hashes are read by the canonical id, as Evidence read
	// them by the account's own id once it had read the account: uuid.Parse
	// takes spellings ("urn:uuid:…") that PostgreSQL refuses, which would
	// fail the whole batch (EINVALID) instead of reading the account, or
	// answering ENOTFOUND.
	id := uid.String()
	p.accountOf = s.accounts.QueueGetAccount(b, accountID) // it parses the id itself; its ENOTFOUND names it as given
	p.refsOf = s.apps.QueueLiveRefs(b, id)
	p.wantOf = s.store.queueLatest(b, id, p.state)
	return p
}

// Read returns what Evidence does, from the reads QueueEvidence queued in
// a batch that has been sent.
func (p *PendingEvidence) Read(ctx context.Context) ([]AppEvidence, error) {
	if p.bad {
		return nil, understudy.Errorf(understudy.ENOTFOUND, "no account has id %s", p.accountID)
	}
	s, state := p.s, p.state
	a, err := p.accountOf()
	if err != nil {
		return nil, err
	}
	refs, _, err := p.refsOf(ctx)
	if err != nil {
		return nil, err
	}
	want, err := p.wantOf()
	if err != nil {
		return nil, err
	}
	out := make([]AppEvidence, len(refs))
	err = eachApp(ctx, "comparing with "+state, refs, s.appTimeout, func(ctx context.Context, i int, r apps.LiveRef) error {
		out[i].App, out[i].AppID = r.AppName, r.AppID
		now, err := r.App.Snapshot(ctx, providers.Target{Ref: r.Ref, AccountID: a.ID})
		if err != nil {
			return err
		}
		c, err := Canonical(now)
		if err != nil {
			return fmt.Errorf("%w: %v", providers.ErrProtocol, err)
		}
		hash := HashOf(c)
		out[i].Content, out[i].Hash = c, hash.String()
		h, ok := want[r.AppID]
		if !ok {
			out[i].Error = "no snapshot of state " + state + " in this app"
			return nil
		}
		out[i].Baseline = h.String()
		if hash == h {
			out[i].Changes = []Change{} // the same state: nothing to read or diff
			return nil
		}
		before, err := s.store.blob(ctx, h)
		if err != nil {
			return err
		}
		out[i].Changes, out[i].ChangesTotal, err = DiffN(before, c, MaxDiffChanges)
		return err
	})
	if ae, ok := errors.AsType[*AppsError](err); ok {
		for _, f := range ae.Failures {
			for i := range out {
				if refs[i].AppName == f.App {
					out[i].App, out[i].AppID, out[i].Error = f.App, refs[i].AppID, f.Err.Error()
				}
			}
		}
	} else if err != nil {
		return nil, err
	}
	return out, nil
}
