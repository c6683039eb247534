package tagging

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/accounts"
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
SELECT d.environment_id::text, d.name, r.outcome, count(*), sum(r.added), sum(r.removed), max(r.ended_at)
FROM sync_runs r JOIN destinations d ON d.id = r.destination_id
WHERE r.outcome <> 'running'
GROUP BY 1, 2, 3 ORDER BY 2, 3`

// RunStats sums the finished runs of every destination by outcome, read
// from the database, so every replica reports the same totals; ordered by
// environment name (read through accounts), destination name and outcome.
func (s *Service) RunStats(ctx context.Context) ([]RunStat, error) {
	type row struct {
		env, name string
		stat      RunStat
	}
	rows, err := pgdb.QueryAll(ctx, s.db, func(r pgx.Row, x *row) error {
		return r.Scan(&x.env, &x.name, &x.stat.Outcome, &x.stat.Runs, &x.stat.Added, &x.stat.Removed, &x.stat.LastEnded)
	}, runStatsSQL)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return []RunStat{}, nil
	}
	envIDs := make([]string, len(rows))
	for i, x := range rows {
		envIDs[i] = x.env
	}
	names, err := accounts.NamesOf(ctx, s.db, envIDs, nil)
	if err != nil {
		return nil, err
	}
	// SQL ordered by destination and outcome; keep that order within an
	// environment.
	slices.SortStableFunc(rows, func(a, b row) int { return names.EnvironmentRank[a.env] - names.EnvironmentRank[b.env] })
	out := make([]RunStat, len(rows))
	for i, x := range rows {
		out[i] = x.stat
		out[i].Destination = names.Environments[x.env] + "/" + x.name
	}
	return out, nil
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
