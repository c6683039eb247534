package postgres

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/understudy-dev/understudy/providers"
)

// state is a decoded State, as Snapshot writes it:
//
//	{"user": {…}, "tables": {"profiles": [{…}], …}}
type state struct {
	user     json.RawMessage
	userKeys map[string]bool
	tables   map[string]rowsOf
}

// rowsOf are one table's rows in a state.
type rowsOf struct {
	raw   json.RawMessage
	count int
	keys  map[string]bool // the columns the rows name
}

// rawOrEmpty is the rows as a JSON array: [] for a table the state does
// not name, which is restored empty.
func (r rowsOf) rawOrEmpty() string {
	if r.count == 0 {
		return "[]"
	}
	return string(r.raw)
}

// The cache of decodeState: at most cachedStates states of at most
// maxCachedState bytes each, kept as the key and as the decoded copy (16
// MiB in all, per app).
const (
	cachedStates   = 256
	maxCachedState = 32 << 10
)

// stateKey is what a decoded state is cached by: the user and the state.
type stateKey struct{ ref, content string }

// decodeState checks a state before anything is written: a document that
// is not one of this provider's states, names a table it does not drive,
// or is another user's is ErrRefused. A table the state does not name is
// restored empty.
//
// Every reset of an account restores the same state to the same user, and
// decoding it (encoding/json, a map per row) was a tenth of the server's
// CPU per reset: states up to maxCachedState bytes are remembered, decoded,
// by user and content. A decoded state is never changed.
func (a *App) decodeState(s providers.State, ref string) (state, error) {
	if len(s) > maxCachedState {
		return a.parseState(s, ref)
	}
	key := stateKey{ref, string(s)}
	if st, ok := a.states.Get(key); ok {
		return st, nil
	}
	st, err := a.parseState(s, ref)
	if err == nil {
		a.states.Add(key, st)
	}
	return st, err
}

// parseState is decodeState without its cache.
func (a *App) parseState(s providers.State, ref string) (state, error) {
	var doc struct {
		User   json.RawMessage            `json:"user"`
		Tables map[string]json.RawMessage `json:"tables"`
	}
	dec := json.NewDecoder(bytes.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return state{}, refused("the state is not a document of the postgres provider: %v", err)
	}
	var user map[string]json.RawMessage
	if err := json.Unmarshal(doc.User, &user); err != nil || user == nil {
		return state{}, refused("the state's user is not an object")
	}
	if key, ok := user[a.s.KeyColumn]; !ok || !sameKey(key, ref) {
		return state{}, refused("the state's user is not user %s", ref)
	}
	st := state{user: doc.User, userKeys: map[string]bool{}, tables: map[string]rowsOf{}}
	for k := range user {
		st.userKeys[k] = true
	}
	known := map[string]bool{}
	for _, t := range a.s.Tables {
		known[t.Table] = true
	}
	for name, raw := range doc.Tables {
		if !known[name] {
			return state{}, refused("the state has rows of table %q, which the provider does not drive", name)
		}
		var rows []map[string]anyValue
		if err := json.Unmarshal(raw, &rows); err != nil {
			return state{}, refused("the state's %s is not an array of rows", name)
		}
		keys := map[string]bool{}
		for _, row := range rows {
			for k := range row {
				keys[k] = true
			}
		}
		st.tables[name] = rowsOf{raw: raw, count: len(rows), keys: keys}
	}
	return st, nil
}

// anyValue is a JSON value that decoding checks and skips: a state's rows
// are read for their count and their columns' names only.
type anyValue struct{}

func (*anyValue) UnmarshalJSON([]byte) error { return nil }

// sameKey compares a key as JSON (a number, a string) with a ref, which is
// the key as PostgreSQL renders it as text.
func sameKey(raw json.RawMessage, ref string) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return false
	}
	switch v := v.(type) {
	case json.Number:
		return v.String() == ref
	case string:
		return v == ref
	}
	return false
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", providers.ErrRefused, fmt.Sprintf(format, args...))
}
