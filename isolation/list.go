package isolation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Format is the format number of the lists this package writes.
const Format = 1

// Signed is an environment's isolation list, signed.
type Signed struct {
	// Version names the content: the exclusion list's version, then a
	// hash of the policies, surfaces and domains.
	Version string
	// Body is the list as JSON: the bytes that were signed. It is nil when
	// the caller already held Version.
	Body []byte
	// KeyID names the key that signed Body.
	KeyID string
	// Signature is the Ed25519 signature of Body.
	Signature []byte
}

// SignatureHeader is the value of the X-Understudy-Signature header.
func (s Signed) SignatureHeader() string {
	return "keyid=" + s.KeyID + ", ed25519=" + base64.StdEncoding.EncodeToString(s.Signature)
}

// listHead is the list before its identities, in the order it is written.
type listHead struct {
	Format            int       `json:"format"`
	Environment       string    `json:"environment"`
	Version           string    `json:"version"`
	IssuedAt          time.Time `json:"issued_at"`
	ControlledDomains []string  `json:"controlled_domains"`
	Surfaces          []string  `json:"surfaces"`
}

// role is a role's name and its policy on every surface, as listed.
type role struct {
	Name   string                         `json:"name"`
	Policy map[string]accounts.Visibility `json:"policy"`
}

const (
	// rolesSQL reads every role of the environment, deleted ones too: the
	// accounts of a deleted role are still listed.
	rolesSQL = `SELECT id::text, name, isolation_policy FROM roles WHERE environment_id = $1 ORDER BY id`
	// identitiesSQL reads every identifier on the list, an account's together.
	identitiesSQL = `
SELECT x.account_id::text, a.role_id::text, x.identifier
FROM exclusions x JOIN accounts a ON a.id = x.account_id
WHERE x.environment_id = $1 AND NOT x.forgotten
ORDER BY a.created_at, a.id, x.version`
)

// List returns the signed list of environment env. When unchanged reports
// that the caller holds its version already, only the version is returned.
// The list is read in one repeatable-read transaction, so its version and
// content agree. Errors: ENOTFOUND.
func (s *Service) List(ctx context.Context, env string, unchanged func(version string) bool) (Signed, error) {
	if unchanged != nil { // a refresh: most often it holds the version already
		e, roles, err := readHead(ctx, s.db, env)
		if err != nil {
			return Signed{}, err
		}
		if v := version(e, newHead(e, time.Time{}), roles); unchanged(v) {
			return Signed{Version: v}, nil
		}
	}
	var out Signed
	err := snapshotTx(ctx, s.db, func(tx pgx.Tx) error {
		e, err := getEnvironment(ctx, tx, env)
		if err != nil {
			return err
		}
		roles, err := readRoles(ctx, tx, e)
		if err != nil {
			return err
		}
		head := newHead(e, s.now())
		head.Version = version(e, head, roles)
		out.Version = head.Version
		if unchanged != nil && unchanged(head.Version) {
			return nil
		}
		out.Body, err = writeList(ctx, tx, e.ID, head, roles)
		return err
	})
	if err != nil || out.Body == nil {
		return out, pgdb.Translate(err, "", "")
	}
	sg, err := s.signer(ctx)
	if err != nil {
		return Signed{}, err
	}
	out.KeyID, out.Signature = sg.id, ed25519.Sign(sg.priv, out.Body)
	return out, nil
}

func newHead(e environment, now time.Time) listHead {
	return listHead{Format: Format, Environment: e.Name, IssuedAt: now.UTC().Truncate(time.Second),
		ControlledDomains: e.EmailDomains, Surfaces: e.surfaces()}
}

// readRoles returns the environment's roles by id, each policy filled in
// for every surface (Hidden where the role sets none).
func readRoles(ctx context.Context, tx pgx.Tx, e environment) (map[string]role, error) {
	rows, err := tx.Query(ctx, rolesSQL, e.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]role{}
	for rows.Next() {
		var id, name string
		var policy map[string]accounts.Visibility
		if err := rows.Scan(&id, &name, &policy); err != nil {
			return nil, err
		}
		out[id] = newRole(e, name, policy)
	}
	return out, rows.Err()
}

func newRole(e environment, name string, policy map[string]accounts.Visibility) role {
	r := role{Name: name, Policy: map[string]accounts.Visibility{}}
	for _, sf := range e.surfaces() {
		r.Policy[sf] = visibility(policy, sf)
	}
	return r
}

// headSQL reads, in one statement and so from one snapshot, what a list's
// version is made of: the environment and its roles (rolesSQL's rows, as
// JSON). A refresh that holds the current version costs this one round
// trip instead of a transaction of four.
const headSQL = `
SELECT e.id, e.name, e.email_domains, e.custom_surfaces, coalesce(l.version, 0),
  coalesce((SELECT json_agg(json_build_object('id', r.id::text, 'name', r.name, 'policy', r.isolation_policy) ORDER BY r.id)
    FROM roles r WHERE r.environment_id = e.id), '[]')
FROM environments e LEFT JOIN exclusion_lists l ON l.environment_id = e.id WHERE e.name = $1`

// readHead reads environment name and its roles as readRoles returns them.
// Errors: ENOTFOUND.
func readHead(ctx context.Context, db pgdb.DB, name string) (environment, map[string]role, error) {
	var e environment
	var rows []struct {
		ID     string                         `json:"id"`
		Name   string                         `json:"name"`
		Policy map[string]accounts.Visibility `json:"policy"`
	}
	err := db.QueryRow(ctx, headSQL, name).Scan(&e.ID, &e.Name, &e.EmailDomains, &e.CustomSurfaces, &e.ListVersion, &rows)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, nil, understudy.Errorf(understudy.ENOTFOUND, "environment %s does not exist", name)
	}
	if err != nil {
		return e, nil, pgdb.Translate(err, "", "")
	}
	roles := make(map[string]role, len(rows))
	for _, r := range rows {
		roles[r.ID] = newRole(e, r.Name, r.Policy)
	}
	return e, roles, nil
}

// version names the list's content: the exclusion list version, then 12
// hex digits of the SHA-256 of everything else it holds but identifiers.
func version(e environment, head listHead, roles map[string]role) string {
	b, _ := json.Marshal(struct {
		Domains  []string        `json:"d"`
		Surfaces []string        `json:"s"`
		Roles    map[string]role `json:"r"`
	}{head.ControlledDomains, head.Surfaces, roles})
	sum := sha256.Sum256(b)
	return strconv.FormatInt(e.ListVersion, 10) + "-" + hex.EncodeToString(sum[:6])
}

// writeList writes the list: its head, then each account's identifiers
// with its role's policy, as rows arrive.
func writeList(ctx context.Context, tx pgx.Tx, envID string, head listHead, roles map[string]role) ([]byte, error) {
	var buf bytes.Buffer
	h, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	buf.Write(h[:len(h)-1])
	buf.WriteString(`,"identities":[`)
	policies := map[string][]byte{} // role id → its role and policy, as JSON
	for id, r := range roles {
		b, _ := json.Marshal(struct {
			Role   string                         `json:"role"`
			Policy map[string]accounts.Visibility `json:"policy"`
		}{r.Name, r.Policy})
		policies[id] = b[1:] // without '{': follows "ids":[…],
	}
	rows, err := tx.Query(ctx, identitiesSQL, envID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var account, roleID, ident, lastAccount, lastRole string
	n := 0
	for rows.Next() {
		if err := rows.Scan(&account, &roleID, &ident); err != nil {
			return nil, err
		}
		if account != lastAccount {
			if n > 0 {
				buf.WriteString("],")
				buf.Write(policies[lastRole])
				buf.WriteByte(',')
			}
			buf.WriteString(`{"ids":[`)
			lastAccount, lastRole = account, roleID
		} else {
			buf.WriteByte(',')
		}
		b, _ := json.Marshal(ident)
		buf.Write(b)
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if n > 0 {
		buf.WriteString("],")
		buf.Write(policies[lastRole])
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}

// snapshotTx runs fn in a read-only repeatable-read transaction of db (a
// pool), or in a nested one when db is already a transaction (tests),
// whose snapshot its outer transaction decides.
func snapshotTx(ctx context.Context, db pgdb.DB, fn func(pgx.Tx) error) error {
	if b, ok := db.(interface {
		BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
	}); ok {
		return pgx.BeginTxFunc(ctx, b, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	}
	return pgx.BeginFunc(ctx, db, fn)
}
