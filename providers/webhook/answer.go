package webhook

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/understudy-dev/understudy/providers"
)

// errSignature marks a 401: the app refused the signature. It is wrapped
// with providers.ErrRefused.
var errSignature = errors.New("its signature was refused")

// problem is the body of a non-2xx answer (RFC 9457 with the contract's code).
type problem struct {
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// decodeAnswer decodes a 2xx answer, which must be a JSON object, into out.
func decodeAnswer(r reply, out any) error {
	if !isObject(r.body) {
		return fmt.Errorf("%w: HTTP %d but the answer is not a JSON object: %q", providers.ErrProtocol, r.status, clip(string(r.body), 120))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		return fmt.Errorf("%w: the answer does not fit the contract: %v", providers.ErrProtocol, err)
	}
	return nil
}

// failure maps a non-2xx answer to the contract's errors; after tells how
// many attempts were made.
func (r reply) failure(after string) error {
	var p problem
	detail := ""
	if json.Unmarshal(r.body, &p) == nil {
		detail = clip(cmp.Or(p.Detail, p.Title), 200)
	} else if b := bytes.TrimSpace(r.body); len(b) > 0 {
		detail = fmt.Sprintf("%q", clip(string(b), 120))
	}
	status := fmt.Sprintf("HTTP %d", r.status)
	if p.Code != "" {
		status += " " + clip(p.Code, 40)
	}
	status += after
	if detail != "" {
		status += ": " + detail
	}
	switch {
	case r.status == http.StatusNotFound && p.Code == "not_found":
		return fmt.Errorf("%w: %s", providers.ErrNotFound, status)
	case r.status == http.StatusNotFound && p.Code == "no_surface":
		return fmt.Errorf("%w: %s", providers.ErrNoSurface, status)
	case r.status == http.StatusNotFound:
		return fmt.Errorf("%w: %s; a 404 without the problem code not_found: is settings.base_url right?", providers.ErrProtocol, status)
	case r.status == http.StatusConflict && p.Code == "not_synthetic":
		return fmt.Errorf("%w: %s", providers.ErrNotSynthetic, status)
	case r.status == http.StatusConflict && p.Code == "not_owned":
		return fmt.Errorf("%w: %s", providers.ErrNotOwned, status)
	case r.status == http.StatusBadRequest || r.status == http.StatusUnprocessableEntity:
		return fmt.Errorf("%w: %s", providers.ErrRefused, status)
	case r.status == http.StatusUnauthorized:
		return fmt.Errorf("%w: %w (%s): check that secrets.%s is the secret the app verifies with",
			providers.ErrRefused, errSignature, status, SecretSigningSecret)
	case r.status == http.StatusTooManyRequests || r.status >= 500:
		return fmt.Errorf("%w: %s", providers.ErrUnavailable, status)
	}
	return fmt.Errorf("%w: %s is not an answer of the contract", providers.ErrProtocol, status)
}

// clip makes s safe to put in a message: an otpauth: URI (an
// authenticator secret) becomes "[totp_uri]", control characters become
// spaces, and it is cut to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	s = providers.RedactTOTPURIs(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
