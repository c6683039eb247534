package signature_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/providers/webhook/signature"
)

var (
	secret = []byte("s3cret-for-tests")
	now    = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	body   = []byte(`{"ref":"42","account_id":"a"}`)
)

func TestVerify(t *testing.T) {
	t.Parallel()
	good := signature.Sign(secret, now, body)
	cases := []struct {
		name   string
		header string
		body   []byte
		at     time.Time
		want   error
	}{
		{"valid", good, body, now, nil},
		{"valid within tolerance", good, body, now.Add(4 * time.Minute), nil},
		{"replay after 5 minutes", good, body, now.Add(5*time.Minute + time.Second), signature.ErrExpired},
		{"from the future", signature.Sign(secret, now.Add(10*time.Minute), body), body, now, signature.ErrExpired},
		{"body changed", good, []byte(`{"ref":"43","account_id":"a"}`), now, signature.ErrMismatch},
		{"other secret", signature.Sign([]byte("other"), now, body), body, now, signature.ErrMismatch},
		{"missing", "", body, now, signature.ErrMissing},
		{"no v1", "t=1", body, now, signature.ErrMalformed},
		{"bad hex", "t=1,v1=zz", body, now, signature.ErrMalformed},
		{"garbage", "garbage", body, now, signature.ErrMalformed},
		{"rotation: second v1 matches", good + ",v1=00ff", body, now, nil},
	}
	for _, tc := range cases {
		if err := signature.Verify(secret, tc.header, tc.body, tc.at, 0); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	var seen string
	h := signature.Middleware(secret, 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = string(b)
	}))
	req := httptest.NewRequest("POST", "/restore", strings.NewReader(string(body)))
	req.Header.Set(signature.Header, signature.Sign(secret, time.Now(), body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || seen != string(body) {
		t.Fatalf("signed request: %d, handler saw %q", rec.Code, seen)
	}
	req = httptest.NewRequest("POST", "/restore", strings.NewReader(string(body)))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("unsigned request: %d", rec.Code)
	}
}

// FuzzVerify: whatever the header and body, Verify never panics, and a
// header it accepts is bound to that body and that secret: the same header
// with another body, or checked with another secret, is refused.
func FuzzVerify(f *testing.F) {
	f.Add("t=1,v1=00", []byte("x"))
	f.Add(signature.Sign(secret, now, body), body)
	f.Fuzz(func(t *testing.T, header string, b []byte) {
		if signature.Verify(secret, header, b, now, 0) != nil {
			return
		}
		if signature.Verify(secret, header, append(b, '!'), now, 0) == nil {
			t.Fatalf("header %q also accepts another body", header)
		}
		if signature.Verify([]byte("another secret"), header, b, now, 0) == nil {
			t.Fatalf("header %q is accepted under another secret", header)
		}
	})
}
