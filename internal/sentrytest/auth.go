package sentrytest

import (
	"net/http"
	"net/url"
	"strings"
)

// Auth is what a request authenticated with.
type Auth struct {
	// Key is sentry_key, the DSN's public key.
	Key string
	// Version is sentry_version.
	Version string
	// Client is sentry_client, the SDK and its version ("sentry.go/…").
	Client string
}

// authError is a request the fake refuses before reading its envelope.
type authError struct {
	status int
	detail string
}

// authOf reads a request's authentication as Relay does
// (relay-server/src/extractors/request_meta.rs, auth_from_parts): an
// X-Sentry-Auth or "Authorization: Sentry …" header, or sentry_* query
// parameters; none is 401 "missing authorization information", more than
// one 401 "multiple authorization payloads detected".
func authOf(r *http.Request) (Auth, *authError) {
	var pairs []map[string]string
	for _, name := range []string{"X-Sentry-Auth", "Authorization"} {
		h := r.Header.Get(name)
		if len(h) < 7 || !strings.EqualFold(h[:7], "sentry ") {
			continue
		}
		kv, ok := headerPairs(h[7:])
		if !ok {
			return Auth{}, &authError{http.StatusUnauthorized, "bad x-sentry-auth header"}
		}
		pairs = append(pairs, kv)
	}
	if strings.Contains(r.URL.RawQuery, "sentry_") {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return Auth{}, &authError{http.StatusUnauthorized, "bad x-sentry-auth header"}
		}
		kv := map[string]string{}
		for k := range q {
			kv[k] = q.Get(k)
		}
		pairs = append(pairs, kv)
	}
	switch len(pairs) {
	case 0:
		return Auth{}, &authError{http.StatusUnauthorized, "missing authorization information"}
	case 1:
	default:
		return Auth{}, &authError{http.StatusUnauthorized, "multiple authorization payloads detected"}
	}
	kv := pairs[0]
	a := Auth{Key: kv["sentry_key"], Version: kv["sentry_version"], Client: kv["sentry_client"]}
	switch {
	case a.Key == "" || a.Version == "":
		// The documentation makes both required.
		return Auth{}, &authError{http.StatusUnauthorized, "bad x-sentry-auth header"}
	case a.Version != "7":
		return Auth{}, &authError{http.StatusBadRequest, "unsupported protocol version (" + a.Version + ")"}
	case !isHex32(a.Key):
		return Auth{}, &authError{http.StatusBadRequest, "bad sentry DSN public key"}
	}
	return a, nil
}

// headerPairs splits "k=v, k2=v2" into its pairs.
func headerPairs(s string) (map[string]string, bool) {
	kv := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return nil, false
		}
		kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return kv, len(kv) > 0
}

// isHex32 reports whether s is a project key: 32 hex digits.
func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// dsnParts returns the public key and project id of a DSN,
// {PROTOCOL}://{PUBLIC_KEY}:{SECRET_KEY}@{HOST}{PATH}/{PROJECT_ID}.
func dsnParts(dsn string) (key, project string, ok bool) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User == nil || u.Host == "" {
		return "", "", false
	}
	path := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndexByte(path, '/')
	if i < 0 || path[i+1:] == "" {
		return "", "", false
	}
	return u.User.Username(), path[i+1:], true
}
