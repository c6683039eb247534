package tagging

import (
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Redacted replaces every secret in a preview.
const Redacted = "[redacted]"

// PreviewBodyLimit is the most of a body a PreviewRequest shows.
const PreviewBodyLimit = 4 << 10

// PreviewOf describes req, built by a publisher exactly as it would be sent,
// without sending it: each of secrets, in every form a Scrubber knows
// (raw, escaped, base64), is replaced by Redacted in the URL, the headers
// and the body, and the
// Authorization header and the headers named in authHeaders (signatures
// made with a secret) are replaced whole.
func PreviewOf(action string, req *http.Request, identities int, secrets []string, authHeaders ...string) (PreviewRequest, error) {
	var body []byte
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return PreviewRequest{}, err
		}
		defer rc.Close()
		if body, err = io.ReadAll(rc); err != nil {
			return PreviewRequest{}, err
		}
	}
	scrub := NewScrubber(secrets...)
	hidden := append([]string{"Authorization"}, authHeaders...)
	header := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(req.Header)) {
		v := strings.Join(req.Header.Values(k), ", ")
		if slices.ContainsFunc(hidden, func(h string) bool { return http.CanonicalHeaderKey(h) == k }) {
			v = Redacted
		}
		header[k] = scrub.Scrub(v)
	}
	if len(header) == 0 {
		header = nil
	}
	return PreviewRequest{
		Action: action, Method: req.Method, URL: scrub.Scrub(req.URL.String()), Header: header,
		Body: cutBody(scrub.Scrub(string(body)), len(body)), Identities: identities,
	}, nil
}

// cutBody cuts a body longer than PreviewBodyLimit, saying its length as
// sent (n bytes).
func cutBody(s string, n int) string {
	if len(s) <= PreviewBodyLimit {
		return s
	}
	cut := PreviewBodyLimit
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (" + strconv.Itoa(n) + " bytes)"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
