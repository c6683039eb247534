package secret_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/secret"
)

// testKey returns a fixed key derived from name, so failures reproduce.
func testKey(name string) []byte {
	k := sha256.Sum256([]byte("understudy/secret/" + name))
	return k[:]
}

func newKeyring(t testing.TB, primary []byte, older ...[]byte) *secret.Keyring {
	t.Helper()
	k, err := secret.NewKeyring(primary, older...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyForms are the ways a key can leak into a message.
func keyForms(raw []byte) []string {
	return []string{
		string(raw),
		base64.StdEncoding.EncodeToString(raw),
		base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw),
		base64.RawURLEncoding.EncodeToString(raw),
		hex.EncodeToString(raw),
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	raw := testKey("a")
	k := newKeyring(t, raw)
	if got, want := k.PrimaryKeyID(), secret.KeyID(raw); got != want {
		t.Fatalf("PrimaryKeyID = %q, want KeyID(key) = %q", got, want)
	}
	for _, plain := range [][]byte{[]byte("hunter2"), {}, bytes.Repeat([]byte{0}, 1000)} {
		aad := []byte("account-1")
		s := k.Seal(plain, aad)
		if s.KeyID != secret.KeyID(raw) {
			t.Errorf("sealed with key id %q, want %q", s.KeyID, secret.KeyID(raw))
		}
		if want := 12 + len(plain) + 16; len(s.Data) != want { // nonce + ciphertext + tag
			t.Errorf("sealed %d bytes into %d, want %d", len(plain), len(s.Data), want)
		}
		if len(plain) > 4 && bytes.Contains(s.Data, plain) {
			t.Errorf("sealed data contains the plaintext")
		}
		got, err := k.Open(s, aad)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("Open = %q, want %q", got, plain)
		}
	}
}

func TestSealUsesAFreshNonce(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, testKey("a"))
	a, b := k.Seal([]byte("same"), nil), k.Seal([]byte("same"), nil)
	if bytes.Equal(a.Data[:12], b.Data[:12]) || bytes.Equal(a.Data, b.Data) {
		t.Fatalf("two seals of the same value share a nonce: %x, %x", a.Data, b.Data)
	}
}

func TestOpenWithTheWrongAADIsCorrupt(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, testKey("a"))
	s := k.Seal([]byte("hunter2"), []byte("account-1"))
	for _, aad := range [][]byte{[]byte("account-2"), nil, []byte("account-1 ")} {
		got, err := k.Open(s, aad)
		if !errors.Is(err, secret.ErrCorrupt) {
			t.Errorf("Open with aad %q = %q, %v; want ErrCorrupt", aad, got, err)
		}
		if got != nil {
			t.Errorf("Open with aad %q returned plaintext %q", aad, got)
		}
	}
}

func TestOpenTamperedDataIsCorrupt(t *testing.T) {
	t.Parallel()
	k := newKeyring(t, testKey("a"))
	aad := []byte("account-1")
	s := k.Seal([]byte("hunter2"), aad)
	// Every bit of the nonce, the ciphertext and the tag is authenticated.
	for i := range s.Data {
		for bit := range 8 {
			d := bytes.Clone(s.Data)
			d[i] ^= 1 << bit
			if _, err := k.Open(secret.Sealed{KeyID: s.KeyID, Data: d}, aad); !errors.Is(err, secret.ErrCorrupt) {
				t.Fatalf("flipping bit %d of byte %d: err = %v, want ErrCorrupt", bit, i, err)
			}
		}
	}
	for _, d := range [][]byte{nil, {}, s.Data[:11], s.Data[:12], s.Data[:len(s.Data)-1], append(bytes.Clone(s.Data), 0)} {
		if _, err := k.Open(secret.Sealed{KeyID: s.KeyID, Data: d}, aad); !errors.Is(err, secret.ErrCorrupt) {
			t.Errorf("Open of %d bytes: err = %v, want ErrCorrupt", len(d), err)
		}
	}
}

func TestRotatedKeyringOpensOldValuesAndSealsWithTheNewKey(t *testing.T) {
	t.Parallel()
	oldKey, newKey := testKey("old"), testKey("new")
	before := newKeyring(t, oldKey)
	old := before.Seal([]byte("old secret"), []byte("a"))

	after := newKeyring(t, newKey, oldKey)
	if got, err := after.Open(old, []byte("a")); err != nil || string(got) != "old secret" {
		t.Fatalf("rotated keyring: Open(old value) = %q, %v; want %q", got, err, "old secret")
	}
	fresh := after.Seal([]byte("new secret"), []byte("a"))
	if fresh.KeyID != secret.KeyID(newKey) || after.PrimaryKeyID() != secret.KeyID(newKey) {
		t.Fatalf("rotated keyring seals with %q (primary %q), want the new key %q", fresh.KeyID, after.PrimaryKeyID(), secret.KeyID(newKey))
	}
	if got, err := after.Open(fresh, []byte("a")); err != nil || string(got) != "new secret" {
		t.Fatalf("rotated keyring: Open(new value) = %q, %v", got, err)
	}
	// The keyring from before the rotation cannot read the new value, and
	// says which key it lacks.
	_, err := before.Open(fresh, []byte("a"))
	if e, ok := errors.AsType[*secret.UnknownKeyError](err); !ok || e.KeyID != secret.KeyID(newKey) {
		t.Fatalf("old keyring: Open(new value) err = %v, want *UnknownKeyError for %s", err, secret.KeyID(newKey))
	}
}

func TestKeyringWithoutTheSealingKeyNamesItsIDNotTheKey(t *testing.T) {
	t.Parallel()
	oldKey, newKey := testKey("old"), testKey("new")
	s := newKeyring(t, oldKey).Seal([]byte("hunter2"), nil)

	got, err := newKeyring(t, newKey).Open(s, nil)
	if got != nil {
		t.Errorf("Open returned plaintext %q", got)
	}
	e, ok := errors.AsType[*secret.UnknownKeyError](err)
	if !ok {
		t.Fatalf("err = %v (%T), want *UnknownKeyError", err, err)
	}
	if e.KeyID != secret.KeyID(oldKey) {
		t.Errorf("KeyID = %q, want %q", e.KeyID, secret.KeyID(oldKey))
	}
	if errors.Is(err, secret.ErrCorrupt) {
		t.Errorf("a missing key is reported as corruption")
	}
	msg := err.Error()
	if !strings.Contains(msg, secret.KeyID(oldKey)) {
		t.Errorf("message %q does not name key id %s", msg, secret.KeyID(oldKey))
	}
	for _, k := range [][]byte{oldKey, newKey} {
		for _, form := range keyForms(k) {
			if strings.Contains(msg, form) {
				t.Errorf("message %q contains a key (%q)", msg, form)
			}
		}
	}
}

func TestKeyIDIsStableAndShort(t *testing.T) {
	t.Parallel()
	raw := make([]byte, secret.KeySize)
	// The first 8 bytes of SHA-256 of 32 zero bytes.
	if got, want := secret.KeyID(raw), "66687aadf862bd77"; got != want {
		t.Errorf("KeyID(zero key) = %q, want %q", got, want)
	}
	if secret.KeyID(testKey("a")) == secret.KeyID(testKey("b")) {
		t.Errorf("two keys share an id")
	}
}

func TestNewKeyringRefusesKeysOfTheWrongLength(t *testing.T) {
	t.Parallel()
	good := testKey("good")
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		bad := bytes.Repeat([]byte{7}, n)
		for _, tc := range []struct {
			name    string
			primary []byte
			older   [][]byte
			index   int
		}{
			{"primary", bad, nil, 0},
			{"older", good, [][]byte{good, bad}, 2},
		} {
			k, err := secret.NewKeyring(tc.primary, tc.older...)
			if err == nil {
				t.Errorf("%s key of %d bytes accepted", tc.name, n)
				continue
			}
			if k != nil {
				t.Errorf("%s key of %d bytes: non-nil keyring with error %v", tc.name, n, err)
			}
			want := fmt.Sprintf("key %d is %d bytes; a key must be 32 bytes", tc.index, n)
			if err.Error() != want {
				t.Errorf("%s key of %d bytes: error %q, want %q", tc.name, n, err, want)
			}
		}
	}
}

func TestParseKeyAcceptsEveryBase64Form(t *testing.T) {
	t.Parallel()
	// A key whose encodings use + and / (standard) or - and _ (URL).
	raw := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:secret.KeySize]
	for _, enc := range []struct {
		name string
		enc  *base64.Encoding
	}{
		{"std", base64.StdEncoding}, {"raw std", base64.RawStdEncoding},
		{"url", base64.URLEncoding}, {"raw url", base64.RawURLEncoding},
	} {
		s := enc.enc.EncodeToString(raw)
		for _, in := range []string{s, " " + s + "\n"} {
			got, err := secret.ParseKey(in)
			if err != nil {
				t.Errorf("%s %q: %v", enc.name, in, err)
				continue
			}
			if !bytes.Equal(got, raw) {
				t.Errorf("%s %q decodes to %x, want %x", enc.name, in, got, raw)
			}
		}
	}
}

func TestGenerateKeyParses(t *testing.T) {
	t.Parallel()
	a, b := secret.GenerateKey(), secret.GenerateKey()
	if a == b {
		t.Fatalf("GenerateKey returned %q twice", a)
	}
	raw, err := secret.ParseKey(a)
	if err != nil || len(raw) != secret.KeySize {
		t.Fatalf("ParseKey(GenerateKey()) = %d bytes, %v", len(raw), err)
	}
	if _, err := secret.NewKeyring(raw); err != nil {
		t.Fatalf("NewKeyring(generated key): %v", err)
	}
}

func TestParseKeyRejectsBadKeysWithoutEchoingThem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
	}{
		{base64.StdEncoding.EncodeToString(testKey("x")[:16]), "the key decodes to 16 bytes; it must be 32 bytes, base64-encoded"},
		{base64.RawURLEncoding.EncodeToString(append(testKey("x"), 1)), "the key decodes to 33 bytes; it must be 32 bytes, base64-encoded"},
		{"", "the key is empty"},
		{"c2VjcmV0LWJ1dC1ub3QtYmFzZTY0!!c2VjcmV0LWJ1dC1ub3Q=", "the key is not valid base64"},
		{"hunter2!hunter2!hunter2!hunter2!hunter2!hunter2!", "the key is not valid base64"},
		{base64.StdEncoding.EncodeToString(testKey("x")) + "==", "the key is not valid base64"},
		{"Zm9v\x00YmFy", "the key is not valid base64"},
	} {
		got, err := secret.ParseKey(tc.in)
		if err == nil {
			t.Errorf("ParseKey(%q) = %x, want an error", tc.in, got)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ParseKey(%q) error %q, want it to start with %q", tc.in, err, tc.want)
		}
		if tc.in != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
			t.Errorf("ParseKey error %q contains its input", err)
		}
	}
}

// parseKeyErrorRE matches every error ParseKey may return: fixed text and a
// length, so it cannot carry the input.
var parseKeyErrorRE = regexp.MustCompile(`^(the key is empty; it must be 32 random bytes, base64-encoded \(openssl rand -base64 32\)|the key decodes to \d+ bytes; it must be 32 bytes, base64-encoded|` +
	`the key is not valid base64; it must be 32 random bytes, base64-encoded \(openssl rand -base64 32\))$`)

// FuzzParseKey is seeded from testdata/fuzz/FuzzParseKey and the f.Add calls.
func FuzzParseKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(testKey("a")))
	f.Add(base64.RawURLEncoding.EncodeToString(testKey("a")))
	f.Add("not base64 at all")
	f.Fuzz(func(t *testing.T, in string) {
		raw, err := secret.ParseKey(in)
		if err != nil {
			if raw != nil {
				t.Errorf("ParseKey(%q) returned bytes with error %v", in, err)
			}
			if !parseKeyErrorRE.MatchString(err.Error()) {
				t.Fatalf("ParseKey(%q) error %q is not one of the fixed messages", in, err)
			}
			return
		}
		if len(raw) != secret.KeySize {
			t.Fatalf("ParseKey(%q) = %d bytes with no error", in, len(raw))
		}
	})
}

// FuzzOpen opens arbitrary sealed values with a keyring of one fixed key (the
// one testdata/fuzz/FuzzOpen's valid seed was sealed with). Nothing panics; a
// value opens only if it is genuine; an unknown key id is reported as such.
func FuzzOpen(f *testing.F) {
	raw := testKey("fuzz-key")
	k := newKeyring(f, raw)
	valid := k.Seal([]byte("hunter2"), []byte("account-1"))
	f.Add(valid.KeyID, valid.Data)
	f.Add(valid.KeyID, []byte{})
	f.Add("", valid.Data)
	f.Add("not-a-key-id", []byte("garbage"))
	f.Fuzz(func(t *testing.T, keyID string, data []byte) {
		plain, err := k.Open(secret.Sealed{KeyID: keyID, Data: data}, []byte("account-1"))
		switch {
		case err == nil:
			// Forging a GCM tag is infeasible: only a genuine value opens.
			if keyID != k.PrimaryKeyID() || string(plain) != "hunter2" {
				t.Fatalf("Open(%q, %x) = %q with no error", keyID, data, plain)
			}
		case keyID == k.PrimaryKeyID():
			if !errors.Is(err, secret.ErrCorrupt) {
				t.Fatalf("Open(%x) with the right key id: err = %v, want ErrCorrupt", data, err)
			}
		default:
			if e, ok := errors.AsType[*secret.UnknownKeyError](err); !ok || e.KeyID != keyID {
				t.Fatalf("Open with key id %q: err = %v, want *UnknownKeyError for it", keyID, err)
			}
		}
		if err != nil {
			if plain != nil {
				t.Errorf("Open returned plaintext %q with error %v", plain, err)
			}
			for _, form := range keyForms(raw) {
				if strings.Contains(err.Error(), form) {
					t.Fatalf("error %q contains the key", err)
				}
			}
		}
	})
}

// Sealed secret sets open only for the purpose they were sealed for.
func TestSealMapOpensOnlyForItsPurpose(t *testing.T) {
	t.Parallel()
	k, err := secret.NewKeyring(bytes.Repeat([]byte{3}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s := k.SealMap(map[string]string{"api_key": "k-123", "dsn": "postgres://x"}, "app-secrets")
	got, err := k.OpenMap(s, "app-secrets")
	if err != nil || got["api_key"] != "k-123" || len(got) != 2 {
		t.Fatalf("open: %v %v", got, err)
	}
	if _, err := k.OpenMap(s, "destination-secrets"); err == nil {
		t.Fatal("an app's secrets opened as a destination's")
	}
	if none, err := k.OpenMap(k.SealMap(nil, "app-secrets"), "app-secrets"); err != nil || len(none) != 0 {
		t.Fatalf("no secrets: %v %v", none, err)
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	a, b := make([]byte, secret.KeySize), make([]byte, secret.KeySize)
	b[0] = 1
	ka, _ := secret.NewKeyring(a)
	kb, _ := secret.NewKeyring(b, a)
	d := ka.Digest("app-secret/token", "s3cret")
	if d != ka.Digest("app-secret/token", "s3cret") {
		t.Fatal("digest is not deterministic")
	}
	if !strings.HasPrefix(d, secret.KeyID(a)+":") || strings.Contains(d, "s3cret") {
		t.Fatalf("digest %q: want the key id in front and no value", d)
	}
	for name, other := range map[string]string{
		"another value":   ka.Digest("app-secret/token", "s3cret2"),
		"another purpose": ka.Digest("app-secret/key", "s3cret"),
		"another key":     kb.Digest("app-secret/token", "s3cret"),
	} {
		if other == d {
			t.Errorf("%s gives the same digest", name)
		}
	}
	m := ka.DigestMap(map[string]string{"token": "s3cret"}, "app-secret")
	if m["token"] != d {
		t.Errorf("DigestMap = %v, want token -> %s", m, d)
	}
}
