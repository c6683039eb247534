package identity

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// viaEncodingJSON decodes b into a copy of start as encoding/json does
// without Identity's method.
func viaEncodingJSON(b []byte, start Identity) (Identity, error) {
	type identity Identity
	v := identity(start)
	err := json.Unmarshal(b, &v)
	return Identity(v), err
}

// viaMethod decodes b into a copy of start through json.Unmarshal, which
// calls Identity's method.
func viaMethod(b []byte, start Identity) (Identity, error) {
	v := start
	err := json.Unmarshal(b, &v)
	return v, err
}

// prefilled is where decoding starts, so that a key a body leaves out
// shows whether its field was kept, as encoding/json keeps it.
var prefilled = Identity{GivenName: "kept", Email: "kept@example.test", Address: Address{City: "Kept", Country: "KE"}}

func sameDecoding(t *testing.T, body string) {
	t.Helper()
	want, werr := viaEncodingJSON([]byte(body), prefilled)
	got, err := viaMethod([]byte(body), prefilled)
	if (err == nil) != (werr == nil) || got != want {
		t.Fatalf("%q: UnmarshalJSON = %+v (%v), encoding/json = %+v (%v)", body, got, err, want, werr)
	}
}

// plainBodies are what decodePlain reads itself.
var plainBodies = []string{
	`{}`,
	`{"email": "a@qa.example.test", "address": {"city": "Springfield", "country": "US"}, "given_name": "Zoë"}`,
	"{\n \"given_name\" : \"A\" ,\"given_name\":\"B\", \"address\": {}}",
	`{"time_zone":"America/Chicago","locale":"en-US","birth_date":"1988-04-12","phone":"+12025550142","username":"u","display_name":"東京 🎭","family_name":"<&>"}`,
}

func TestUnmarshalJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	gen := Generate(Seed{Environment: "production", Role: "buyer", Slot: 3}, "qa.example.test", time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	marshaled, err := json.Marshal(gen)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range append(plainBodies, string(marshaled)) {
		sameDecoding(t, body)
		v := prefilled
		if !decodePlain(body, &v) {
			t.Errorf("%q is not read in one pass; it should be", body)
		}
	}
	for _, body := range []string{
		// Left to encoding/json: escapes, unknown or differently cased
		// keys, nulls, other types, bytes that are not UTF-8, control
		// characters, not JSON.
		`{"given_name":"a\"b"}`, `{"given_name":"\u00e9"}`, `{"nickname":"x"}`, `{"Email":"x"}`, `{"EMAIL":"x","email":"y"}`,
		`{"email":null}`, `{"address":null}`, `null`, `{"address":{"city":null}}`, `{"address":{"zip":"1"}}`,
		`{"email":1}`, `{"address":"x"}`, `{"email":["x"]}`, "{\"email\":\"\xff\"}", "{\"email\":\"a\tb\"}",
		`{"email":"x"} {}`, `{"email":"x",}`, `{"email" "x"}`, `{"email":"x"`, `[]`, ``, `"x"`,
	} {
		sameDecoding(t, body)
	}
}

func TestScanDecodesAsPgxDid(t *testing.T) {
	t.Parallel()
	for _, body := range append(plainBodies, `{"given_name":"a\u0041","address":{"city":"x"}}`, `{"email":1}`, `nope`) {
		want, werr := viaEncodingJSON([]byte(body), Identity{}) // pgx zeroed the identity, then unmarshaled
		for _, src := range []any{[]byte(body), body} {
			got := prefilled
			err := got.Scan(src)
			if (err == nil) != (werr == nil) || (err == nil && got != want) {
				t.Errorf("Scan(%T %q) = %+v (%v), want %+v (%v)", src, body, got, err, want, werr)
			}
		}
	}
	var id Identity
	if err := id.Scan(nil); err == nil {
		t.Error("Scan(nil) accepted NULL; pgx refused it")
	}
	if err := id.Scan(42); err == nil {
		t.Error("Scan(42) accepted a number")
	}
}

// TestPlainFieldsAreEveryField holds identityField and addressField to the
// structs' fields and JSON names, so that a field added later is decoded.
func TestPlainFieldsAreEveryField(t *testing.T) {
	t.Parallel()
	var id Identity
	check := func(v reflect.Value, field func(string) *string) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Type.Kind() == reflect.Struct {
				continue
			}
			if f.Type.Kind() != reflect.String || field(name) != v.Field(i).Addr().Interface().(*string) {
				t.Errorf("field %s (%q) is not decoded by decodePlain: add it", f.Name, name)
			}
		}
	}
	check(reflect.ValueOf(&id).Elem(), func(k string) *string { return identityField(&id, k) })
	check(reflect.ValueOf(&id.Address).Elem(), func(k string) *string { return addressField(&id.Address, k) })
	if n := reflect.TypeFor[Identity]().NumField(); n != 10 {
		t.Errorf("Identity has %d fields; decodePlain knows 9 strings and the address: update it", n)
	}
}

func FuzzUnmarshalJSON(f *testing.F) {
	for _, b := range plainBodies {
		f.Add(b)
	}
	f.Add(`{"address":{"city":"a\u0041"},"email":"x"}`)
	f.Fuzz(func(t *testing.T, body string) {
		sameDecoding(t, body)
	})
}

func BenchmarkUnmarshalJSON(b *testing.B) {
	gen := Generate(Seed{Environment: "production", Role: "buyer", Slot: 3}, "qa.example.test", time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	body, _ := json.Marshal(gen)
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := viaEncodingJSON(body, Identity{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UnmarshalJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := viaMethod(body, Identity{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
