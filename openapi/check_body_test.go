package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/isolation"
)

// generalWay runs body through what the gate does for a check body it does
// not read itself: readBody's checks, checkText, kin-openapi's validation,
// then the handler's decoding. It returns the decoded body, or the error.
func generalWay(t testing.TB, g *gate, target, contentType, body string) (*IsolationCheck, error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	route, params, ok := g.find(req)
	if !ok {
		t.Fatalf("no route for POST %s", target)
	}
	raw, decoded, err := readBody(req)
	if terr := checkText(req, params, headerParams(route), raw, decoded); terr != nil {
		return nil, terr
	}
	if err != nil {
		return nil, err
	}
	if err := validateRequest(req, route, params); err != nil {
		return nil, err
	}
	in := new(IsolationCheck)
	if err := decode(echo.New().NewContext(req, httptest.NewRecorder()), in); err != nil {
		return nil, err
	}
	return in, nil
}

// fastWay is readCheckBody on a request of body.
func fastWay(target, contentType, body string) (*IsolationCheck, bool, *http.Request) {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	in, ok := readCheckBody(req)
	return in, ok, req
}

// checkBodies are bodies both ways see: plain ones the gate reads itself,
// and every kind it leaves to the general way.
var checkBodies = []string{
	`{"environment":"production","surface":"leaderboards","viewer":"someone@example.com","subjects":["a@qa.example.test","chirp:42"]}`,
	" {\n\t\"subjects\" : [ ] , \"viewer\":\"v\",\"surface\":\"feed\",\"environment\":\"e\"\r\n} \n",
	`{"environment":"p","surface":"s","viewer":"v","subjects":["", "a,b]", "x"]}`,
	`{"environment":"p","surface":"s","viewer":"v","subjects":["` + strings.Repeat("x", 500) + `"]}`,
	`{"environment":"p","surface":"` + strings.Repeat("s", 63) + `","viewer":"` + strings.Repeat("v", 500) + `","subjects":[]}`,
	// Left to the general way: out of bounds, missing, unknown, repeated
	// or null keys, wrong types, escapes, text outside ASCII, NUL,
	// bytes that are not UTF-8, trailing data, not JSON.
	`{"environment":"p","surface":"s","viewer":"v","subjects":["` + strings.Repeat("x", 501) + `"]}`,
	`{"environment":"p","surface":"` + strings.Repeat("s", 64) + `","viewer":"v","subjects":[]}`,
	`{"environment":"","surface":"s","viewer":"v","subjects":[]}`,
	`{"environment":"p","surface":"s","viewer":"","subjects":[]}`,
	`{"environment":"p","surface":"s","subjects":[]}`,
	`{"environment":"p","surface":"s","viewer":"v","subjects":[],"extra":1}`,
	`{"environment":"p","environment":"q","surface":"s","viewer":"v","subjects":[]}`,
	`{"environment":"p","surface":"s","viewer":null,"subjects":[]}`,
	`{"environment":"p","surface":"s","viewer":"v","subjects":null}`,
	`{"environment":"p","surface":"s","viewer":"v","subjects":[null]}`,
	`{"environment":"p","surface":"s","viewer":"v","subjects":[1]}`,
	`{"environment":"p","surface":"s","viewer":"v","subjects":"a"}`,
	`{"environment":"p","surface":"s","viewer":"v\u0041","subjects":[]}`,
	`{"environment":"p","surface":"s","viewer":"v","subjects":["a\"b"]}`,
	`{"environment":"p","surface":"s","viewer":"Zoë","subjects":["東京"]}`,
	`{"environment":"p","surface":"s","viewer":"v","subjects":["a\u0000"]}`,
	"{\"environment\":\"p\",\"surface\":\"s\",\"viewer\":\"v\",\"subjects\":[\"\xff\"]}",
	"{\"environment\":\"p\",\"surface\":\"s\",\"viewer\":\"v\",\"subjects\":[\"tab\there\"]}",
	`{"environment":"p","surface":"s","viewer":"v","subjects":[]} {}`,
	`{"environment":"p","surface":"s","viewer":"v","subjects":[],}`,
	`{"environment":"p","surface":"s","viewer":"v","subjects":["a",]}`,
	`{"environment":"p","surface":"s","viewer":"v","subjects":[]`,
	`[]`, ``, `null`, `{}`,
}

// TestCheckBodyAcceptsWhatTheGateAccepts holds readCheckBody to the
// general way: what it accepts, the general way accepts and decodes to the
// same value; what it refuses, it leaves byte for byte to the general way.
// It must also accept the plain bodies, or it would be a detour.
func TestCheckBodyAcceptsWhatTheGateAccepts(t *testing.T) {
	t.Parallel()
	g, err := newGate()
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for i, body := range checkBodies {
		for _, target := range []string{"/v1/isolation/check", "/v1/isolation/check?pretty"} {
			for _, ct := range []string{"application/json", "application/json; charset=utf-8", "text/plain", ""} {
				assertSameWay(t, g, target, ct, body)
				if _, ok, _ := fastWay(target, ct, body); ok {
					accepted++
					if i >= 5 || ct != "application/json" || strings.Contains(target, "?") {
						t.Errorf("readCheckBody accepted body %d at %s as %q; it is for plain bodies only", i, target, ct)
					}
				}
			}
		}
	}
	if accepted != 5 {
		t.Errorf("readCheckBody accepted %d bodies, want the 5 plain ones", accepted)
	}
}

// assertSameWay fails t when readCheckBody accepts a body the general way
// refuses or decodes otherwise, or refuses one without leaving it intact.
func assertSameWay(t *testing.T, g *gate, target, ct, body string) {
	t.Helper()
	fast, ok, req := fastWay(target, ct, body)
	want, werr := generalWay(t, g, target, ct, body)
	if ok {
		if werr != nil || !reflect.DeepEqual(fast, want) {
			t.Fatalf("POST %s (%q) %q: readCheckBody decoded %+v, the general way %+v (%v)", target, ct, body, fast, want, werr)
		}
		return
	}
	if req.Body != nil && req.Body != http.NoBody {
		var left bytes.Buffer
		if _, err := left.ReadFrom(req.Body); err != nil || left.String() != body {
			t.Fatalf("POST %s (%q) %q: readCheckBody left %q (%v), want the body intact", target, ct, body, left.String(), err)
		}
	}
}

// FuzzCheckBody holds readCheckBody to the general way for any body.
func FuzzCheckBody(f *testing.F) {
	for _, b := range checkBodies {
		f.Add(b)
	}
	g, err := newGate()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		assertSameWay(t, g, "/v1/isolation/check", "application/json", body)
	})
}

// TestCheckBodyBoundsAreTheSpec holds parseCheckBody's bounds to
// IsolationCheck in openapi.yaml, so a change of the contract shows here.
func TestCheckBodyBoundsAreTheSpec(t *testing.T) {
	t.Parallel()
	doc, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	s := doc.Components.Schemas["IsolationCheck"].Value
	props := func(name string) (uint64, *uint64) {
		p := s.Properties[name].Value
		if !p.Type.Is("string") || p.Pattern != "" || p.Format != "" || len(p.Enum) > 0 {
			t.Errorf("%s is no longer a plain string: update parseCheckBody", name)
		}
		return p.MinLength, p.MaxLength
	}
	for name, want := range map[string][2]int{"environment": {1, -1}, "surface": {1, checkSurfaceMax}, "viewer": {1, checkViewerMax}} {
		min, max := props(name)
		if got := [2]int{int(min), -1}; max != nil {
			got[1] = int(*max)
			if got != want {
				t.Errorf("%s has lengths %v in openapi.yaml, parseCheckBody %v", name, got, want)
			}
		} else if got != want {
			t.Errorf("%s has lengths %v in openapi.yaml, parseCheckBody %v", name, got, want)
		}
	}
	items := s.Properties["subjects"].Value.Items.Value
	if !items.Type.Is("string") || items.MinLength != 0 || items.MaxLength == nil || *items.MaxLength != checkSubjectMax || items.Pattern != "" {
		t.Errorf("subjects' items changed in openapi.yaml: update parseCheckBody")
	}
	sub := s.Properties["subjects"].Value
	if sub.MinItems != 0 || sub.MaxItems != nil || sub.UniqueItems {
		t.Errorf("subjects has item bounds in openapi.yaml now: update parseCheckBody")
	}
	if len(s.Properties) != 4 || len(s.Required) != 4 || s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
		t.Errorf("IsolationCheck's keys changed in openapi.yaml: update parseCheckBody")
	}
}

// TestCheckResultsMatchEncodingJSON compares the hand-written results with
// what c.JSON wrote, for awkward subjects and every reason, and whole
// responses with and without a query string.
func TestCheckResultsMatchEncodingJSON(t *testing.T) {
	t.Parallel()
	reasons := []isolation.Reason{isolation.ReasonNotSynthetic, isolation.ReasonSelf, isolation.ReasonAllowed, "odd <&> \u2028"}
	var results []isolation.CheckResult
	for i, s := range trickyStrings {
		results = append(results, isolation.CheckResult{Subject: s, Visible: i%2 == 0, Reason: reasons[i%len(reasons)]})
	}
	e := echo.New()
	for _, rs := range [][]isolation.CheckResult{nil, {}, results[:1], results} {
		for _, target := range []string{"/v1/isolation/check", "/v1/isolation/check?pretty"} {
			answer := func(write func(c echo.Context) error) *httptest.ResponseRecorder {
				rec := httptest.NewRecorder()
				if err := write(e.NewContext(httptest.NewRequest(http.MethodPost, target, nil), rec)); err != nil {
					t.Fatal(err)
				}
				return rec
			}
			got := answer(func(c echo.Context) error { return writeCheckResults(c, rs) })
			want := answer(func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]any{"results": nonNil(rs)}) })
			if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) || got.Body.String() != want.Body.String() {
				t.Errorf("%s, %d results: writeCheckResults answered %d %v\n%s\nc.JSON answered %d %v\n%s",
					target, len(rs), got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
			}
		}
	}
}

// BenchmarkCheckBody compares the two ways of reading a check of 1,000
// subjects (the general way without its final decoding).
func BenchmarkCheckBody(b *testing.B) {
	subjects := make([]string, 1000)
	for i := range subjects {
		subjects[i] = fmt.Sprintf("bench-%d@qa.example.test", i)
	}
	body, _ := json.Marshal(map[string]any{"environment": "production", "surface": "leaderboards", "viewer": "someone@example.com", "subjects": subjects})
	g, err := newGate()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := generalWay(b, g, "/v1/isolation/check", "application/json", string(body)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("readCheckBody", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/v1/isolation/check", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if _, ok := readCheckBody(req); !ok {
				b.Fatal("refused")
			}
		}
	})
}
