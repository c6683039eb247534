// Package signature signs and verifies the requests of Understudy's webhook
// app contract (openapi/app-webhook.yaml). Understudy signs; apps verify,
// with Verify or the Middleware.
//
// A request carries the header
//
//	X-Understudy-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// Verify refuses a missing or malformed header, a signature that does not
// match (compared in constant time), and a timestamp outside the tolerance
// (5 minutes by default), which stops replays of captured requests.
package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header is the request header that carries the signature.
const Header = "X-Understudy-Signature"

// DefaultTolerance is how old (or how far in the future) a signed request
// may be.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrMissing   = errors.New("signature: the request is not signed")
	ErrMalformed = errors.New("signature: the signature header is malformed")
	ErrExpired   = errors.New("signature: the request is too old (or from the future): a replay is refused")
	ErrMismatch  = errors.New("signature: the signature does not match the body")
)

// Sign returns the header value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte("."))
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks header against body at now. A tolerance of 0 means
// DefaultTolerance.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if header == "" {
		return ErrMissing
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil {
				return ErrMalformed
			}
			sigs = append(sigs, sig)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMalformed
	}
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return ErrExpired
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs { // several v1 values allow a secret rotation
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return ErrMismatch
}

// Middleware verifies every request's signature before next runs, and
// answers 401 with a short reason otherwise. It reads at most maxBody bytes
// of body (1 MiB when 0) and hands next a body it can read again.
func Middleware(secret []byte, maxBody int64, next http.Handler) http.Handler {
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil || int64(len(body)) > maxBody {
			problem(w, http.StatusRequestEntityTooLarge, "invalid", "the request body is too large or unreadable")
			return
		}
		if err := Verify(secret, r.Header.Get(Header), body, time.Now(), 0); err != nil {
			problem(w, http.StatusUnauthorized, "unauthorized", err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// problem answers as the webhook contract says errors are answered.
func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "detail": detail})
}
