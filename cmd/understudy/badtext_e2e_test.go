package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/understudy-dev/understudy/openapi"
)

// Text the database cannot store (a NUL, bytes that are not UTF-8), in a
// path, a query, a JSON body or a console form, is the client's mistake:
// 400, never a 500.
func TestConsoleAndAPIRefuseTextTheDatabaseCannotStore(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/environments/%00", ""},
		{"GET", "/v1/environments/%ff", ""},
		{"GET", "/v1/accounts?environment=%00", ""},
		{"GET", "/v1/leases?environment=%ff", ""},
		{"GET", "/v1/plans/%00", ""},
		{"PATCH", "/v1/environments/production/roles/buyer", `{"description":"a\u0000b"}`},
		{"PATCH", "/v1/environments/production/roles/buyer", `{"attributes":{"tier":"a\u0000b"}}`},
	} {
		var resp *http.Response
		var b []byte
		if tc.body != "" {
			resp, b = s.raw(t, s.Admin, tc.method, tc.path, "application/json", strings.NewReader(tc.body))
		} else {
			resp, b = s.raw(t, s.Admin, tc.method, tc.path, "", nil)
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s %s %s: %d, want 400\n%s", tc.method, tc.path, tc.body, resp.StatusCode, b)
		}
	}
	br := newBrowser(t, s)
	if code, _, _ := br.signIn(s.Admin); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", code)
	}
	_, _, page := br.do("GET", "/ui/", nil, nil)
	csrf := csrfIn(t, page)
	for _, tc := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/ui/environments/%00", nil},
		{"GET", "/ui/environments/%ff", nil},
		{"GET", "/ui/accounts?environment=%00", nil},
		{"GET", "/ui/confirm/audit?environment=%00", nil},
		{"POST", "/ui/actions/audit", url.Values{"_csrf": {csrf}, "environment": {"\x00"}}},
		{"POST", "/ui/actions/sync", url.Values{"_csrf": {csrf}, "environment": {"production"}, "destination": {"\xff"}}},
	} {
		if code, _, body := br.do(tc.method, tc.path, tc.form, nil); code != http.StatusBadRequest {
			t.Errorf("%s %s %v: %d, want 400\n%.300s", tc.method, tc.path, tc.form, code, body)
		}
	}
}

// badTexts are the spellings of text PostgreSQL cannot store, as they
// appear escaped in a URL, and as they appear in a JSON string.
var badTexts = []struct{ name, url, json string }{
	{"NUL", "%00", `a\u0000b`},
	{"not UTF-8", "%ff", "a\xffb"},
}

// TestEveryOperationRefusesTextTheDatabaseCannotStore sends a NUL and
// bytes that are not UTF-8 to every operation of openapi.yaml: in each
// path parameter, each query parameter, and each string field of a JSON
// body. Each answer is a 400 problem naming the field (a HEAD's, the
// status alone); none is a 5xx.
func TestEveryOperationRefusesTextTheDatabaseCannotStore(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	doc, err := openapi.Spec()
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	// One parallel subtest per operation (the server takes them at once),
	// inside a group that returns when all of them have.
	t.Run("operations", func(t *testing.T) {
		for _, path := range doc.Paths.InMatchingOrder() {
			for method, op := range doc.Paths.Value(path).Operations() {
				t.Run(method+" "+path, func(t *testing.T) {
					t.Parallel()
					for _, req := range badRequests(path, op) {
						for _, bad := range badTexts {
							target, body := req.build(bad.url, bad.json)
							var resp *http.Response
							var b []byte
							if body != "" {
								resp, b = s.raw(t, s.Admin, method, target, "application/json", strings.NewReader(body))
							} else {
								resp, b = s.raw(t, s.Admin, method, target, "", nil)
							}
							sent.Add(1)
							what := fmt.Sprintf("%s %s, %s in %s", method, path, bad.name, req.field)
							if resp.StatusCode != http.StatusBadRequest {
								t.Errorf("%s: %d, want 400\n%s", what, resp.StatusCode, b)
								continue
							}
							if method == http.MethodHead {
								continue // its problem is the status alone: a HEAD has no body
							}
							if f := fieldsOf(problemOf(t, resp.StatusCode, b, http.StatusBadRequest, "malformed")); f[req.field] == "" {
								t.Errorf("%s: the problem does not name %q: %s", what, req.field, b)
							}
						}
					}
				})
			}
		}
	})
	if sent := sent.Load(); sent < 100 {
		t.Errorf("sent %d requests; the contract has more places for text", sent)
	}
}

// badRequest is one place of one operation where bad text goes: path and
// query are templates whose "{}" takes the bad text, body a JSON template.
type badRequest struct {
	field, path, query, body string
}

func (r badRequest) build(urlText, jsonText string) (string, string) {
	target := strings.ReplaceAll(r.path, "{}", urlText)
	if r.query != "" {
		target += "?" + strings.ReplaceAll(r.query, "{}", urlText)
	}
	return target, strings.ReplaceAll(r.body, "{}", jsonText)
}

// badRequests lists the places of op (at path) that take text: each path
// parameter (the others a plausible name), each query parameter, and each
// string property of its JSON body's schema (or the whole body, when the
// schema has none).
func badRequests(path string, op *openapi3.Operation) []badRequest {
	var params []string
	for seg := range strings.SplitSeq(path, "/") {
		if strings.HasPrefix(seg, "{") {
			params = append(params, strings.Trim(seg, "{}"))
		}
	}
	fill := func(bad string) string {
		p := path
		for _, name := range params {
			v := "production"
			if name == bad {
				v = "{}"
			}
			p = strings.Replace(p, "{"+name+"}", v, 1)
		}
		return p
	}
	var out []badRequest
	for _, name := range params {
		out = append(out, badRequest{field: name, path: fill(name)})
	}
	body := ""
	props := map[string]badRequest{} // by property: the field the problem names, the body
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		// By key: Content.Get would match an artifact's raw "*/*" body,
		// bytes that are not text.
		if mt := op.RequestBody.Value.Content["application/json"]; mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
			for name, p := range mt.Schema.Value.Properties {
				if p.Value == nil {
					continue
				}
				// The other required fields hold plausible values, so the
				// request would reach its handler but for the bad text.
				others := plausible(mt.Schema.Value, name)
				switch v := p.Value; {
				case v.Type.Is("string"):
					props[name] = badRequest{field: name, body: `{` + others + `"` + name + `":"{}"}`}
				case v.Type.Is("array") && v.Items != nil && v.Items.Value != nil && v.Items.Value.Type.Is("string"):
					props[name] = badRequest{field: name + "[0]", body: `{` + others + `"` + name + `":["{}"]}`}
				case v.Type.Is("object") && len(v.Properties) == 0:
					props[name] = badRequest{field: name + ".k", body: `{` + others + `"` + name + `":{"k":"{}"}}`}
				}
			}
			body = "{}"
		}
	}
	for _, p := range op.Parameters {
		if p.Value != nil && p.Value.In == "query" {
			out = append(out, badRequest{field: p.Value.Name, path: fill(""), query: p.Value.Name + "={}"})
		}
	}
	if body != "" {
		for _, name := range slices.Sorted(maps.Keys(props)) {
			r := props[name]
			r.path = fill("")
			out = append(out, r)
		}
		if len(props) == 0 {
			out = append(out, badRequest{field: "body", path: fill(""), body: `"{}"`})
		}
	}
	return out
}

// plausibleValues are the values of required fields that "production"
// would not do for (seed's environment is production).
var plausibleValues = map[string]string{"surface": "leaderboards"}

// plausible returns the required properties of schema but skip, each with
// a plausible value, as JSON members each followed by a comma.
func plausible(schema *openapi3.Schema, skip string) string {
	var b strings.Builder
	for _, name := range schema.Required {
		p := schema.Properties[name]
		if name == skip || p == nil || p.Value == nil {
			continue
		}
		var v any = cmp.Or(plausibleValues[name], "production")
		switch {
		case len(p.Value.Enum) > 0:
			v = p.Value.Enum[0]
		case p.Value.Type.Is("integer"), p.Value.Type.Is("number"):
			v = 1
		case p.Value.Type.Is("boolean"):
			v = false
		case p.Value.Type.Is("array"):
			v = []string{"production"}
		case p.Value.Type.Is("object"):
			b.WriteString(`"` + name + `":{ },`) // not "{}", which build fills
			continue
		}
		j, _ := json.Marshal(v)
		b.WriteString(`"` + name + `":` + string(j) + ",")
	}
	return b.String()
}
