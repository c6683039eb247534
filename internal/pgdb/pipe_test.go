package pgdb_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// A Pipe commits what its batches wrote, with the reads queued after the
// commit in the same round trip; a failed statement, or an End without a
// Commit, leaves nothing. On a pool and, nested, on a test's transaction.
func TestPipeCommitsAllOrNothing(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `CREATE TABLE pipe_test (k text PRIMARY KEY, n int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for name, db := range map[string]pgdb.DB{"pool": pool, "tx": dbtest.Tx(t)} {
		if name == "tx" {
			if _, err := db.Exec(ctx, `CREATE TEMP TABLE pipe_test (k text PRIMARY KEY, n int NOT NULL)`); err != nil {
				t.Fatal(err)
			}
		}
		count := func(k string) int {
			var n int
			if err := db.QueryRow(ctx, `SELECT count(*) FROM pipe_test WHERE k = $1`, k).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// Committed: two batches, then a read after the commit.
		p, err := pgdb.BeginPipe(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO pipe_test VALUES ('a', 1) RETURNING n`).QueryRow(func(r pgx.Row) error { return r.Scan(&got) })
		if err := p.Send(ctx, b); err != nil || got != 1 {
			t.Fatalf("%s: first batch: %v, %d", name, err, got)
		}
		b, after := &pgx.Batch{}, &pgx.Batch{}
		b.Queue(`INSERT INTO pipe_test VALUES ('b', 2)`)
		var seen int
		after.Queue(`SELECT count(*) FROM pipe_test WHERE k IN ('a', 'b')`).QueryRow(func(r pgx.Row) error { return r.Scan(&seen) })
		if err := p.Commit(ctx, b, after); err != nil || seen != 2 {
			t.Fatalf("%s: commit: %v, %d rows seen after it", name, err, seen)
		}
		p.End(ctx)
		if count("a") != 1 || count("b") != 1 {
			t.Errorf("%s: the committed rows are not there", name)
		}

		// A failed statement: nothing of the transaction stays.
		p, err = pgdb.BeginPipe(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		b = &pgx.Batch{}
		b.Queue(`INSERT INTO pipe_test VALUES ('c', 3)`)
		if err := p.Send(ctx, b); err != nil {
			t.Fatal(err)
		}
		b = &pgx.Batch{}
		b.Queue(`INSERT INTO pipe_test VALUES ('a', 4)`) // a duplicate key
		if err := p.Commit(ctx, b, nil); err == nil {
			t.Errorf("%s: a commit after a duplicate key succeeded", name)
		}
		if p.Committed() {
			t.Errorf("%s: a transaction with a duplicate key says it committed", name)
		}
		p.End(ctx)
		if count("c") != 0 {
			t.Errorf("%s: a failed transaction left its first row", name)
		}

		// A callback's error, or a failed read after the COMMIT: the
		// transaction commits all the same, and Committed says so.
		for _, c := range []struct {
			what string
			k    string
			fail func(b, after *pgx.Batch)
		}{
			{"a callback's error", "e", func(b, _ *pgx.Batch) {
				b.Queue(`SELECT 1`).QueryRow(func(pgx.Row) error { return errScan })
			}},
			{"a read after the commit", "f", func(_, after *pgx.Batch) {
				after.Queue(`SELECT 1 / 0`)
			}},
		} {
			p, err = pgdb.BeginPipe(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			b, after = &pgx.Batch{}, &pgx.Batch{}
			b.Queue(`INSERT INTO pipe_test VALUES ($1, 6)`, c.k)
			c.fail(b, after)
			if err := p.Commit(ctx, b, after); err == nil || !p.Committed() {
				t.Errorf("%s, %s: Commit = %v, Committed = %v; want the error, and committed", name, c.what, err, p.Committed())
			}
			p.End(ctx)
			if count(c.k) != 1 {
				t.Errorf("%s, %s: the committed row is not there", name, c.what)
			}
		}

		// No commit: End rolls back.
		p, err = pgdb.BeginPipe(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		b = &pgx.Batch{}
		b.Queue(`INSERT INTO pipe_test VALUES ('d', 5)`)
		if err := p.Send(ctx, b); err != nil {
			t.Fatal(err)
		}
		p.End(ctx)
		p.End(ctx)
		if count("d") != 0 {
			t.Errorf("%s: a transaction ended without a commit left its row", name)
		}
	}
	if s := pool.Stat(); s.AcquiredConns() != 0 {
		t.Errorf("%d connections still acquired", s.AcquiredConns())
	}
}

var errScan = errors.New("a callback failed")
