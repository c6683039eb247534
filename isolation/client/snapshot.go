package client

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// policyCode is a Policy compiled to a small integer for the check path.
type policyCode uint8

const (
	codeHidden policyCode = iota
	codeTestersOnly
	codeAllowed
)

// idEntry is what one identifier resolves to: the identity (account) it
// belongs to and where that identity's policy row starts in policies.
type idEntry struct {
	identity int32
	row      int32
}

// snapshot is one accepted list compiled for checks. It is immutable once
// built and swapped in whole, so checks read it without locks.
type snapshot struct {
	version     string
	environment string
	issuedAt    time.Time
	// seq is the exclusion list version the list's version starts with
	// ("12-…"), or -1 when it has none.
	seq         int64
	identities  int
	identifiers int
	// ids maps every identifier on the list to its identity and policy row.
	ids map[string]idEntry
	// surfaces maps a surface name to its column in every policy row.
	surfaces map[string]int
	// policies holds the distinct policy rows, one after the other, one
	// column per surface; identities of one role share a row.
	policies []policyCode
	// etag is the ETag the list came with, sent back as If-None-Match.
	etag string
	// domains are the list's controlled domains, lower case.
	domains []string
}

// parseList decodes a verified body and compiles it for environment env.
func parseList(body []byte, env string) (*snapshot, error) {
	var w wireList
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("decoding list: %w", err)
	}
	if w.Format != ListFormat {
		return nil, fmt.Errorf("list format %d, want %d", w.Format, ListFormat)
	}
	if w.Environment != env {
		return nil, fmt.Errorf("list is for environment %q, want %q", w.Environment, env)
	}
	if w.Version == "" {
		return nil, fmt.Errorf("list has no version")
	}
	if w.IssuedAt.IsZero() {
		return nil, fmt.Errorf("list has no issued_at")
	}
	return compile(&w)
}

// compile builds the snapshot: surface columns, deduplicated policy rows
// and the identifier index.
func compile(w *wireList) (*snapshot, error) {
	s := &snapshot{
		version:     w.Version,
		environment: w.Environment,
		issuedAt:    w.IssuedAt,
		seq:         versionSeq(w.Version),
		identities:  len(w.Identities),
		surfaces:    make(map[string]int, len(w.Surfaces)),
		domains:     lowerAll(w.ControlledDomains),
	}
	for i, name := range w.Surfaces {
		s.surfaces[name] = i
	}
	nIDs := 0
	for _, ident := range w.Identities {
		nIDs += len(ident.IDs)
	}
	s.ids = make(map[string]idEntry, nIDs)
	rowIndex := make(map[string]int32) // by the policy's bytes
	for i, ident := range w.Identities {
		r, ok := rowIndex[string(ident.Policy)]
		if !ok {
			var err error
			if r, err = s.addRow(w.Surfaces, ident.Policy); err != nil {
				return nil, fmt.Errorf("identity %d: %w", i, err)
			}
			rowIndex[string(ident.Policy)] = r
		}
		for _, id := range ident.IDs {
			if id == "" {
				continue
			}
			s.ids[id] = idEntry{identity: int32(i), row: r}
			s.identifiers++
		}
	}
	return s, nil
}

// addRow decodes a policy into a new row of s.policies and returns where
// the row starts. A surface the policy does not set is hidden.
func (s *snapshot) addRow(surfaces []string, raw json.RawMessage) (int32, error) {
	var p map[string]Policy
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &p); err != nil {
			return 0, fmt.Errorf("decoding policy: %w", err)
		}
	}
	r := int32(len(s.policies))
	for _, name := range surfaces {
		s.policies = append(s.policies, codeOf(p[name]))
	}
	return r, nil
}

// lookup finds id on the list: as given, or else in its Canonical form,
// which is how the server's check finds it too.
func (s *snapshot) lookup(id string) (idEntry, bool) {
	if e, ok := s.ids[id]; ok {
		return e, true
	}
	return s.lookupCanonical(id)
}

// lookupCanonical is lookup's slow path, kept apart so lookup inlines.
func (s *snapshot) lookupCanonical(id string) (idEntry, bool) {
	c := Canonical(id)
	if c == id {
		return idEntry{}, false
	}
	e, ok := s.ids[c]
	return e, ok
}

// versionSeq returns the exclusion list version that version starts with,
// or -1.
func versionSeq(version string) int64 {
	head, _, _ := strings.Cut(version, "-")
	n, err := strconv.ParseInt(head, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// codeOf compiles a policy; anything but the two visible policies,
// including a missing or unknown value, is hidden (fail closed).
func codeOf(p Policy) policyCode {
	switch p {
	case PolicyAllowed:
		return codeAllowed
	case PolicyTestersOnly:
		return codeTestersOnly
	default:
		return codeHidden
	}
}

func lowerAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, d := range in {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			out = append(out, d)
		}
	}
	return out
}
