package inbox

import (
	"encoding/base32"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pquerna/otp"

	"github.com/understudy-dev/understudy"
)

// Bounds of a TOTP secret as it is given.
const (
	// MaxTOTPURI is the longest otpauth:// URI (or bare secret) accepted, in bytes.
	MaxTOTPURI = 2048
	// MinTOTPSecret and MaxTOTPSecret bound the decoded secret, in bytes
	// (RFC 4226 asks for at least 128 bits; 10 bytes is what most apps
	// enrol, and 128 bytes is twice SHA-512's block).
	MinTOTPSecret = 10
	MaxTOTPSecret = 128
	// maxTOTPLabel bounds the issuer and the account name.
	maxTOTPLabel = 255
)

// TOTP algorithms.
const (
	AlgorithmSHA1   = "SHA1"
	AlgorithmSHA256 = "SHA256"
	AlgorithmSHA512 = "SHA512"
)

// totpKey is a validated TOTP secret and its parameters. secret is the
// base32 text (upper case, no padding) that is sealed.
type totpKey struct {
	secret      string
	issuer      string
	accountName string
	digits      int
	period      int
	algorithm   string
}

// b32 decodes secrets without padding; parseSecret strips it first.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// parseTOTPInput reads input as an otpauth://totp/ URI when it starts with
// otpauth: (case-insensitively), and as a bare base32 secret otherwise
// (then SHA1, 6 digits, 30 s). field is the request's name of the input
// (uri, secret, totp_uri): errors name it, or its part, and never hold
// the secret or the URI.
func parseTOTPInput(input, field string) (totpKey, error) {
	input = strings.TrimSpace(input)
	switch {
	case input == "":
		return totpKey{}, understudy.Invalid("invalid TOTP secret", understudy.FieldError{Field: field, Detail: "is required"})
	case len(input) > MaxTOTPURI:
		return totpKey{}, understudy.Invalid("invalid TOTP secret", understudy.FieldError{Field: field,
			Detail: fmt.Sprintf("is %d bytes; at most %d are accepted", len(input), MaxTOTPURI)})
	case !utf8.ValidString(input):
		return totpKey{}, understudy.Invalid("invalid TOTP secret", understudy.FieldError{Field: field, Detail: "is not UTF-8 text"})
	}
	if looksLikeURI(input) {
		return parseTOTPURI(input, field)
	}
	k := totpKey{digits: 6, period: 30, algorithm: AlgorithmSHA1}
	var err error
	if k.secret, err = parseSecret(input); err != nil {
		return totpKey{}, understudy.Invalid("invalid TOTP secret", understudy.FieldError{Field: field, Detail: err.Error()})
	}
	return k, nil
}

// looksLikeURI reports whether s starts as a URI of the otpauth scheme.
func looksLikeURI(s string) bool {
	return len(s) >= len("otpauth:") && strings.EqualFold(s[:len("otpauth:")], "otpauth:")
}

// parseTOTPURI reads an otpauth://totp/LABEL?secret=…&issuer=…&digits=…
// &period=…&algorithm=… URI (Google Authenticator's key URI format).
// Every bad part is named at once.
func parseTOTPURI(input, field string) (totpKey, error) {
	bad := func(detail string) error {
		return understudy.Invalid("invalid TOTP secret", understudy.FieldError{Field: field, Detail: detail})
	}
	// The parser's own error repeats the input, secret included: it is
	// never shown.
	key, err := otp.NewKeyFromURL(input)
	if err != nil {
		return totpKey{}, bad("is not a valid URI")
	}
	u, _ := url.Parse(key.String()) // NewKeyFromURL parsed it
	switch {
	case !strings.EqualFold(u.Scheme, "otpauth") || u.Opaque != "":
		return totpKey{}, bad("must be an otpauth://totp/ URI")
	case strings.EqualFold(key.Type(), "hotp"):
		return totpKey{}, bad("is an otpauth://hotp/ (counter-based) secret; only otpauth://totp/ (time-based) secrets are supported")
	case !strings.EqualFold(key.Type(), "totp"):
		return totpKey{}, bad("must be an otpauth://totp/ URI")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return totpKey{}, bad("has a query that cannot be read")
	}
	var fields []understudy.FieldError
	fail := func(part, detail string) {
		fields = append(fields, understudy.FieldError{Field: field + "." + part, Detail: detail})
	}
	for _, name := range []string{"secret", "issuer", "digits", "period", "algorithm"} {
		if len(q[name]) > 1 {
			fail(name, "is given more than once")
		}
	}
	k := totpKey{issuer: key.Issuer(), accountName: key.AccountName()}
	if s, err := parseSecret(q.Get("secret")); err != nil {
		fail("secret", err.Error())
	} else {
		k.secret = s
	}
	k.digits = totpOneOf(q.Get("digits"), map[string]int{"": 6, "6": 6, "8": 8}, func() { fail("digits", "must be 6 or 8") })
	k.period = totpOneOf(q.Get("period"), map[string]int{"": 30, "30": 30, "60": 60}, func() { fail("period", "must be 30 or 60 (seconds)") })
	k.algorithm = totpOneOf(strings.ToUpper(q.Get("algorithm")), map[string]string{"": AlgorithmSHA1, AlgorithmSHA1: AlgorithmSHA1,
		AlgorithmSHA256: AlgorithmSHA256, AlgorithmSHA512: AlgorithmSHA512}, func() {
		fail("algorithm", "must be SHA1, SHA256 or SHA512")
	})
	if detail := labelProblem(k.issuer); detail != "" {
		fail("issuer", detail)
	}
	if detail := labelProblem(k.accountName); detail != "" {
		fail("account_name", detail)
	}
	if len(fields) > 0 {
		return totpKey{}, understudy.Invalid("invalid TOTP secret", fields...)
	}
	return k, nil
}

// totpOneOf returns allowed[v], or calls refuse and returns the zero value.
func totpOneOf[T any](v string, allowed map[string]T, refuse func()) T {
	x, ok := allowed[v]
	if !ok {
		refuse()
	}
	return x
}

// parseSecret normalises a base32 secret (spaces, hyphens and padding
// dropped, upper case) and checks its decoded length. Its error says what
// is wrong without repeating the secret.
func parseSecret(s string) (string, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return unicode.ToUpper(r)
	}, s)
	s = strings.TrimRight(s, "=")
	if s == "" {
		return "", fmt.Errorf("is required: the base32 secret")
	}
	raw, err := b32.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("is not base32 (the letters A-Z and the digits 2-7)")
	}
	if len(raw) < MinTOTPSecret || len(raw) > MaxTOTPSecret {
		return "", fmt.Errorf("decodes to %d bytes; a secret must be %d to %d bytes", len(raw), MinTOTPSecret, MaxTOTPSecret)
	}
	return s, nil
}

// labelProblem says what is wrong with an issuer or account name, or "".
func labelProblem(s string) string {
	switch {
	case utf8.RuneCountInString(s) > maxTOTPLabel:
		return fmt.Sprintf("is %d characters; at most %d are accepted", utf8.RuneCountInString(s), maxTOTPLabel)
	case !utf8.ValidString(s):
		return "is not UTF-8 text"
	case strings.ContainsFunc(s, unicode.IsControl):
		return "holds a control character"
	}
	return ""
}
