package openapi

import (
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/identity"
)

// writeAccount answers code with a as JSON: byte for byte what c.JSON
// writes (encoding/json's field order and HTML-safe escaping, and the
// newline its Encoder ends with), without reflection, since every GET
// /v1/accounts/{id} pays for it. TestAppendAccountMatchesEncodingJSON holds
// the two together, also when a field is added to accounts.Account.
//
// It leaves to c.JSON what it would do differently: any query string
// (echo indents for ?pretty), echo's debug mode, another JSON serializer,
// and a time that encoding/json refuses (so its error is the same).
func writeAccount(c echo.Context, code int, a *accounts.Account) error {
	if !plainJSON(c) {
		return c.JSON(code, a)
	}
	buf := accountBufs.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledAccountBuf {
			accountBufs.Put(buf)
		}
	}()
	b, ok := appendAccount((*buf)[:0], a)
	if !ok {
		return c.JSON(code, a)
	}
	*buf = append(b, '\n')
	return c.Blob(code, echo.MIMEApplicationJSON, *buf)
}

// plainJSON reports whether c.JSON would write encoding/json's compact
// output with the Encoder's defaults.
func plainJSON(c echo.Context) bool {
	e := c.Echo()
	switch e.JSONSerializer.(type) {
	case *echo.DefaultJSONSerializer, echo.DefaultJSONSerializer:
	default:
		return false
	}
	return !e.Debug && c.Request().URL.RawQuery == ""
}

// accountBufs recycles the encoding buffers; one larger than
// maxPooledAccountBuf is left to the garbage collector.
var accountBufs = sync.Pool{New: func() any { return new(make([]byte, 0, 2048)) }}

const maxPooledAccountBuf = 64 << 10

// appendAccount appends a's JSON to b, as encoding/json does. It reports
// false when a time is out of RFC 3339's range.
func appendAccount(b []byte, a *accounts.Account) ([]byte, bool) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, a.ID)
	b = append(b, `,"environment":`...)
	b = appendJSONString(b, a.Environment)
	b = append(b, `,"role":`...)
	b = appendJSONString(b, a.Role)
	b = append(b, `,"slot":`...)
	b = strconv.AppendInt(b, int64(a.Slot), 10)
	b = append(b, `,"generation":`...)
	b = strconv.AppendInt(b, int64(a.Generation), 10)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(a.Status))
	b = append(b, `,"status_reason":`...)
	b = appendJSONString(b, a.StatusReason)
	b = append(b, `,"identity":`...)
	b = appendIdentity(b, &a.Identity)
	b = append(b, `,"password_rotated_at":`...)
	b, ok1 := appendJSONTime(b, a.PasswordRotatedAt)
	b = append(b, `,"created_at":`...)
	b, ok2 := appendJSONTime(b, a.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b, ok3 := appendJSONTime(b, a.UpdatedAt)
	ok4 := true
	if a.RetiredAt != nil {
		b = append(b, `,"retired_at":`...)
		b, ok4 = appendJSONTime(b, *a.RetiredAt)
	}
	b = append(b, `,"tags":`...)
	b = appendStringMap(b, a.Tags)
	return append(b, '}'), ok1 && ok2 && ok3 && ok4
}

// appendStringMap appends m as encoding/json does: null when nil, keys sorted.
func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	var room [8]string // an account's four tags sort here, off the heap
	keys := room[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

func appendIdentity(b []byte, id *identity.Identity) []byte {
	b = append(b, `{"given_name":`...)
	b = appendJSONString(b, id.GivenName)
	b = append(b, `,"family_name":`...)
	b = appendJSONString(b, id.FamilyName)
	b = append(b, `,"display_name":`...)
	b = appendJSONString(b, id.DisplayName)
	b = append(b, `,"username":`...)
	b = appendJSONString(b, id.Username)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, id.Email)
	b = append(b, `,"phone":`...)
	b = appendJSONString(b, id.Phone)
	b = append(b, `,"address":{"street":`...)
	b = appendJSONString(b, id.Address.Street)
	b = append(b, `,"city":`...)
	b = appendJSONString(b, id.Address.City)
	b = append(b, `,"region":`...)
	b = appendJSONString(b, id.Address.Region)
	b = append(b, `,"postal_code":`...)
	b = appendJSONString(b, id.Address.PostalCode)
	b = append(b, `,"country":`...)
	b = appendJSONString(b, id.Address.Country)
	b = append(b, `},"birth_date":`...)
	b = appendJSONString(b, id.BirthDate)
	b = append(b, `,"locale":`...)
	b = appendJSONString(b, id.Locale)
	b = append(b, `,"time_zone":`...)
	b = appendJSONString(b, id.TimeZone)
	return append(b, '}')
}

// appendJSONTime appends t as time.Time.MarshalJSON does, or reports false
// when MarshalJSON would fail (a year out of RFC 3339's range).
func appendJSONTime(b []byte, t time.Time) ([]byte, bool) {
	b = append(b, '"')
	out, err := t.AppendText(b)
	if err != nil {
		return append(b, '"'), false
	}
	return append(out, '"'), true
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json does with HTML
// escaping on (its Encoder's default): <, > and & as \u003c, \u003e,
// \u0026; control characters escaped; invalid UTF-8 as \ufffd; U+2028 and
// U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
