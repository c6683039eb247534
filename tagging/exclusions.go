package tagging

import (
	"context"
	"encoding/hex"
	"log/slog"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Tag names, as package accounts defines them (apps receive them too).
const (
	TagSynthetic   = accounts.TagSynthetic
	TagRole        = accounts.TagRole
	TagEnvironment = accounts.TagEnvironment
	TagAccountID   = accounts.TagAccountID
)

// Entry is one identifier on an environment's exclusion list.
type Entry struct {
	Identifier string `json:"identifier"`
	// Kind is account_id, email, username, app_ref or distinct_id (the id a
	// destination knows the account by, when it is none of the others).
	Kind string `json:"kind"`
	// Source is the app of an app_ref ("chirp" for "chirp:42"), or the
	// destination of a distinct_id.
	Source    string `json:"source,omitempty"`
	AccountID string `json:"account_id"`
	// Version is the list version that added the identifier (or, for a
	// removed one, that forgot it).
	Version int64 `json:"version"`
	// Removed is set, in a listing since a version, for an identifier
	// forgotten after it.
	Removed bool `json:"removed,omitempty"`
}

// List describes an environment's exclusion list: its version (bumped by
// every change), a hash of its content (whatever the order) and its size.
type List struct {
	Environment string `json:"environment"`
	Version     int64  `json:"version"`
	Hash        string `json:"hash"`
	Size        int64  `json:"size"`
}

// ETag is the entity tag of the list at this version and content.
func (l List) ETag() string {
	return `"` + strconv.FormatInt(l.Version, 10) + "-" + l.Hash[:16] + `"`
}

// Exclusions reads and forgets the exclusion lists of environments. The
// lists themselves are kept by the database (triggers on accounts and
// their app refs), so they are derived from accounts only and change in
// the same transaction as the accounts do.
type Exclusions struct {
	db     pgdb.DB
	logger *slog.Logger
}

// NewExclusions returns the exclusion lists on db.
func NewExclusions(db pgdb.DB, logger *slog.Logger) *Exclusions {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Exclusions{db: db, logger: logger}
}

// bitsToHex renders PostgreSQL's text form of a bit(256) as 64 hex digits.
func bitsToHex(bits string) string {
	b := make([]byte, len(bits)/8)
	for i := range b {
		n, _ := strconv.ParseUint(bits[i*8:i*8+8], 2, 8)
		b[i] = byte(n)
	}
	return hex.EncodeToString(b)
}

// Get describes the exclusion list of environment env. Errors: ENOTFOUND.
func (x *Exclusions) Get(ctx context.Context, env string) (List, error) {
	h, err := ReadHead(ctx, x.db, env)
	return h.List, err
}

// entriesSQL lists the identifiers on the list (since = 0), or every
// identifier added or forgotten after version since, forgotten ones
// included as removed.
const entriesSQL = `
SELECT x.identifier, x.kind, x.source, x.account_id::text, x.version, x.forgotten
FROM exclusions x
WHERE x.environment_id = $1 AND ((x.version > $2 AND $2 > 0) OR ($2 = 0 AND NOT x.forgotten))
ORDER BY x.version, x.identifier`

// Stream describes the list (head), then calls each for every entry: the
// whole list when since is 0, or what changed after version since. It
// reads one consistent snapshot, row by row, so memory does not grow with
// the list. Errors: ENOTFOUND, EINVALID (since in the future), those of
// head and each.
func (x *Exclusions) Stream(ctx context.Context, env string, since int64, head func(List) error, each func(Entry) error) error {
	return pgdb.Translate(snapshotTx(ctx, x.db, func(tx pgx.Tx) error {
		h, err := ReadHead(ctx, tx, env)
		l := h.List
		if err != nil {
			return err
		}
		if since < 0 || since > l.Version {
			return understudy.Invalid("invalid since", understudy.FieldError{Field: "since",
				Detail: "must be a version of the list, from 0 to " + strconv.FormatInt(l.Version, 10)})
		}
		if err := head(l); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, entriesSQL, h.EnvironmentID, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		var e Entry
		for rows.Next() {
			if err := rows.Scan(&e.Identifier, &e.Kind, &e.Source, &e.AccountID, &e.Version, &e.Removed); err != nil {
				return err
			}
			if err := each(e); err != nil {
				return err
			}
		}
		return rows.Err()
	}), "", "")
}

const (
	listedAccountSQL = `
SELECT x.account_id::text FROM exclusions x
WHERE x.environment_id = $1 AND (x.identifier = $2 OR x.account_id::text = $2) AND NOT x.forgotten LIMIT 1`
	forgetSQL = `
WITH list AS (
    UPDATE exclusion_lists l SET version = l.version + 1,
        size = l.size - (SELECT count(*) FROM exclusions WHERE environment_id = l.environment_id AND account_id = $2 AND NOT forgotten),
        hash = (SELECT coalesce(bit_xor(exclusion_digest(identifier)), repeat('0', 256)::bit(256)) FROM exclusions
                WHERE environment_id = l.environment_id AND account_id = $2 AND NOT forgotten) # l.hash
    WHERE l.environment_id = $1 RETURNING l.environment_id, l.version
)
UPDATE exclusions x SET forgotten = true, version = list.version FROM list
WHERE x.environment_id = list.environment_id AND x.account_id = $2 AND NOT x.forgotten
RETURNING x.identifier, x.kind, x.source, x.account_id::text, x.version, x.forgotten`
)

// Forget takes every identifier of a retired account off environment
// env's list, named by the account's id or any of its identifiers, and
// audits it in the same transaction. An identifier of an account that is
// not retired cannot be forgotten: it may still send events.
// Errors: ENOTFOUND, ECONFLICT (the account is not retired).
func (x *Exclusions) Forget(ctx context.Context, env, identifier string) ([]Entry, error) {
	var out []Entry
	err := pgdb.InTx(ctx, x.db, func(tx pgx.Tx) error {
		h, err := ReadHead(ctx, tx, env)
		if err != nil {
			return err
		}
		id, found, err := pgdb.QueryMaybe(ctx, tx, pgdb.Scalar[string], pgdb.Conflict{}, listedAccountSQL, h.EnvironmentID, identifier)
		if err != nil {
			return err
		}
		if !found {
			return understudy.Errorf(understudy.ENOTFOUND, "%q is not on the exclusion list of environment %s", identifier, env)
		}
		status, err := accounts.StatusOf(ctx, tx, id)
		switch {
		case err != nil:
			return err
		case status != accounts.StatusRetired:
			return understudy.Errorf(understudy.ECONFLICT, "%q belongs to account %s, which is %s: only a retired account's identifiers can be forgotten (retire it first)", identifier, id, status)
		}
		if out, err = pgdb.QueryAll(ctx, tx, scanEntry, forgetSQL, h.EnvironmentID, id); err != nil {
			return err
		}
		ids := make([]string, len(out))
		for i, e := range out {
			ids[i] = e.Identifier
		}
		return access.Record(ctx, tx, access.Event{Action: "exclusion.forget", TargetType: "account", TargetID: id,
			Details: map[string]any{"environment": env, "identifiers": ids, "version": out[0].Version}})
	})
	return out, err
}

// snapshotTx runs fn in a read-only, repeatable-read transaction of db, so
// that everything fn reads is one snapshot. A db that is itself a
// transaction (in tests) is one snapshot already: fn runs in a nested one.
func snapshotTx(ctx context.Context, db pgdb.DB, fn func(pgx.Tx) error) error {
	if b, ok := db.(interface {
		BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
	}); ok {
		return pgx.BeginTxFunc(ctx, b, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	}
	return pgx.BeginFunc(ctx, db, fn)
}

func scanEntry(row pgx.Row, e *Entry) error {
	return row.Scan(&e.Identifier, &e.Kind, &e.Source, &e.AccountID, &e.Version, &e.Removed)
}
