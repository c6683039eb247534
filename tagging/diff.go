package tagging

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The difference a run sends is computed without holding the list twice:
// the identities the destination should hold are read as compact rows
// (distinct id, account, role) and sorted by distinct id; what it
// acknowledged streams from PostgreSQL in the same (byte) order and is
// compared row by row, so only the differences are kept. Identities, with
// their tags, are built only for what is sent, one chunk at a time. At
// 333,000 identities and nothing to send, this keeps the server near 100
// MB instead of 400 (bench/README.md, "Analytics sync (issue 7)").

// sendChunk is how many identities to add are built and handed to the
// publisher at once (a multiple of the publishers' batch sizes).
const sendChunk = 10_000

// wanted is one identity the destination should hold (its email is the
// distinct id's string under the default rule, not a copy).
type wanted struct{ distinctID, accountID, email, role string }

// diff is the difference per action: the identities to add and to remove,
// each sorted by distinct id.
type diff struct {
	env string
	// want is every identity the destination should hold, sorted by
	// distinct id: read once per run, and used again to verify.
	want      []wanted
	add       map[string][]wanted
	remove    map[string][]SyntheticUser
	unchanged int
}

func (d diff) empty() bool {
	for _, a := range []string{ActionMark, ActionList} {
		if len(d.add[a]) > 0 || len(d.remove[a]) > 0 {
			return false
		}
	}
	return true
}

// identities builds the Identities of ws, tags included.
func (d diff) identities(ws []wanted) []SyntheticUser {
	out := make([]SyntheticUser, len(ws))
	for i, w := range ws {
		out[i] = w.identity(d.env)
	}
	return out
}

// additions yields the identities of ws, built sendChunk at a time.
func (d diff) additions(ws []wanted) func() iter.Seq[[]SyntheticUser] {
	return func() iter.Seq[[]SyntheticUser] {
		return func(yield func([]SyntheticUser) bool) {
			for chunk := range slices.Chunk(ws, sendChunk) {
				if !yield(d.identities(chunk)) {
					return
				}
			}
		}
	}
}

// removals yields ids whole (none when empty).
func removals(ids []SyntheticUser) func() iter.Seq[[]SyntheticUser] {
	return func() iter.Seq[[]SyntheticUser] {
		return func(yield func([]SyntheticUser) bool) {
			if len(ids) > 0 {
				yield(ids)
			}
		}
	}
}

func (w wanted) identity(env string) SyntheticUser {
	return SyntheticUser{DistinctID: w.distinctID, AccountID: w.accountID, Email: w.email, Tags: map[string]string{
		TagSynthetic: "true", TagRole: w.role, TagEnvironment: env, TagAccountID: w.accountID}}
}

// acksOrderedSQL lists what the destination acknowledged for one action,
// in byte order (COLLATE "C"), the order of Go's string comparison.
const acksOrderedSQL = `SELECT distinct_id, account_id::text FROM destination_acks WHERE destination_id = $1 AND action = $2 ORDER BY distinct_id COLLATE "C"`

// wants reads the identities the destination should hold: one per account
// on the list that has a distinct id under the rule (the first account, by
// id, when two give the same one), sorted by distinct id.
func (s *Service) wants(ctx context.Context, d Destination) ([]wanted, error) {
	rule, err := ParseDistinctID(d.DistinctID)
	if err != nil {
		return nil, understudy.Errorf(understudy.EINVALID, "destination %s has an invalid distinct_id: %v", d.Name, err)
	}
	rows, err := s.db.Query(ctx, identitiesSQL, d.Environment)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	defer rows.Close()
	var out []wanted
	roles := map[string]string{}
	for rows.Next() {
		p, role, err := readPerson(rows.RawValues(), rule)
		if err != nil {
			return nil, err
		}
		id, err := rule.Of(p)
		if err != nil {
			return nil, understudy.Errorf(understudy.EINVALID, "destination %s: %v", d.Name, err)
		}
		if id == "" {
			continue // no id in this destination (no ref in the app)
		}
		r, ok := roles[string(role)] // one string per role, not one per account
		if !ok {
			r = string(role)
			roles[r] = r
		}
		email := p.Email
		if id == email {
			email = id
		}
		out = append(out, wanted{distinctID: id, accountID: p.AccountID, email: email, role: r})
	}
	if err := rows.Err(); err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	return sortUnique(out), nil
}

// readPerson reads a row of identitiesSQL in place (its text columns are
// their bytes): the username and the refs only when the rule reads them.
// role is valid until the next row.
func readPerson(raw [][]byte, rule DistinctIDRule) (p Person, role []byte, err error) {
	if len(raw) != 5 || raw[0] == nil || raw[1] == nil || raw[3] == nil {
		return p, nil, fmt.Errorf("reading the exclusion list: unexpected row")
	}
	p.AccountID, p.Email, role = string(raw[0]), string(raw[1]), raw[3]
	p.Username = string(raw[2])
	if rule.needsRefs() {
		refs := raw[4]
		if len(refs) > 0 && refs[0] == 1 {
			refs = refs[1:] // jsonb's binary form: a version byte, then the text
		}
		if err := json.Unmarshal(refs, &p.Refs); err != nil {
			return p, nil, fmt.Errorf("reading the refs of account %s: %w", p.AccountID, err)
		}
	}
	return p, role, nil
}

// sortUnique sorts ws by distinct id, keeping the first account (by id)
// of each distinct id. (The text of a uuid sorts as the uuid does.)
func sortUnique(ws []wanted) []wanted {
	slices.SortFunc(ws, func(a, b wanted) int {
		return cmp.Or(strings.Compare(a.distinctID, b.distinctID), strings.Compare(a.accountID, b.accountID))
	})
	return slices.CompactFunc(ws, func(a, b wanted) bool { return a.distinctID == b.distinctID })
}

// compute returns the difference between what the destination should hold
// and what it acknowledged, for the actions the publisher does.
func (s *Service) compute(ctx context.Context, d Destination, pub Publisher) (diff, error) {
	want, err := s.wants(ctx, d)
	if err != nil {
		return diff{}, err
	}
	out := diff{env: d.Environment, want: want, add: map[string][]wanted{}, remove: map[string][]SyntheticUser{}}
	var adds [][]wanted
	for _, action := range actionsOf(pub) {
		if out.add[action], out.remove[action], err = s.compare(ctx, d.ID, action, want); err != nil {
			return diff{}, err
		}
		adds = append(adds, out.add[action])
	}
	out.unchanged = len(want) - unionCount(func(w wanted) string { return w.distinctID }, adds...)
	return out, nil
}

// compare streams what the destination acknowledged for action, in
// distinct id order, against want (sorted the same way): what want holds
// and the acks lack is to add, what the acks hold and want lacks is to
// remove. An ack's columns are read in place; only a removal is copied.
func (s *Service) compare(ctx context.Context, destID, action string, want []wanted) (add []wanted, remove []SyntheticUser, err error) {
	rows, err := s.db.Query(ctx, acksOrderedSQL, destID, action)
	if err != nil {
		return nil, nil, pgdb.Translate(err, "", "")
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		raw := rows.RawValues() // distinct_id and account_id as text: their bytes
		if len(raw) != 2 || raw[0] == nil || raw[1] == nil {
			return nil, nil, fmt.Errorf("reading what destination %s acknowledged: unexpected row", destID)
		}
		for i < len(want) && want[i].distinctID < string(raw[0]) {
			add, i = append(add, want[i]), i+1
		}
		if i < len(want) && want[i].distinctID == string(raw[0]) {
			i++
			continue
		}
		remove = append(remove, SyntheticUser{DistinctID: string(raw[0]), AccountID: string(raw[1])})
	}
	if err := rows.Err(); err != nil {
		return nil, nil, pgdb.Translate(err, "", "")
	}
	return append(add, want[i:]...), remove, nil
}

// unionCount counts the distinct keys of a and b, each sorted by key and
// without duplicates (the adds of at most two actions).
func unionCount[T any](key func(T) string, sides ...[]T) int {
	var a, b []T
	switch len(sides) {
	case 0:
		return 0
	case 1:
		return len(sides[0])
	case 2:
		a, b = sides[0], sides[1]
	default:
		panic("tagging: unionCount of more than two actions")
	}
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch c := strings.Compare(key(a[i]), key(b[j])); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			i, j = i+1, j+1
		}
		n++
	}
	return n + len(a) - i + len(b) - j
}
