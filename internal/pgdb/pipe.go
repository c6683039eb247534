package pgdb

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Pipe is a transaction whose BEGIN rides in the first batch it sends and
// whose COMMIT rides in the last, with the reads that follow the commit:
// on a pool, a transaction of two batches costs two round trips, where
// pgx.BeginFunc spends four (BEGIN, the batches, COMMIT). On any other DB
// (a test's pgx.Tx) it is a nested transaction, begun and committed with
// round trips of their own, with the same outcome: in both, an error of a
// callback of the commit's batch (a scan) does not stop the COMMIT, and
// Committed tells whether it committed whatever Commit returns.
//
// A Pipe is used by one goroutine: BeginPipe, Send (any number of times),
// Commit, and End, deferred, which rolls back whatever was not committed
// and gives the connection back.
type Pipe struct {
	conn      *pgxpool.Conn // on a pool
	db        DB            // on anything else: db, and tx begun on it
	tx        pgx.Tx
	begun     bool
	committed bool
}

// BeginPipe starts a pipelined transaction on db. Nothing is sent yet on
// a pool: the BEGIN goes with the first batch.
func BeginPipe(ctx context.Context, db DB) (*Pipe, error) {
	if pool, ok := db.(*pgxpool.Pool); ok {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return nil, Translate(err, "", "")
		}
		return &Pipe{conn: c}, nil
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, Translate(err, "", "")
	}
	return &Pipe{db: db, tx: tx}, nil
}

// Send sends b in the transaction, in one round trip, and returns the
// first error as pgx tells it (translate it with Translate, which can name
// the conflict); after an error the transaction can only be ended.
func (p *Pipe) Send(ctx context.Context, b *pgx.Batch) error {
	if p.tx != nil {
		return p.tx.SendBatch(ctx, b).Close()
	}
	p.begin(b)
	return p.conn.SendBatch(ctx, b).Close()
}

// Commit sends b, the COMMIT, then after's statements (nil for none: they
// run once the transaction has committed, as a batch sent on its own
// would), in one round trip, and returns the first error. A statement of
// b that fails in the database fails the transaction, which does not
// commit; an error of b's callbacks does not stop the COMMIT, nor does one
// of after's statements, which run after it: an error does not say that
// nothing committed, Committed does. Errors are as Send returns them.
func (p *Pipe) Commit(ctx context.Context, b, after *pgx.Batch) error {
	if b == nil {
		b = &pgx.Batch{}
	}
	first := deferErrors(b)
	if p.tx != nil {
		err := p.tx.SendBatch(ctx, b).Close()
		if p.tx.Conn().PgConn().TxStatus() == 'E' {
			// A statement failed: the transaction is lost, and End rolls
			// it back.
			return cmp.Or(*first, err, errRolledBack)
		}
		if cerr := p.tx.Commit(ctx); cerr == nil {
			p.committed = true
		} else {
			err = errors.Join(err, cerr)
		}
		if p.committed && after != nil && after.Len() > 0 {
			err = errors.Join(err, sendAlone(ctx, p.db, after))
		}
		return cmp.Or(*first, err)
	}
	p.begin(b)
	b.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() != "COMMIT" {
			return errRolledBack
		}
		p.committed = true
		return nil
	})
	if after != nil {
		b.QueuedQueries = append(b.QueuedQueries, after.QueuedQueries...)
	}
	err := p.conn.SendBatch(ctx, b).Close()
	return cmp.Or(*first, err)
}

// sendAlone sends b in a transaction of its own on db (nested, on a
// test's transaction), so that a failed statement of b fails b alone, as
// the statements after a pipe's COMMIT do on a pool.
func sendAlone(ctx context.Context, db DB, b *pgx.Batch) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return errors.Join(err, tx.Rollback(context.WithoutCancel(ctx)))
	}
	return tx.Commit(ctx)
}

// Committed reports whether the transaction committed: after Commit, also
// when it returned an error of a callback or of the statements after the
// COMMIT.
func (p *Pipe) Committed() bool { return p.committed }

// deferErrors makes each callback of b record its error instead of
// returning it, so that pgx runs the ones after it (the COMMIT's among
// them), and returns where the first is kept.
func deferErrors(b *pgx.Batch) *error {
	first := new(error)
	for _, q := range b.QueuedQueries {
		if fn := q.Fn; fn != nil {
			q.Fn = func(br pgx.BatchResults) error {
				if err := fn(br); err != nil && *first == nil {
					*first = err
				}
				return nil
			}
		}
	}
	return first
}

// End rolls back what was not committed and gives the connection back.
// It is safe to call more than once.
func (p *Pipe) End(ctx context.Context) {
	if p.tx != nil {
		if !p.committed {
			_ = p.tx.Rollback(context.WithoutCancel(ctx))
		}
		p.tx, p.db = nil, nil
		return
	}
	if p.conn == nil {
		return
	}
	if p.conn.Conn().PgConn().TxStatus() != 'I' {
		// Rolled back even if the caller gave up; a connection that cannot
		// say ROLLBACK is not idle, and the pool closes it on Release.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_, _ = p.conn.Exec(rctx, "ROLLBACK")
		cancel()
	}
	p.conn.Release()
	p.conn = nil
}

// begin puts the BEGIN in front of b, the first time.
func (p *Pipe) begin(b *pgx.Batch) {
	if p.begun {
		return
	}
	p.begun = true
	b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: "BEGIN"}}, b.QueuedQueries...)
}

// errRolledBack is what a COMMIT that answered ROLLBACK returns: the
// transaction had failed before it.
var errRolledBack = errors.New("the transaction was rolled back")
