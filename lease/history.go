package lease

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/run"
)

// The read models of lease history: the ended leases (released, expired,
// failed), newest first, and one lease with all that is known of it.

// HistoryFilter narrows the lease history; empty fields match everything.
type HistoryFilter struct {
	Environment string
	Role        string
	// After is the cursor of the page to read, as History returned it; ""
	// is the first page.
	After string
	// Limit is the page size: 1 to 200. Defaults to 50.
	Limit int
}

// historySQL reads a page of ended leases in (ended_at, id) order, newest
// first, after a cursor, through the leases_history (or, for a role,
// leases_role_history) index: it starts at the cursor instead of counting
// past an offset.
const historySQL = `SELECT ` + leaseColumns + leaseFrom + `
WHERE l.ended_at IS NOT NULL AND ($1 = '' OR r.environment = $1) AND ($2 = '' OR r.name = $2)
  AND ($3::timestamptz IS NULL OR (l.ended_at, l.id) < ($3, $4::uuid))
ORDER BY l.ended_at DESC, l.id DESC LIMIT $5`

// History returns a page of the ended leases, newest first, and the cursor
// of the next page ("" on the last). Errors: EINVALID (a cursor that is
// not one of History's, a limit out of range).
func (s *Service) History(ctx context.Context, f HistoryFilter) ([]Lease, string, error) {
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > 200 {
		return nil, "", understudy.Invalid("invalid page", understudy.FieldError{Field: "limit", Detail: "must be from 1 to 200"})
	}
	at, id, err := decodeHistoryCursor(f.After)
	if err != nil {
		return nil, "", err
	}
	list, err := pgdb.QueryAll(ctx, s.db, scanLease, historySQL, f.Environment, f.Role, at, id, f.Limit+1)
	if err != nil || len(list) <= f.Limit {
		return list, "", err
	}
	last := list[f.Limit-1]
	return list[:f.Limit], encodeHistoryCursor(*last.EndedAt, last.ID), nil
}

// encodeHistoryCursor is the position after a lease that ended at t.
func encodeHistoryCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "," + id))
}

// decodeHistoryCursor reads a cursor of encodeHistoryCursor; "" is the
// first page (nil, nil).
func decodeHistoryCursor(c string) (*time.Time, *uuid.UUID, error) {
	if c == "" {
		return nil, nil, nil
	}
	bad := understudy.Invalid("invalid page", understudy.FieldError{Field: "after", Detail: "is not a page of the lease history: start from the first page"})
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, nil, bad
	}
	ts, rest, ok := strings.Cut(string(raw), ",")
	t, terr := time.Parse(time.RFC3339Nano, ts)
	id, ierr := uuid.Parse(rest)
	if !ok || terr != nil || ierr != nil {
		return nil, nil, bad
	}
	return &t, &id, nil
}

// Detail is one lease with what only its own page shows: the token that
// acquired it and the Idempotency-Key it was acquired with.
type Detail struct {
	Lease
	// TokenName names the token that acquired the lease.
	TokenName string
	// IdempotencyKey is the key the lease was acquired with, "" when there
	// was none (or it was forgotten: a retry of it may not replay).
	IdempotencyKey string
	// TTL is the lease's time to live, as acquired or last renewed.
	TTL time.Duration
}

const detailSQL = `SELECT ` + leaseColumns + `, coalesce(l.idempotency_key, ''), l.ttl_seconds` + leaseFrom + ` WHERE l.id = $1`

// Detail returns the lease with id and its details. Errors: ENOTFOUND.
func (s *Service) Detail(ctx context.Context, id string) (Detail, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return Detail{}, understudy.Errorf(understudy.ENOTFOUND, "no lease has id %s", id)
	}
	return pgdb.QueryOne(ctx, s.db, func(row pgx.Row, d *Detail) error {
		l := &d.Lease
		var ttl int
		var j run.Joined
		err := row.Scan(append(leaseTargets(l, &j), &d.IdempotencyKey, &ttl)...)
		l.Run = j.Record()
		d.TokenName, d.TTL = l.tokenName, time.Duration(ttl)*time.Second
		return err
	}, "no lease has id "+id, detailSQL, uid)
}
