package tagging

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/internal/pgdb"
)

// RunStat sums the finished runs of one destination with one outcome.
type RunStat struct {
	// Destination is "environment/name".
	Destination string
	Outcome     string
	Runs        int64
	// Added and Removed sum the distinct ids the runs sent.
	Added, Removed int64
	// LastEnded is when the latest of the runs ended.
	LastEnded time.Time
}

const runStatsSQL = `
SELECT e.name || '/' || d.name, r.outcome, count(*), sum(r.added), sum(r.removed), max(r.ended_at)
FROM sync_runs r JOIN destinations d ON d.id = r.destination_id JOIN environments e ON e.id = d.environment_id
WHERE r.outcome <> 'running'
GROUP BY 1, 2 ORDER BY 1, 2`

// RunStats sums the finished runs of every destination by outcome, read
// from the database, so every replica reports the same totals.
func (s *Service) RunStats(ctx context.Context) ([]RunStat, error) {
	return pgdb.QueryAll(ctx, s.db, func(r pgx.Row, x *RunStat) error {
		return r.Scan(&x.Destination, &x.Outcome, &x.Runs, &x.Added, &x.Removed, &x.LastEnded)
	}, runStatsSQL)
}

// Lists describes the exclusion list of every environment, by name; an
// environment that never had an account has an empty list at version 0.
func (x *Exclusions) Lists(ctx context.Context) ([]List, error) {
	heads, err := readHeads(ctx, x.db)
	out := make([]List, len(heads))
	for i, h := range heads {
		out[i] = h.List
	}
	return out, err
}
