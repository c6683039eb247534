package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// UnmarshalJSON decodes an identity exactly as encoding/json would without
// this method. Every read of an account decodes one (GET
// /v1/accounts/{id} among them), and encoding/json's reflection was the
// largest part of the account read's own CPU; so the form PostgreSQL's
// jsonb gives back (keys of Identity and Address only, every value a
// string without an escape) is read in one pass, into substrings of one
// copy of b, and any other form by encoding/json
// (TestUnmarshalJSONMatchesEncodingJSON, FuzzUnmarshalJSON).
func (id *Identity) UnmarshalJSON(b []byte) error {
	v := *id
	if decodePlain(string(b), &v) {
		*id = v
		return nil
	}
	type identity Identity // without this method
	return json.Unmarshal(b, (*identity)(id))
}

// Scan implements sql.Scanner, so that pgx hands an identity column (jsonb)
// to the decoder above directly, rather than through json.Unmarshal, which
// would first pass over the bytes twice. It decodes as pgx did without it:
// the zero identity, then the JSON; NULL is an error.
func (id *Identity) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case []byte:
		s = string(v)
	case string:
		s = v
	case nil:
		return errors.New("cannot scan NULL into *identity.Identity")
	default:
		return fmt.Errorf("cannot scan %T into *identity.Identity", src)
	}
	*id = Identity{}
	if decodePlain(s, id) {
		return nil
	}
	*id = Identity{}
	type identity Identity // without UnmarshalJSON
	return json.Unmarshal([]byte(s), (*identity)(id))
}

// decodePlain decodes s into id when s is one object whose keys are
// Identity's (address an object of Address's keys) and whose values are
// strings without an escape or a control character, in UTF-8; a key given
// twice keeps its last value, as with encoding/json. It reports false,
// with id partly written, for anything else.
func decodePlain(s string, id *Identity) bool {
	p := plainParser{s: s}
	ok := p.object(func(key string) bool {
		if key == "address" {
			return p.object(func(key string) bool { return p.value(addressField(&id.Address, key)) })
		}
		return p.value(identityField(id, key))
	})
	return ok && p.end()
}

// identityField returns the field of id that key names, or nil.
func identityField(id *Identity, key string) *string {
	switch key {
	case "given_name":
		return &id.GivenName
	case "family_name":
		return &id.FamilyName
	case "display_name":
		return &id.DisplayName
	case "username":
		return &id.Username
	case "email":
		return &id.Email
	case "phone":
		return &id.Phone
	case "birth_date":
		return &id.BirthDate
	case "locale":
		return &id.Locale
	case "time_zone":
		return &id.TimeZone
	}
	return nil
}

// addressField returns the field of a that key names, or nil.
func addressField(a *Address, key string) *string {
	switch key {
	case "street":
		return &a.Street
	case "city":
		return &a.City
	case "region":
		return &a.Region
	case "postal_code":
		return &a.PostalCode
	case "country":
		return &a.Country
	}
	return nil
}

// plainParser reads s from i.
type plainParser struct {
	s string
	i int
}

func (p *plainParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

// byte skips white space, then reads b.
func (p *plainParser) byte(b byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == b {
		p.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (p *plainParser) end() bool {
	p.space()
	return p.i == len(p.s)
}

// object reads an object, calling member after each key and its colon to
// read the value.
func (p *plainParser) object(member func(key string) bool) bool {
	if !p.byte('{') {
		return false
	}
	if p.byte('}') {
		return true
	}
	for {
		key, ok := p.str()
		if !ok || !p.byte(':') || !member(key) {
			return false
		}
		if p.byte('}') {
			return true
		}
		if !p.byte(',') {
			return false
		}
	}
}

// value reads a string into field; a nil field (an unknown key) fails.
func (p *plainParser) value(field *string) bool {
	if field == nil {
		return false
	}
	v, ok := p.str()
	*field = v
	return ok
}

// str reads a string without an escape or a control character, in
// UTF-8; it is a substring of s.
func (p *plainParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	from, ascii := p.i, true
	for ; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			v := p.s[from : p.i-1]
			return v, ascii || utf8.ValidString(v)
		case c < 0x20 || c == '\\':
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}
