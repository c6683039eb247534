package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/bench/internal/phase"
)

// The raw restore of phase (d): a hand-written restore of one chirp user's
// baseline, as one transaction sent as one batch (BEGIN, the batch,
// COMMIT: three round trips) that deletes all of the user's rows and
// inserts the baseline's, without the provider's bookkeeping (its
// timeouts, the checks on the state) and without Understudy's (the lease,
// the snapshot read, the verification by re-snapshot). It is the baseline
// issue 3 names, and stays delete-and-insert-everything on purpose: the
// postgres provider now writes only the rows that differ, and this phase
// says what the naive transaction costs.
const (
	rawLockSQL = `SELECT u.is_synthetic, u.understudy_account_id FROM users AS u WHERE u.id = $1 FOR UPDATE OF u`
	// rawUpdateUserSQL sets the columns a restore sets: all but the key,
	// the marker and the owner.
	rawUpdateUserSQL = `UPDATE users AS u SET (username, email, display_name, created_at) =
	(SELECT r.username, r.email, r.display_name, r.created_at FROM json_populate_record(NULL::users, $2::json) AS r)
WHERE u.id = $1`
	rawDeleteTemplate = `DELETE FROM %[1]s AS t WHERE t.%[2]s = $1`
	rawInsertTemplate = `INSERT INTO %[1]s SELECT r.* FROM json_populate_recordset(NULL::%[1]s, $1::json) AS r WHERE r.%[2]s = $2`
)

// rawStatements are the per-table statements of the raw restore, in
// chirpTables order; the names come from that list, quoted.
type rawStatements struct{ deletes, inserts []string }

func buildRawStatements() rawStatements {
	var s rawStatements
	for _, t := range chirpTables {
		table, col := pgx.Identifier{t.table}.Sanitize(), pgx.Identifier{t.userColumn}.Sanitize()
		s.deletes = append(s.deletes, fmt.Sprintf(rawDeleteTemplate, table, col))
		s.inserts = append(s.inserts, fmt.Sprintf(rawInsertTemplate, table, col))
	}
	return s
}

// rawRestore changes one chirp user, then restores its baseline with the
// raw transaction: the steps use and restore.
type rawRestore struct {
	pool *pgxpool.Pool
	sql  rawStatements
	b    baseline
	use  func(ctx context.Context, ref int64) error
}

// Do runs one change and one restore.
func (c *rawRestore) Do(ctx context.Context, steps *phase.Steps) error {
	if err := steps.Time("use", func() error { return c.use(ctx, c.b.ref) }); err != nil {
		return err
	}
	return steps.Time("restore", func() error { return c.restore(ctx) })
}

// restore locks the user row, deletes the user's rows in reverse table
// order, inserts the baseline's in table order and updates the user row,
// checking every count.
func (c *rawRestore) restore(ctx context.Context) error {
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		ref := c.b.ref
		b := &pgx.Batch{}
		b.Queue(rawLockSQL, ref)
		for i := len(chirpTables) - 1; i >= 0; i-- {
			b.Queue(c.sql.deletes[i], ref)
		}
		var inserted []string // tables, in the order of their inserts
		for i, t := range chirpTables {
			if c.b.counts[t.table] > 0 {
				b.Queue(c.sql.inserts[i], string(c.b.tables[t.table]), ref)
				inserted = append(inserted, t.table)
			}
		}
		b.Queue(rawUpdateUserSQL, ref, string(c.b.user))
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		var synthetic bool
		var owner *string
		if err := br.QueryRow().Scan(&synthetic, &owner); err != nil || !synthetic {
			return fmt.Errorf("locking user %d: synthetic %v: %v", ref, synthetic, err)
		}
		for range chirpTables {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("deleting the rows of user %d: %w", ref, err)
			}
		}
		for _, table := range inserted {
			tag, err := br.Exec()
			if err != nil || tag.RowsAffected() != int64(c.b.counts[table]) {
				return fmt.Errorf("restoring %s of user %d: %d rows, want %d: %v", table, ref, tag.RowsAffected(), c.b.counts[table], err)
			}
		}
		if tag, err := br.Exec(); err != nil || tag.RowsAffected() != 1 {
			return fmt.Errorf("updating user %d: %d rows: %v", ref, tag.RowsAffected(), err)
		}
		return br.Close()
	})
}
