package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The reads other packages make of this package's tables, each on the
// caller's db: a pool, or the caller's transaction, so that what it reads
// here and in its own tables is one snapshot.

// RolePolicy is a role's isolation policy as package isolation lists it.
type RolePolicy struct {
	ID, Name string
	Policy   map[string]Visibility
}

// rolePoliciesSQL reads every role of the environment, deleted ones too:
// the accounts of a deleted role are still on the exclusion list.
const rolePoliciesSQL = `SELECT id::text, name, isolation_policy FROM roles WHERE environment_id = $1 ORDER BY id`

// RolePolicies returns the isolation policy of every role of environment
// envID, in id order, read on db: a pool, or the caller's transaction, so
// that the policies and what the caller reads with them are one snapshot.
func RolePolicies(ctx context.Context, db pgdb.DB, envID string) ([]RolePolicy, error) {
	return pgdb.QueryAll(ctx, db, func(r pgx.Row, p *RolePolicy) error { return r.Scan(&p.ID, &p.Name, &p.Policy) }, rolePoliciesSQL, envID)
}

const statusOfSQL = `SELECT status FROM accounts WHERE id = $1`

// StatusOf returns the status of account id, read on db. Errors: ENOTFOUND.
func StatusOf(ctx context.Context, db pgdb.DB, id string) (Status, error) {
	return pgdb.QueryOne(ctx, db, pgdb.Scalar[Status], "no account has id "+id, statusOfSQL, id)
}

// Mailbox is what package inbox needs of an account to store its mail.
type Mailbox struct {
	AccountID     string
	EnvironmentID string
	Status        Status
	// MaxMessages is the environment's inbox_max_messages.
	MaxMessages int
	// CodePattern and LinkPattern are the account's role's patterns (see
	// Role), "" for none. They were checked when written; a reader that
	// cannot compile one uses the default rules.
	CodePattern, LinkPattern string
	// LeaseID is the account's open lease when it was read, "" for none.
	LeaseID string
}

// OpenLeaseView is the name of package lease's view of the open lease of
// each account (migration 000026): account_id, lease_id. Lease owns it
// and exports it as lease.OpenLeaseView; this package, which lease
// imports, reads it by a name of its own, and a test in lease fails if the
// two names ever differ.
const OpenLeaseView = "open_leases"

const mailboxSelect = `
SELECT a.id::text, a.environment_id::text, a.status, e.inbox_max_messages,
       coalesce(r.code_pattern, ''), coalesce(r.link_pattern, ''), coalesce(ol.lease_id::text, '')
FROM accounts a JOIN environments e ON e.id = a.environment_id LEFT JOIN roles r ON r.id = a.role_id
LEFT JOIN ` + OpenLeaseView + ` ol ON ol.account_id = a.id`

const (
	mailboxesSQL = mailboxSelect + `
WHERE a.id = ANY($1::uuid[])`
	// mailboxByEmailSQL finds the address through the index on
	// lower(email) (migration 000018), as ByEmail does.
	mailboxByEmailSQL = mailboxSelect + `
WHERE lower(a.email) COLLATE "C" = lower($1) COLLATE "C" AND a.status <> 'retired'`
)

func scanMailbox(r pgx.Row, m *Mailbox) error {
	return r.Scan(&m.AccountID, &m.EnvironmentID, &m.Status, &m.MaxMessages, &m.CodePattern, &m.LinkPattern, &m.LeaseID)
}

// MailboxByEmail returns the mailbox of the account that is not retired
// whose email is email, compared case-insensitively (a plus-tag is part of
// the address here: the caller strips it), in one query read on db.
// Errors: ENOTFOUND.
func MailboxByEmail(ctx context.Context, db pgdb.DB, email string) (Mailbox, error) {
	if len(email) > 254 {
		return Mailbox{}, understudy.Errorf(understudy.ENOTFOUND, "no account has that address: it is longer than 254 characters")
	}
	return pgdb.QueryOne(ctx, db, scanMailbox, fmt.Sprintf("no account has the address %q", email), mailboxByEmailSQL, email)
}

// Mailboxes returns the mailbox of each of the accounts ids that exists,
// by account id, in one query, read on db (a pool or the caller's
// transaction).
func Mailboxes(ctx context.Context, db pgdb.DB, ids []string) (map[string]Mailbox, error) {
	list, err := pgdb.QueryAll(ctx, db, scanMailbox, mailboxesSQL, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Mailbox, len(list))
	for _, m := range list {
		out[m.AccountID] = m
	}
	return out, nil
}

// InboxRetention is how long an environment's accounts keep their mail,
// and how many messages each keeps at most.
type InboxRetention struct {
	EnvironmentID string
	Retention     time.Duration
	MaxMessages   int
}

const inboxRetentionsSQL = `SELECT id::text, inbox_retention_seconds, inbox_max_messages FROM environments ORDER BY id`

// InboxRetentions returns the inbox retention and cap of every
// environment, read on db.
func InboxRetentions(ctx context.Context, db pgdb.DB) ([]InboxRetention, error) {
	return pgdb.QueryAll(ctx, db, func(r pgx.Row, x *InboxRetention) error {
		var secs int
		err := r.Scan(&x.EnvironmentID, &secs, &x.MaxMessages)
		x.Retention = time.Duration(secs) * time.Second
		return err
	}, inboxRetentionsSQL)
}
