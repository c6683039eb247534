package run

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The runs of a window of time grouped by flow: what a chart of outcomes
// over time draws, one chart per flow.

// Bounds of a chart.
const (
	// MaxChartFlows is the most flows one Chart returns.
	MaxChartFlows = 50
	// MaxChartMarks is the most runs of one flow one Chart returns.
	MaxChartMarks = 500
	// MaxChartScan is the most runs of a window Chart reads, the newest:
	// a window that holds more is counted from those alone.
	MaxChartScan = MaxChartFlows * MaxChartMarks
)

// ChartFilter selects the runs of a chart; empty fields but the window
// match everything.
type ChartFilter struct {
	Environment string
	Flow        string
	// Outcome is one of the four outcomes, or "" for any (none included).
	Outcome Outcome
	// Since and Until bound when the runs' leases were acquired:
	// Since <= acquired_at < Until. Both are required.
	Since, Until time.Time
	// MaxFlows bounds the flows returned, those whose newest run is the
	// newest: 1 to MaxChartFlows. Defaults to MaxChartFlows.
	MaxFlows int
	// MaxMarks bounds the runs returned of each flow, the newest: 1 to
	// MaxChartMarks. Defaults to MaxChartMarks.
	MaxMarks int
}

// Mark is one run as a chart draws it.
type Mark struct {
	LeaseID     string
	Environment string
	Role        string
	AcquiredAt  time.Time
	// Outcome is "" for a run without one yet.
	Outcome Outcome
	Test    string
	Version string
}

// Series is the runs of one flow in a chart's window.
type Series struct {
	// Flow is the flow's name; "" for the runs that named none.
	Flow string
	// Runs counts the flow's runs in the window (among the MaxChartScan
	// newest).
	Runs int
	// Marks are the newest of them, at most MaxMarks, newest first.
	Marks []Mark
}

// Chart is the runs of a window by flow.
type Chart struct {
	// Series are the flows kept, by name, the runs that named none last.
	Series []Series
	// Flows counts the window's flows: more than len(Series) when
	// MaxFlows left some out.
	Flows int
	// Scanned counts the runs read; when it is MaxChartScan, the window
	// may hold more, which were not counted.
	Scanned int
}

// chartSQL reads the newest runs of a window (at most $6, in the order
// of the index leases_acquired), groups them by flow, keeps the $7 flows
// whose newest run is the newest, and returns the $8 newest runs of each,
// with each flow's count, the count of flows and of the runs read.
const chartSQL = `WITH w AS (
  SELECT l.id, l.acquired_at, rd.environment, rd.name AS role, coalesce(x.flow, '') AS flow, coalesce(x.outcome, '') AS outcome,
         coalesce(x.test, '') AS test, coalesce(x.version, '') AS version` + runFrom + `
  WHERE ($1 = '' OR rd.environment = $1) AND ($2 = '' OR x.flow = $2) AND ($3 = '' OR x.outcome = $3)
    AND l.acquired_at >= $4 AND l.acquired_at < $5
  ORDER BY l.acquired_at DESC, l.id DESC LIMIT $6
), f AS (
  SELECT flow, count(*) AS runs, max(acquired_at) AS newest FROM w GROUP BY flow
), kept AS (
  SELECT flow, runs FROM f ORDER BY newest DESC, flow LIMIT $7
), ranked AS (
  SELECT w.*, kept.runs, row_number() OVER (PARTITION BY w.flow ORDER BY w.acquired_at DESC, w.id DESC) AS n FROM w JOIN kept USING (flow)
)
SELECT flow, runs, (SELECT count(*) FROM f), (SELECT count(*) FROM w), id::text, environment, role, acquired_at, outcome, test, version
FROM ranked WHERE n <= $8 ORDER BY flow = '', flow, acquired_at DESC, id DESC`

// chartRow is one row of chartSQL.
type chartRow struct {
	flow         string
	runs         int
	flows, reads int
	mark         Mark
}

func scanChartRow(row pgx.Row, r *chartRow) error {
	m := &r.mark
	return row.Scan(&r.flow, &r.runs, &r.flows, &r.reads, &m.LeaseID, &m.Environment, &m.Role, &m.AcquiredAt, &m.Outcome, &m.Test, &m.Version)
}

// Chart returns the runs whose leases were acquired in the window of f, by
// flow: every flow's count and its newest runs, in one statement that
// reads at most MaxChartScan runs. Errors: EINVALID (a window missing or
// empty, an outcome or a bound out of range).
func (s *Service) Chart(ctx context.Context, f ChartFilter) (Chart, error) {
	if f.MaxFlows == 0 {
		f.MaxFlows = MaxChartFlows
	}
	if f.MaxMarks == 0 {
		f.MaxMarks = MaxChartMarks
	}
	var bad []understudy.FieldError
	if f.Since.IsZero() || f.Until.IsZero() || !f.Since.Before(f.Until) {
		bad = append(bad, understudy.FieldError{Field: "until", Detail: "since and until are required, until after since"})
	}
	if f.Outcome != "" && !f.Outcome.Valid() {
		bad = append(bad, understudy.FieldError{Field: "outcome", Detail: "must be passed, failed, errored or abandoned"})
	}
	if f.MaxFlows < 1 || f.MaxFlows > MaxChartFlows {
		bad = append(bad, understudy.FieldError{Field: "max_flows", Detail: "must be from 1 to " + strconv.Itoa(MaxChartFlows)})
	}
	if f.MaxMarks < 1 || f.MaxMarks > MaxChartMarks {
		bad = append(bad, understudy.FieldError{Field: "max_marks", Detail: "must be from 1 to " + strconv.Itoa(MaxChartMarks)})
	}
	if len(bad) > 0 {
		return Chart{}, understudy.Invalid("invalid chart", bad...)
	}
	rows, err := pgdb.QueryAll(ctx, s.db, scanChartRow, chartSQL, f.Environment, f.Flow, string(f.Outcome), f.Since, f.Until,
		MaxChartScan, f.MaxFlows, f.MaxMarks)
	if err != nil {
		return Chart{}, err
	}
	var c Chart
	for i, r := range rows {
		c.Flows, c.Scanned = r.flows, r.reads
		if i == 0 || rows[i-1].flow != r.flow {
			c.Series = append(c.Series, Series{Flow: r.flow, Runs: r.runs})
		}
		last := &c.Series[len(c.Series)-1]
		last.Marks = append(last.Marks, r.mark)
	}
	return c, nil
}
