package pgdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// A statement's now is the injected clock's time, and the database's when
// there is no clock or it tells the zero time.
func TestNowIsTheClockWithTheDatabaseAsFallback(t *testing.T) {
	tx := dbtest.Tx(t)
	fixed := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	var dbNow time.Time
	if err := tx.QueryRow(t.Context(), `SELECT now()`).Scan(&dbNow); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		clock func() time.Time
		want  time.Time
	}{
		"clock":      {func() time.Time { return fixed }, fixed},
		"no clock":   {nil, dbNow},
		"zero clock": {func() time.Time { return time.Time{} }, dbNow},
	} {
		var got time.Time
		if err := tx.QueryRow(t.Context(), `SELECT coalesce($1::timestamptz, now())`, pgdb.Now(c.clock)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(c.want) {
			t.Errorf("%s: now is %v, want %v", name, got, c.want)
		}
	}
}

// QueryMaybe answers a unique violation with the Conflict's message, and no
// row with found == false.
func TestQueryMaybeNamesTheConflict(t *testing.T) {
	tx := dbtest.Tx(t)
	ctx := t.Context()
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE pgdb_names (name text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	const insertSQL = `INSERT INTO pgdb_names (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING name`
	const insertStrictSQL = `INSERT INTO pgdb_names (name) VALUES ($1) RETURNING name`
	conflict := pgdb.Conflict{Message: "a name ada already exists"}
	name, found, err := pgdb.QueryMaybe(ctx, tx, pgdb.Scalar[string], conflict, insertSQL, "ada")
	if err != nil || !found || name != "ada" {
		t.Fatalf("first insert: %q %v %v", name, found, err)
	}
	if _, found, err := pgdb.QueryMaybe(ctx, tx, pgdb.Scalar[string], conflict, insertSQL, "ada"); err != nil || found {
		t.Fatalf("insert that does nothing: found %v, %v; want no row and no error", found, err)
	}
	_, _, err = pgdb.QueryMaybe(ctx, tx, pgdb.Scalar[string], conflict, insertStrictSQL, "ada")
	if understudy.ErrorCode(err) != understudy.ECONFLICT || understudy.ErrorMessage(err) != conflict.Message {
		t.Fatalf("duplicate: %v (%s), want ECONFLICT %q", err, understudy.ErrorCode(err), conflict.Message)
	}
}

// QueueMaybe is QueryMaybe in a batch: a row and no row side by side in
// one round trip; a statement that fails is the batch's error.
func TestQueueMaybeReadsARowOrNone(t *testing.T) {
	tx := dbtest.Tx(t)
	ctx := t.Context()
	b := &pgx.Batch{}
	one := pgdb.QueueMaybe(b, pgdb.Scalar[string], pgdb.Conflict{}, `SELECT $1::text`, "ada")
	none := pgdb.QueueMaybe(b, pgdb.Scalar[string], pgdb.Conflict{}, `SELECT 'x' WHERE false`)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	if name, found, err := one(); err != nil || !found || name != "ada" {
		t.Fatalf("a row: %q %v %v", name, found, err)
	}
	if _, found, err := none(); err != nil || found {
		t.Fatalf("no row: found %v, %v; want neither", found, err)
	}
	b = &pgx.Batch{}
	bad := pgdb.QueueMaybe(b, pgdb.Scalar[string], pgdb.Conflict{}, `SELECT 'not a uuid'::uuid::text`)
	if err := pgdb.SendBatch(ctx, tx, b); understudy.ErrorCode(err) != understudy.EINVALID {
		t.Fatalf("a failing statement: the batch says %v, want EINVALID", err)
	}
	if _, found, _ := bad(); found {
		t.Fatal("a failing statement: its result says found")
	}
}

// A transaction PostgreSQL picks as a deadlock's victim is run again, and
// one that fails otherwise is not.
func TestBeginRetryRunsADeadlockVictimAgain(t *testing.T) {
	pool := dbtest.NewPool(t)
	ctx := context.Background()
	runs := 0
	err := pgdb.BeginRetry(ctx, pool, func(tx pgx.Tx) error {
		runs++
		if runs == 1 {
			_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$`)
			return err
		}
		return nil
	})
	if err != nil || runs != 2 {
		t.Fatalf("BeginRetry = %v after %d runs, want nil after 2", err, runs)
	}
	runs = 0
	err = pgdb.BeginRetry(ctx, pool, func(tx pgx.Tx) error {
		runs++
		_, err := tx.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'no' USING ERRCODE = '22023'; END $$`)
		return err
	})
	if err == nil || runs != 1 {
		t.Fatalf("BeginRetry = %v after %d runs, want the error after 1", err, runs)
	}
}
