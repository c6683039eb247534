package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// The COPY baseline (issue 20): the rows the first apply wrote for its
// accounts, written again with COPY into a second scratch database
// migrated by the same binary. The floor of writing those rows: the apply
// is held to a multiple of it.
//
// The tables are those the apply writes for an account: accounts (every
// column), exclusions (its three identifiers, written by a trigger on
// accounts) and audit_events (its account.create event). The rows they
// refer to (the environment, its roles, its exclusion list's head) are
// copied first and not timed. The copy's triggers on accounts are
// disabled, as its exclusions are copied as rows; its indexes,
// constraints and foreign keys are all there, as in the apply's database.

// copyTable is one table of the baseline: the rows selected from the
// apply's database, and whether their COPY is timed.
type copyTable struct {
	table  string // the target, with its columns where not all
	source string // a SELECT of the same columns, $ENV the environment's name
	timed  bool
}

// copyTables are copied in this order (the referenced rows first).
var copyTables = []copyTable{
	{"environments", `SELECT * FROM environments WHERE name = '$ENV'`, false},
	{"roles", `SELECT * FROM roles WHERE environment_id = (SELECT id FROM environments WHERE name = '$ENV')`, false},
	{"exclusion_lists", `SELECT * FROM exclusion_lists WHERE environment_id = (SELECT id FROM environments WHERE name = '$ENV')`, false},
	{"accounts", `SELECT * FROM accounts WHERE environment_id = (SELECT id FROM environments WHERE name = '$ENV')`, true},
	{"exclusions", `SELECT * FROM exclusions WHERE environment_id = (SELECT id FROM environments WHERE name = '$ENV')
		AND kind IN ('account_id', 'email', 'username')`, true},
	{"audit_events (at, actor, action, target_type, target_id, request_id, details)",
		`SELECT at, actor, action, target_type, target_id, request_id, details FROM audit_events
		WHERE action = 'account.create' AND target_type = 'account'
		  AND target_id::uuid IN (SELECT id FROM accounts WHERE environment_id = (SELECT id FROM environments WHERE name = '$ENV'))`, true},
}

// CopyBaseline is the COPY of the apply's rows, round by round.
type CopyBaseline struct {
	// Rows is how many rows each round writes, by table.
	Rows map[string]int64 `json:"rows"`
	// Rounds are the wall clock of each round: one transaction, the COPY
	// of each timed table, the commit.
	Rounds []phase.Latency `json:"rounds_ms"`
}

// Median is the rounds' nearest-rank median; 0 without rounds.
func (c CopyBaseline) Median() phase.Latency {
	if len(c.Rounds) == 0 {
		return 0
	}
	v := make([]time.Duration, len(c.Rounds))
	for i, r := range c.Rounds {
		v[i] = time.Duration(r)
	}
	slices.Sort(v)
	return phase.Percentile(v, 0.5)
}

// copier holds the second scratch database, migrated at setup.
type copier struct {
	db  *stack.Scratch
	bin string
}

// newCopier creates and migrates the second scratch database.
func newCopier(ctx context.Context, adminURL, bin string) (*copier, error) {
	db, err := stack.CreateScratch(ctx, adminURL)
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "migrate", "up", "--database-url", db.URL)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, errors.Join(fmt.Errorf("migrating the COPY baseline's database: %w: %s", err, strings.TrimSpace(stderr.String())), db.Drop())
	}
	return &copier{db: db, bin: bin}, nil
}

// measure reads env's rows from the apply's database srcURL, then copies
// them rounds times into the copier's database, emptying the timed tables
// between rounds (not timed).
func (c *copier) measure(ctx context.Context, srcURL, env string, rounds int) (CopyBaseline, error) {
	out := CopyBaseline{Rows: map[string]int64{}}
	src, err := pgx.Connect(ctx, srcURL)
	if err != nil {
		return out, err
	}
	defer src.Close(context.WithoutCancel(ctx))
	data := make([][]byte, len(copyTables))
	for i, t := range copyTables {
		var buf bytes.Buffer
		tag, err := src.PgConn().CopyTo(ctx, &buf, "COPY ("+strings.ReplaceAll(t.source, "$ENV", env)+") TO STDOUT")
		if err != nil {
			return out, fmt.Errorf("reading %s: %w", t.table, err)
		}
		data[i] = buf.Bytes()
		if t.timed {
			out.Rows[tableName(t.table)] = tag.RowsAffected()
		}
	}
	dst, err := pgx.Connect(ctx, c.db.URL)
	if err != nil {
		return out, err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	if _, err := dst.Exec(ctx, `ALTER TABLE accounts DISABLE TRIGGER USER`); err != nil {
		return out, err
	}
	for i, t := range copyTables {
		if !t.timed {
			if _, err := dst.PgConn().CopyFrom(ctx, bytes.NewReader(data[i]), "COPY "+t.table+" FROM STDIN"); err != nil {
				return out, fmt.Errorf("copying %s: %w", t.table, err)
			}
		}
	}
	for range rounds {
		if _, err := dst.Exec(ctx, `TRUNCATE accounts, exclusions, audit_events CASCADE`); err != nil {
			return out, err
		}
		start := time.Now()
		err := pgx.BeginFunc(ctx, dst, func(tx pgx.Tx) error {
			for i, t := range copyTables {
				if t.timed {
					if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data[i]), "COPY "+t.table+" FROM STDIN"); err != nil {
						return fmt.Errorf("copying %s: %w", t.table, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		out.Rounds = append(out.Rounds, phase.Latency(time.Since(start)))
	}
	return out, nil
}

// tableName is the table of a COPY target, without its columns.
func tableName(target string) string {
	name, _, _ := strings.Cut(target, " ")
	return name
}

// close drops the copier's database.
func (c *copier) close() error { return c.db.Drop() }
