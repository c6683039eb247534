package tagging

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The head of an environment's exclusion list, read in one place: the
// list's version, hash and size (exclusion_lists, this package's) with what
// a reader of the list needs of its environment to name and describe it.
// Environments are named by name everywhere, and a list is kept by
// environment id, so the head joins the environment through package
// accounts' view of environments (accounts.EnvironmentDirectory): its id,
// name, email domains and custom surfaces.

// Head is an environment's exclusion list head.
type Head struct {
	List
	// EnvironmentID identifies the environment in the other statements
	// about its list.
	EnvironmentID string
	// EmailDomains and CustomSurfaces are the environment's, for the signed
	// list of package isolation.
	EmailDomains, CustomSurfaces []string
}

// headSelect is the head of the list of the environments e (every
// environment that exists has a head: one that never had an account has
// an empty list at version 0).
const headSelect = `
SELECT e.id::text, e.name, e.email_domains, e.custom_surfaces,
       coalesce(l.version, 0), coalesce(l.hash, repeat('0', 256)::bit(256))::text, coalesce(l.size, 0)
FROM ` + accounts.EnvironmentDirectory + ` e LEFT JOIN exclusion_lists l ON l.environment_id = e.id`

func scanHead(row pgx.Row, h *Head) error {
	var bits string
	if err := row.Scan(&h.EnvironmentID, &h.Environment, &h.EmailDomains, &h.CustomSurfaces, &h.Version, &bits, &h.Size); err != nil {
		return err
	}
	h.Hash = bitsToHex(bits)
	return nil
}

// ReadHead reads the head of environment env's list on db (a pool, or the
// caller's transaction so the head and what follows are one snapshot).
// Errors: ENOTFOUND.
func ReadHead(ctx context.Context, db pgdb.DB, env string) (Head, error) {
	return pgdb.QueryOne(ctx, db, scanHead, "environment "+env+" does not exist", headSelect+` WHERE e.name = $1`, env)
}

// readHeads reads the head of every environment's list, by name.
func readHeads(ctx context.Context, db pgdb.DB) ([]Head, error) {
	return pgdb.QueryAll(ctx, db, scanHead, headSelect+` ORDER BY e.name`)
}

// Listed is an identifier on an environment's exclusion list with its
// account, the account's role and that role's isolation policy (as JSON,
// decoded by package isolation, which decides with it).
type Listed struct {
	Identifier string
	AccountID  string
	RoleID     string
	Policy     json.RawMessage
}

// findListedSQL reads, in one round trip, every identifier of $2 on the
// list of environment $1 with its account and its role's policy. The
// identifiers are joined as rows, so each is one probe of the primary key:
// a filter "identifier = ANY($2)" made PostgreSQL scan the whole list and
// compare every row with every subject. The account's role and its
// policy are package accounts', read through its view of accounts
// (accounts.AccountDirectory): a check decides in two statements, the head
// and this.
const findListedSQL = `
SELECT x.identifier, x.account_id::text, a.role_id::text, a.isolation_policy
FROM unnest($2::text[]) AS q (identifier)
JOIN exclusions x ON x.environment_id = $1 AND x.identifier = q.identifier
JOIN ` + accounts.AccountDirectory + ` a ON a.id = x.account_id
WHERE NOT x.forgotten`

// FindListed returns those of ids that are on the list of environment
// envID (Head.EnvironmentID), each with its account and role. The policy
// is scanned as the bytes jsonb sends (a *json.RawMessage would be parsed
// by encoding/json on every row, a third of the check's own CPU for 500
// rows); isolation decodes each role's once.
func FindListed(ctx context.Context, db pgdb.DB, envID string, ids []string) ([]Listed, error) {
	return pgdb.QueryAll(ctx, db, func(r pgx.Row, l *Listed) error {
		return r.Scan(&l.Identifier, &l.AccountID, &l.RoleID, (*[]byte)(&l.Policy))
	}, findListedSQL, envID, ids)
}

// everyListedSQL reads every identifier on the list, an account's
// together, oldest account first, with the account's role (through
// accounts.AccountDirectory, whose join of roles the planner drops here).
const everyListedSQL = `
SELECT x.identifier, x.account_id::text, a.role_id::text
FROM exclusions x JOIN ` + accounts.AccountDirectory + ` a ON a.id = x.account_id
WHERE x.environment_id = $1 AND NOT x.forgotten
ORDER BY a.created_at, a.id, x.version`

// EachListed calls each for every identifier on the list of environment
// envID, an account's identifiers one after the other, as rows arrive (so
// memory does not grow with the list). Listed.Policy is not read: the
// caller holds the roles. Errors: those of each.
func EachListed(ctx context.Context, tx pgx.Tx, envID string, each func(Listed) error) error {
	rows, err := tx.Query(ctx, everyListedSQL, envID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var l Listed
	for rows.Next() {
		if err := rows.Scan(&l.Identifier, &l.AccountID, &l.RoleID); err != nil {
			return err
		}
		if err := each(l); err != nil {
			return err
		}
	}
	return rows.Err()
}
