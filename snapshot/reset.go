package snapshot

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/tracing"
)

// restoreTo restores every app of the account to the newest version of
// state (want, by app id), in parallel, each within timeout, then snapshots
// each app again and checks that its content hash is the one restored. It
// returns ENOTFOUND when an app has no snapshot of state, and *AppsError
// naming every app whose restore or check failed.
func (s *Store) restoreTo(ctx context.Context, accountID, state string, refs []apps.LiveRef, want map[string]Hash, timeout time.Duration) error {
	var err error
	contents := make([][]byte, len(refs))
	for i, r := range refs {
		h, ok := want[r.AppID]
		if !ok {
			return understudy.Errorf(understudy.ENOTFOUND, "account %s has no state %q in app %s; capture it first", accountID, state, r.AppName)
		}
		if contents[i], err = s.blob(ctx, h); err != nil {
			return err
		}
	}
	return eachApp(ctx, "reset to "+state, refs, timeout, func(ctx context.Context, i int, r apps.LiveRef) (err error) {
		ctx, span := tracing.Start(ctx, "snapshot.restore", trace.WithAttributes(attrApp.String(r.AppName), attrAccount.String(accountID), attrState.String(state)))
		defer func() { failSpan(span, err); span.End() }()
		return s.restoreVerified(ctx, accountID, r, contents[i], want[r.AppID])
	})
}

// restoreVerified restores one app and checks the result by hash: the hash
// of a snapshot taken after the restore, in the restore's own transaction
// when the app can (providers.RestoreSnapshotter).
func (s *Store) restoreVerified(ctx context.Context, accountID string, r apps.LiveRef, content []byte, want Hash) error {
	t := providers.Target{Ref: r.Ref, AccountID: accountID}
	after, err := restoreSnapshot(ctx, r.App, t, content)
	if err != nil {
		return err
	}
	got, err := s.hashOf(after)
	if err != nil {
		return fmt.Errorf("%w: %v", providers.ErrProtocol, err)
	}
	if got != want {
		return fmt.Errorf("the state after the restore (%s) is not the state restored (%s)", got.String()[:12], want.String()[:12])
	}
	return nil
}

// restoreSnapshot restores t to content, then snapshots it: in one call
// when app can, else with Restore then Snapshot.
func restoreSnapshot(ctx context.Context, app providers.App, t providers.Target, content []byte) (providers.State, error) {
	if rs, ok := app.(providers.RestoreSnapshotter); ok {
		return rs.RestoreSnapshot(ctx, t, content)
	}
	if err := app.Restore(ctx, t, content); err != nil {
		return nil, err
	}
	after, err := app.Snapshot(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("snapshotting after the restore: %w", err)
	}
	return after, nil
}
