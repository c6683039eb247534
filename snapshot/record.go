package snapshot

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Reset is the record of an account's last reset, a lease's or an
// explicit one: what the console shows beside each account.
type Reset struct {
	AccountID string        `json:"account_id"`
	State     string        `json:"state"`
	StartedAt time.Time     `json:"started_at"`
	Duration  time.Duration `json:"duration"`
	// OK is whether every app was restored and verified.
	OK bool `json:"ok"`
	// Verified maps each app's name to the hex SHA-256 its state was
	// checked against after the restore; empty when the reset failed.
	Verified map[string]string `json:"verified"`
	// FailedApp names the first app the reset failed in, and Reason says
	// why; both empty when it succeeded.
	FailedApp string `json:"failed_app,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

const recordResetSQL = `
INSERT INTO account_resets (account_id, state, started_at, duration_ms, ok, verified, failed_app, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (account_id) DO UPDATE SET state = EXCLUDED.state, started_at = EXCLUDED.started_at,
    duration_ms = EXCLUDED.duration_ms, ok = EXCLUDED.ok, verified = EXCLUDED.verified,
    failed_app = EXCLUDED.failed_app, reason = EXCLUDED.reason`

// recordReset keeps r as the account's last reset. A failure to record is
// logged, not returned: the reset itself has happened (or failed) already.
func (s *Service) recordReset(ctx context.Context, r Reset) {
	b := &pgx.Batch{}
	queueRecord(b, r)
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		s.logger.ErrorContext(ctx, "recording a reset", "account", r.AccountID, "error", err)
	}
}

// queueRecord queues in b the statement that keeps r as the account's
// last reset.
func queueRecord(b *pgx.Batch, r Reset) {
	if r.Verified == nil {
		r.Verified = map[string]string{}
	}
	b.Queue(recordResetSQL, r.AccountID, r.State, r.StartedAt, r.Duration.Milliseconds(), r.OK,
		r.Verified, r.FailedApp, r.Reason)
}

const lastResetSQL = `
SELECT account_id::text, state, started_at, duration_ms, ok, verified, failed_app, reason
FROM account_resets WHERE account_id = $1`

// ScanReset reads a row of account_resets' columns, in the order
// lastResetSQL selects them, into r.
func ScanReset(row pgx.Row, r *Reset) error {
	var ms int64
	if err := row.Scan(&r.AccountID, &r.State, &r.StartedAt, &ms, &r.OK, &r.Verified, &r.FailedApp, &r.Reason); err != nil {
		return err
	}
	r.Duration = time.Duration(ms) * time.Millisecond
	return nil
}

// LastReset returns the account's last reset, and false when it was never
// reset.
func (s *Service) LastReset(ctx context.Context, accountID string) (Reset, bool, error) {
	return pgdb.QueryMaybe(ctx, s.db, ScanReset, pgdb.Conflict{}, lastResetSQL, accountID)
}

// verifiedOf maps each app's name to the hash its state was verified
// against.
func verifiedOf(refs []apps.LiveRef, want map[string]Hash) map[string]string {
	out := make(map[string]string, len(refs))
	for _, r := range refs {
		if h, ok := want[r.AppID]; ok {
			out[r.AppName] = hex.EncodeToString(h[:])
		}
	}
	return out
}

// failedApp names the first app that err (an *AppsError) says failed.
func failedApp(err error) string {
	if ae, ok := errors.AsType[*AppsError](err); ok && len(ae.Failures) > 0 {
		return ae.Failures[0].App
	}
	return ""
}
