package client

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

const (
	testToken = "app-token"
	testEnv   = "production"
)

// signer is one ed25519 key of the fake server.
type signer struct {
	id   string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

// newSigner makes a key from a fixed seed so runs are repeatable.
func newSigner(seed byte) signer {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	priv := ed25519.NewKeyFromSeed(s)
	pub := priv.Public().(ed25519.PublicKey)
	return signer{id: KeyID(pub), pub: pub, priv: priv}
}

// fakeServer serves the signed list and the keys exactly as the contract
// says: ETag "version", 304 on a matching If-None-Match, and the
// X-Understudy-Signature header over the exact body bytes.
type fakeServer struct {
	*httptest.Server

	mu        sync.Mutex
	down      bool
	published []signer // keys served by /v1/isolation/keys
	retired   []signer // keys served by /v1/isolation/keys with retired_at
	signWith  signer
	body      []byte
	sig       []byte // signature of body by signWith
	version   string
	tamper    func([]byte) []byte // applied to the body after signing
	listCalls int
	keyCalls  int
	lastINM   string
}

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	k := newSigner(1)
	f := &fakeServer{published: []signer{k}, signWith: k}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/isolation/keys", f.serveKeys)
	mux.HandleFunc("GET /v1/environments/{env}/isolation/list", f.serveList)
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		http.Error(w, `{"title":"Unauthorized"}`, http.StatusUnauthorized)
		return false
	}
	if f.down {
		http.Error(w, `{"title":"Service Unavailable"}`, http.StatusServiceUnavailable)
		return false
	}
	return true
}

func (f *fakeServer) serveKeys(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keyCalls++
	if !f.authorized(w, r) {
		return
	}
	type key struct {
		KeyID     string  `json:"key_id"`
		PublicKey string  `json:"public_key"`
		Algorithm string  `json:"algorithm"`
		CreatedAt string  `json:"created_at"`
		RetiredAt *string `json:"retired_at"`
	}
	var out struct {
		Keys []key `json:"keys"`
	}
	for _, k := range f.published {
		out.Keys = append(out.Keys, key{KeyID: k.id, PublicKey: base64.StdEncoding.EncodeToString(k.pub),
			Algorithm: "ed25519", CreatedAt: "2026-11-25T20:00:00Z"})
	}
	for _, k := range f.retired {
		out.Keys = append(out.Keys, key{KeyID: k.id, PublicKey: base64.StdEncoding.EncodeToString(k.pub),
			Algorithm: "ed25519", CreatedAt: "2026-11-25T20:00:00Z", RetiredAt: new("2026-11-25T21:00:00Z")})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeServer) serveList(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listCalls++
	f.lastINM = r.Header.Get("If-None-Match")
	if !f.authorized(w, r) {
		return
	}
	if r.PathValue("env") != testEnv || f.body == nil {
		http.Error(w, `{"title":"Not Found"}`, http.StatusNotFound)
		return
	}
	etag := strconv.Quote(f.version)
	if f.lastINM == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	sig := f.sig
	body := f.body
	if f.tamper != nil {
		body = f.tamper(append([]byte(nil), body...))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", etag)
	w.Header().Set(SignatureHeader, "keyid="+f.signWith.id+", ed25519="+base64.StdEncoding.EncodeToString(sig))
	_, _ = w.Write(body)
}

// setList serves l from now on.
func (f *fakeServer) setList(t testing.TB, l wireList) {
	t.Helper()
	body, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	f.setBody(l.Version, body)
}

func (f *fakeServer) setBody(version string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version, f.body = version, body
	f.sig = ed25519.Sign(f.signWith.priv, body)
}

func (f *fakeServer) with(fn func(f *fakeServer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

var testSurfaces = []string{"leaderboards", "social_feed", "public_profile", "search"}

// buyerPolicy is the policy of the test role: one surface of each kind.
var buyerPolicy = policyJSON(map[string]Policy{
	"leaderboards":   PolicyHidden,
	"social_feed":    PolicyTestersOnly,
	"public_profile": PolicyAllowed,
	"search":         PolicyHidden,
})

func policyJSON(p map[string]Policy) json.RawMessage {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return b
}

// smallList has two synthetic accounts, A and B.
func smallList(version string) wireList {
	return wireList{
		Format: ListFormat, Environment: testEnv, Version: version,
		IssuedAt:          time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC),
		ControlledDomains: []string{"qa.example.test"},
		Surfaces:          testSurfaces,
		Identities: []wireIdentity{
			{IDs: []string{"acc-a", "a@qa.example.test", "a_handle", "chirp:1"}, Role: "buyer", Policy: buyerPolicy},
			{IDs: []string{"acc-b", "b@qa.example.test"}, Role: "buyer", Policy: buyerPolicy},
		},
	}
}

// bigList has n identifiers: n/4 identities of four ids each, with a
// random mix of policies from a fixed seed.
func bigList(version string, n int) wireList {
	rng := rand.New(rand.NewPCG(7, 11))
	policies := []Policy{PolicyHidden, PolicyTestersOnly, PolicyAllowed}
	l := smallList(version)
	l.Identities = make([]wireIdentity, 0, n/4)
	for i := range n / 4 {
		p := make(map[string]Policy, len(testSurfaces))
		for _, s := range testSurfaces {
			p[s] = policies[rng.IntN(len(policies))]
		}
		l.Identities = append(l.Identities, wireIdentity{
			IDs: []string{
				fmt.Sprintf("%08x-1f2e-4d3c-9b8a-%012x", i, i*7919),
				fmt.Sprintf("user.%d@qa.example.test", i),
				fmt.Sprintf("user_%d", i),
				fmt.Sprintf("chirp:%d", i),
			},
			Role: "buyer", Policy: policyJSON(p),
		})
	}
	return l
}
