package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/snapshot"
)

// Reset restores every app of the account to a named state (the baseline
// when state is ""), verified by hash. On success a failed account is ready
// again; on failure the account is marked failed with the app and the
// reason, and it is not leased until a reset succeeds.
// Errors: ENOTFOUND, ECONFLICT (retired, leased, not provisioned yet, no such
// state), EUNAVAILABLE (an app is down or slow), EINTERNAL (the app broke
// its contract); each names the app.
func (s *Service) Reset(ctx context.Context, accountID, state string) (Account, error) {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return Account{}, err
	}
	switch a.Status {
	case StatusRetired, StatusPending, StatusProvisioning:
		return Account{}, understudy.Errorf(understudy.ECONFLICT, "account %s is %s; only a ready or failed account can be reset", a.ID, a.Status)
	case StatusLeased:
		return Account{}, understudy.Errorf(understudy.ECONFLICT, "account %s is leased; release the lease (optionally with reset) instead", a.ID)
	}
	if _, err := s.resetApps(ctx, a.ID, state); err != nil {
		return Account{}, err
	}
	err = s.db.QueryRow(ctx, readyAfterResetSQL, a.ID).Scan(&a.Status, &a.StatusReason, &a.UpdatedAt)
	if err != nil {
		return Account{}, pgdb.Translate(err, "account "+a.ID+" changed during its reset", "")
	}
	s.audit(ctx, "account.reset", a.ID, map[string]any{"state": stateOrBaseline(state)})
	return a, nil
}

const readyAfterResetSQL = `
UPDATE accounts SET status = 'ready', status_reason = '', updated_at = now()
WHERE id = $1 AND status IN ('ready', 'failed') RETURNING status, status_reason, updated_at`

// resetApps restores the account's apps, and marks the account failed if
// that fails. It returns the account's refs.
func (s *Service) resetApps(ctx context.Context, accountID, state string) ([]snapshot.AppRef, error) {
	state = stateOrBaseline(state)
	refs, err := s.completeRefs(ctx, accountID)
	if err != nil || len(refs) == 0 {
		return refs, err // no app holds state for this account
	}
	ctx = providers.WithRequestID(ctx, access.CallerFrom(ctx).RequestID)
	err = s.snaps.Reset(ctx, accountID, state, refs, s.appTimeout)
	if err == nil {
		return refs, nil
	}
	if understudy.ErrorCode(err) == understudy.ENOTFOUND {
		return nil, understudy.Errorf(understudy.ECONFLICT, "%s", understudy.ErrorMessage(err))
	}
	reason := fmt.Sprintf("reset to %s failed: %v", state, err)
	if _, dberr := s.db.Exec(ctx, setStatusSQL, accountID, StatusFailed, reason, []Status{StatusReady, StatusFailed, StatusLeased}); dberr != nil {
		s.logger.ErrorContext(ctx, "marking an account failed", "account", accountID, "error", dberr)
	}
	s.audit(ctx, "account.reset_failed", accountID, map[string]any{"state": state, "reason": reason})
	return nil, resetError(accountID, err)
}

// resetError turns an apps error into the contract: EUNAVAILABLE when an
// app was down or slow, EINTERNAL otherwise; the message names each app.
func resetError(accountID string, err error) error {
	code := understudy.EINTERNAL
	if errors.Is(err, providers.ErrUnavailable) {
		code = understudy.EUNAVAILABLE
	}
	return errors.Join(understudy.Errorf(code, "account %s is now failed: %v", accountID, err), err)
}

// CaptureState snapshots every app of the account as the next version of
// state. Errors: ECONFLICT (not provisioned), EUNAVAILABLE/EINTERNAL naming
// the app.
func (s *Service) CaptureState(ctx context.Context, accountID, state string) ([]snapshot.Snapshot, error) {
	if !stateRE.MatchString(state) {
		return nil, understudy.Invalid("invalid state", understudy.FieldError{Field: "state", Detail: "must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter"})
	}
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if a.Status == StatusRetired || a.Status == StatusPending || a.Status == StatusProvisioning {
		return nil, understudy.Errorf(understudy.ECONFLICT, "account %s is %s; its state cannot be captured", a.ID, a.Status)
	}
	refs, err := s.completeRefs(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, understudy.Errorf(understudy.ECONFLICT, "account %s is in no app; attach an app to environment %s first", a.ID, a.Environment)
	}
	ctx = providers.WithRequestID(ctx, access.CallerFrom(ctx).RequestID)
	snaps, err := s.snaps.Capture(ctx, a.ID, state, refs, s.appTimeout)
	if err != nil {
		return nil, resetError(a.ID, err)
	}
	s.audit(ctx, "account.capture_state", a.ID, map[string]any{"state": state, "version": snaps[0].Version})
	return snaps, nil
}

// Snapshots lists an account's snapshots. Errors: ENOTFOUND.
func (s *Service) Snapshots(ctx context.Context, accountID, state string) ([]snapshot.Snapshot, error) {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return s.snaps.List(ctx, a.ID, state)
}

// SnapshotContent returns the JSON of the snapshot with hex hash h.
func (s *Service) SnapshotContent(ctx context.Context, h string) ([]byte, error) {
	return s.snaps.Content(ctx, h)
}

func stateOrBaseline(state string) string {
	if state == "" {
		return snapshot.Baseline
	}
	return state
}

// audit records an event outside a transaction of its own (background work
// and calls to apps are not transactional); a failure to record is logged.
func (s *Service) audit(ctx context.Context, action, accountID string, details map[string]any) {
	err := access.Record(ctx, s.db, access.Event{Action: action, TargetType: "account", TargetID: accountID, Details: details})
	if err != nil {
		s.logger.ErrorContext(ctx, "recording an audit event", "action", action, "error", err)
	}
}
