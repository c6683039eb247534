package isolation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/tagging"
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

// readRoles returns the environment's roles by id (deleted ones too: their
// accounts are still listed), each policy filled in for every surface
// (Hidden where the role sets none).
func readRoles(ctx context.Context, db pgdb.DB, e environment) (map[string]role, error) {
	list, err := accounts.RolePolicies(ctx, db, e.ID)
	out := make(map[string]role, len(list))
	for _, r := range list {
		out[r.ID] = newRole(e, r.Name, r.Policy)
	}
	return out, err
}

func newRole(e environment, name string, policy map[string]accounts.Visibility) role {
	r := role{Name: name, Policy: map[string]accounts.Visibility{}}
	for _, sf := range e.surfaces() {
		r.Policy[sf] = visibility(policy, sf)
	}
	return r
}

// readHead reads environment name, its list's head and its roles as
// readRoles returns them: what a list's version is made of, so a refresh
// that holds the current version costs these two round trips instead of a
// transaction of four. Errors: ENOTFOUND.
func readHead(ctx context.Context, db pgdb.DB, name string) (environment, map[string]role, error) {
	e, err := getEnvironment(ctx, db, name)
	if err != nil {
		return e, nil, err
	}
	roles, err := readRoles(ctx, db, e)
	return e, roles, pgdb.Translate(err, "", "")
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
	var lastAccount, lastRole string
	n := 0
	err = tagging.EachListed(ctx, tx, envID, func(l tagging.Listed) error {
		if l.AccountID != lastAccount {
			if n > 0 {
				buf.WriteString("],")
				buf.Write(policies[lastRole])
				buf.WriteByte(',')
			}
			buf.WriteString(`{"ids":[`)
			lastAccount, lastRole = l.AccountID, l.RoleID
		} else {
			buf.WriteByte(',')
		}
		b, _ := json.Marshal(l.Identifier)
		buf.Write(b)
		n++
		return nil
	})
	if err != nil {
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
