package snapshot

import (
	"context"

	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The read models of lists of many accounts (the console's accounts table
// and overview): the last reset of each account of a page, asked for by
// the page's account ids, so the list's own query (accounts.Pages) reads
// only accounts.

const lastResetsSQL = `
SELECT account_id::text, state, started_at, duration_ms, ok, verified, failed_app, reason
FROM account_resets WHERE account_id = ANY($1::uuid[])`

// LastResets returns the last reset of each of the accounts ids that was
// ever reset, by account id.
func (s *Service) LastResets(ctx context.Context, ids []string) (map[string]Reset, error) {
	list, err := pgdb.QueryAll(ctx, s.db, ScanReset, lastResetsSQL, ids)
	out := make(map[string]Reset, len(list))
	for _, r := range list {
		out[r.AccountID] = r
	}
	return out, err
}
