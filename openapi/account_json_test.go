package openapi

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/identity"
)

// trickyStrings are what a JSON string encoder gets wrong: HTML, quotes,
// control characters, invalid UTF-8, the JavaScript line separators, and
// text outside ASCII.
var trickyStrings = []string{
	"", "plain", `a"b\c`, "<script>&amp;</script>", "tab\there\nnew\rline\b\f", "\x00\x01\x1f\x7f",
	"\xff\xfe", "caf\xc3", "\u2028\u2029", "Zoë Ångström", "東京都", "emoji 🎭", "\u00e9\u0301",
}

// fill sets every field of v (a pointer to a struct) from rng, recursively,
// so that a field added to accounts.Account later is filled too and the
// comparison with encoding/json sees it.
func fill(t *testing.T, rng *rand.Rand, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		s := trickyStrings[rng.IntN(len(trickyStrings))]
		if rng.IntN(2) == 0 {
			s += trickyStrings[rng.IntN(len(trickyStrings))]
		}
		v.SetString(s)
	case reflect.Int:
		v.SetInt(rng.Int64N(1<<40) - 1<<39)
	case reflect.Pointer:
		if rng.IntN(3) == 0 {
			v.SetZero()
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, rng, v.Elem())
	case reflect.Map:
		if rng.IntN(4) == 0 {
			v.SetZero()
			return
		}
		m := reflect.MakeMap(v.Type())
		for range rng.IntN(5) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(t, rng, k)
			fill(t, rng, e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		if tm, ok := v.Addr().Interface().(*time.Time); ok {
			zones := []*time.Location{time.UTC, time.FixedZone("", 5*3600+30*60), time.FixedZone("", -8*3600)}
			*tm = time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))])
			return
		}
		for i := range v.NumField() {
			fill(t, rng, v.Field(i))
		}
	default:
		t.Fatalf("fill: no rule for a field of kind %s (%s): teach fill and appendAccount about it", v.Kind(), v.Type())
	}
}

func TestAppendAccountMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(6, 2026))
	for i := range 2000 {
		var a accounts.Account
		fill(t, rng, reflect.ValueOf(&a).Elem())
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendAccount(nil, &a)
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("case %d: appendAccount = %v\n%s\nencoding/json:\n%s", i, ok, got, want)
		}
	}
}

func TestAppendAccountRefusesWhatEncodingJSONRefuses(t *testing.T) {
	t.Parallel()
	a := accounts.Account{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := json.Marshal(a); err == nil {
		t.Fatal("encoding/json accepted year 10000; the test needs another bad time")
	}
	if _, ok := appendAccount(nil, &a); ok {
		t.Error("appendAccount accepted a time encoding/json refuses")
	}
}

// TestWriteAccountAnswersAsCJSON compares whole responses: status, headers
// and body, with and without a query string (?pretty makes echo indent).
func TestWriteAccountAnswersAsCJSON(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 2026))
	var a accounts.Account
	fill(t, rng, reflect.ValueOf(&a).Elem())
	e := echo.New()
	for _, target := range []string{"/v1/accounts/x", "/v1/accounts/x?pretty", "/v1/accounts/x?other=1"} {
		answer := func(write func(c echo.Context) error) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			if err := write(e.NewContext(httptest.NewRequest(http.MethodGet, target, nil), rec)); err != nil {
				t.Fatal(err)
			}
			return rec
		}
		plain := plainJSON(e.NewContext(httptest.NewRequest(http.MethodGet, target, nil), httptest.NewRecorder()))
		if want := !strings.Contains(target, "?"); plain != want {
			t.Errorf("GET %s: plainJSON = %v, want %v (the hand-written encoding is for plain requests only)", target, plain, want)
		}
		got := answer(func(c echo.Context) error { return writeAccount(c, http.StatusOK, &a) })
		want := answer(func(c echo.Context) error { return c.JSON(http.StatusOK, a) })
		if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) || got.Body.String() != want.Body.String() {
			t.Errorf("GET %s: writeAccount answered %d %v\n%s\nc.JSON answered %d %v\n%s",
				target, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
		}
	}
}

// FuzzAppendAccount checks appendAccount against encoding/json for any
// strings and numbers.
func FuzzAppendAccount(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s, s, 3, int64(1e9))
	}
	f.Fuzz(func(t *testing.T, s1, s2 string, slot int, unix int64) {
		a := accounts.Account{ID: s1, Environment: s2, Role: s1 + s2, Slot: slot, Generation: -slot, StatusReason: s2,
			Identity:  identity.Identity{GivenName: s2, Address: identity.Address{City: s1}, TimeZone: s1},
			CreatedAt: time.Unix(unix%(1<<35), 0).UTC()}
		want, werr := json.Marshal(a)
		got, ok := appendAccount(nil, &a)
		if ok != (werr == nil) || (ok && !bytes.Equal(got, want)) {
			t.Fatalf("appendAccount = %v\n%s\nencoding/json (%v):\n%s", ok, got, werr, want)
		}
	})
}

// BenchmarkAccountJSON compares the hand-written encoding of a typical
// account with encoding/json's, as c.JSON used it.
func BenchmarkAccountJSON(b *testing.B) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 123456000, time.UTC)
	a := accounts.Account{ID: "0b6a1c1e-8d0f-4b7e-9a55-3f1a2b3c4d5e", Environment: "bench", Role: "buyer", Slot: 7, Generation: 1,
		Status: accounts.StatusReady, Identity: identity.Identity{GivenName: "Zoë", FamilyName: "Ångström", DisplayName: "Zoë Ångström",
			Username: "zoe.angstrom.k3x9", Email: "zoe.angstrom.k3x9@qa.example.test", Phone: "+12025550142",
			Address:   identity.Address{Street: "1428 Elm Street", City: "Springfield", Region: "IL", PostalCode: "62704", Country: "US"},
			BirthDate: "1988-04-12", Locale: "en-US", TimeZone: "America/Chicago"},
		PasswordRotatedAt: now, CreatedAt: now, UpdatedAt: now}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := json.NewEncoder(io.Discard).Encode(&a); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appendAccount", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 2048)
		for b.Loop() {
			buf, _ = appendAccount(buf[:0], &a)
			_, _ = io.Discard.Write(append(buf, '\n'))
		}
	})
}
