package lease

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The read model of a list of many accounts (the console's accounts
// table): the open lease of each account of a page, asked for by the
// page's account ids, so the list's own query (accounts.Pages) reads only
// accounts.

// OpenLease is an account's open lease as a list of accounts shows it.
type OpenLease struct {
	ID        string
	AccountID string
	Holder    string
	ExpiresAt time.Time
}

// OpenLeaseView is this package's view of the open lease of each account
// (migration 000026): account_id, lease_id, through the unique index on
// open leases. Package accounts reads it, in the same statement as an
// account, by a name of its own (accounts.OpenLeaseView), since it cannot
// import this package.
const OpenLeaseView = "open_leases"

// openOnSQL reads the open leases of the accounts $1, through the unique
// index on open leases.
const openOnSQL = `
SELECT l.id::text, l.account_id::text, l.holder, l.expires_at FROM leases l
WHERE l.account_id = ANY($1::uuid[]) AND l.status IN ` + sqlOpen

// OpenLeases reads the open lease of each of the accounts ids that has
// one, by account id, through db: package accounts' Config.OpenLeases,
// for its members and its refusal to retire a leased account (in the
// transaction that locks them).
func OpenLeases(ctx context.Context, db pgdb.DB, ids []string) (map[string]accounts.OpenLease, error) {
	list, err := pgdb.QueryAll(ctx, db, func(r pgx.Row, x *OpenLease) error {
		return r.Scan(&x.ID, &x.AccountID, &x.Holder, &x.ExpiresAt)
	}, openOnSQL, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]accounts.OpenLease, len(list))
	for _, l := range list {
		out[l.AccountID] = accounts.OpenLease{Holder: l.Holder, ExpiresAt: l.ExpiresAt}
	}
	return out, nil
}

// OpenOn returns the open lease of each of the accounts ids that has one,
// by account id.
func (s *Service) OpenOn(ctx context.Context, ids []string) (map[string]OpenLease, error) {
	list, err := pgdb.QueryAll(ctx, s.db, func(r pgx.Row, x *OpenLease) error {
		return r.Scan(&x.ID, &x.AccountID, &x.Holder, &x.ExpiresAt)
	}, openOnSQL, ids)
	out := make(map[string]OpenLease, len(list))
	for _, l := range list {
		out[l.AccountID] = l
	}
	return out, err
}

// DirectoryView is this package's view of every lease (migration 000035):
// id, account_id, role_id, holder, status, acquired_at, expires_at,
// ended_at. Package run lists the runs through it, by a name of its own
// (run.LeaseView), since it cannot import this package.
const DirectoryView = "lease_directory"
