package openapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/understudy-dev/understudy"
)

// Text PostgreSQL cannot store (SQLSTATE 22021, 22P05) is refused at the
// door, for every operation alike: a NUL character, or bytes that are not
// UTF-8, in a path parameter, a header parameter (Idempotency-Key), a
// query parameter (its name or value) or a string of a JSON body (a key or
// a value). pgdb.Translate maps those
// codes to EMALFORMED too, should anything reach the database another way.

const (
	notUTF8 = "holds bytes that are not UTF-8"
	hasNUL  = "holds a NUL character, which cannot be stored"
)

// badText returns why s cannot be stored, or "".
func badText(s string) string {
	switch {
	case !utf8.ValidString(s):
		return notUTF8
	case strings.IndexByte(s, 0) >= 0:
		return hasNUL
	}
	return ""
}

// checkText refuses a request whose path parameters, header parameters
// (those of headers, the operation's), query or decoded JSON body body (nil
// when it has none) hold text the database cannot store, naming every
// field that does. Errors: EMALFORMED.
func checkText(req *http.Request, params map[string]string, headers []string, raw []byte, body any) error {
	var fields []understudy.FieldError
	add := func(field, detail string) {
		fields = append(fields, understudy.FieldError{Field: field, Detail: detail})
	}
	for name, v := range params {
		if d := badText(v); d != "" {
			add(name, d)
		}
	}
	for _, name := range headers {
		for _, v := range req.Header.Values(name) {
			if d := badText(v); d != "" {
				add(name, d)
				break
			}
		}
	}
	if q, err := url.ParseQuery(req.URL.RawQuery); err == nil {
		for name, vs := range q {
			if d := badText(name); d != "" {
				add("query parameter "+strconv.Quote(strings.ToValidUTF8(name, "\uFFFD")), d)
				continue
			}
			for _, v := range vs {
				if d := badText(v); d != "" {
					add(name, d)
					break
				}
			}
		}
	}
	if !utf8.Valid(raw) {
		fields = append(fields, notUTF8Strings(raw)...)
	} else {
		fields = append(fields, textFields(body, "", "\x00", hasNUL)...)
	}
	if len(fields) == 0 {
		return nil
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Field < fields[j].Field })
	return &understudy.Error{Code: understudy.EMALFORMED, Message: "the request holds text that cannot be stored", Fields: fields}
}

// headerParams returns the names of the header parameters of route's
// operation and of its path.
func headerParams(route *routers.Route) []string {
	var out []string
	for _, list := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, ref := range list {
			if p := ref.Value; p != nil && p.In == openapi3.ParameterInHeader {
				out = append(out, p.Name)
			}
		}
	}
	return out
}

// notUTF8Sentinel stands in for bytes that are not UTF-8 while a body is
// decoded to find the fields that hold them (encoding/json would read
// them as U+FFFD, like a U+FFFD the client meant): a noncharacter, which
// no client has reason to send.
const notUTF8Sentinel = "\ufdd0"

// notUTF8Strings names the fields of the JSON body raw that hold bytes
// that are not UTF-8, or the body itself.
func notUTF8Strings(raw []byte) []understudy.FieldError {
	var v any
	if json.Unmarshal(bytes.ToValidUTF8(raw, []byte(notUTF8Sentinel)), &v) == nil {
		if out := textFields(v, "", notUTF8Sentinel, notUTF8); len(out) > 0 {
			return out
		}
	}
	return []understudy.FieldError{{Field: "body", Detail: notUTF8}}
}

// textFields returns a field error, with detail, for every key or string
// value of the decoded JSON v that holds sub.
func textFields(v any, path, sub, detail string) []understudy.FieldError {
	var out []understudy.FieldError
	switch x := v.(type) {
	case string:
		if strings.Contains(x, sub) {
			out = append(out, understudy.FieldError{Field: cmp.Or(path, "body"), Detail: detail})
		}
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, sub) {
				out = append(out, understudy.FieldError{Field: joinField(path, strconv.QuoteToASCII(k)), Detail: "is a field name that " + detail})
				continue
			}
			out = append(out, textFields(e, joinField(path, k), sub, detail)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, textFields(e, cmp.Or(path, "body")+"["+strconv.Itoa(i)+"]", sub, detail)...)
		}
	}
	return out
}
