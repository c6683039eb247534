package pgdb

import (
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
// round trips of their own, with the same outcome.
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
// would), in one round trip. A transaction that failed does not commit:
// the error says so. Errors are as Send returns them.
func (p *Pipe) Commit(ctx context.Context, b, after *pgx.Batch) error {
	if b == nil {
		b = &pgx.Batch{}
	}
	if p.tx != nil {
		if err := p.tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if err := p.tx.Commit(ctx); err != nil {
			return err
		}
		p.committed = true
		if after == nil || after.Len() == 0 {
			return nil
		}
		return p.db.SendBatch(ctx, after).Close()
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
	return p.conn.SendBatch(ctx, b).Close()
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
