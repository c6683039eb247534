package errtrack

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/getsentry/sentry-go"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/tagging"
)

// shapes are the secrets nobody knows in advance that an event must not
// carry, by their form (see tagging.Scrubber.WithShapes).
var shapes = []*regexp.Regexp{
	// Understudy's bearer tokens (and the first characters of one).
	regexp.MustCompile(`\b` + regexp.QuoteMeta(access.TokenPrefix) + `[A-Za-z0-9]{6,}`),
	// The value of a field that names a credential: password=…,
	// "token": "…", api_key: …, Authorization: …
	regexp.MustCompile(`(?i)(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|` +
		`credentials?|authorization|cookie|session(?:[_-]?id)?|sentry_key|sentry_secret|dsn)["']?\s*[=:]\s*["']?(?P<secret>[^\s"'&,;]+)`),
	// The user information of a URL: a DSN's key, a database URL's
	// password, user:password@ of any scheme.
	regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://(?P<secret>[^/\s@?#"'<>]+)@`),
}

// Bounds of what an event carries.
const (
	// maxText bounds a message or an exception's value: Sentry's own
	// limit for a message is 8192 characters.
	maxText = 8 << 10
	// maxScrubbed bounds the text scrubbed before it is cut to maxText.
	maxScrubbed = 64 << 10
	// maxTag bounds a tag's value: Sentry's limit is 200 characters.
	maxTag = 200
)

// keptHeaders are the request headers an event keeps: none of them
// carries a credential.
var keptHeaders = map[string]bool{"Accept": true, "Content-Type": true, "Content-Length": true, "User-Agent": true,
	"X-Request-Id": true, "Hx-Request": true, "Traceparent": true, "Host": true}

// secretParam matches the name of a query parameter that could carry a
// credential: its values are never sent.
var secretParam = regexp.MustCompile(`(?i)token|key|secret|pass|pwd|auth|session|cookie|sig|credential|code|otp|dsn|jwt`)

// scrubEvent is the BeforeSend of every event: it keeps no body, cookie,
// user or breadcrumb, only the request headers of keptHeaders and the
// query values whose names carry no credential, and scrubs every text.
func (r *Reporter) scrubEvent(ev *sentry.Event) *sentry.Event {
	ev.Message = r.text(ev.Message, maxText)
	ev.Transaction = r.text(ev.Transaction, maxTag)
	for i := range ev.Exception {
		ev.Exception[i].Value = r.text(ev.Exception[i].Value, maxText)
	}
	for k, v := range ev.Tags {
		ev.Tags[k] = r.text(v, maxTag)
	}
	ev.Breadcrumbs = nil
	ev.User = sentry.User{}
	ev.Request = r.request(ev.Request)
	ev.Contexts = r.contexts(ev.Contexts)
	return ev
}

// text is s scrubbed and cut to max bytes.
func (r *Reporter) text(s string, max int) string {
	return cut(r.scrub.Scrub(cut(s, maxScrubbed)), max)
}

// cut cuts s to at most max bytes at a character's start, marking the cut.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// request keeps of in its method, its URL without user information,
// query or fragment, the headers of keptHeaders, and the query with the
// values of credential-like names blanked; all of it scrubbed.
func (r *Reporter) request(in *sentry.Request) *sentry.Request {
	if in == nil {
		return nil
	}
	out := &sentry.Request{Method: r.text(in.Method, maxTag), Headers: map[string]string{}}
	if u, err := url.Parse(in.URL); err == nil {
		u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
		out.URL = r.text(u.String(), maxText)
	}
	for k, v := range in.Headers {
		if keptHeaders[http.CanonicalHeaderKey(k)] {
			out.Headers[k] = r.text(v, maxText)
		}
	}
	out.QueryString = r.query(in.QueryString)
	return out
}

// query is a query string with every value of a name secretParam matches
// replaced by tagging.Redacted and the others scrubbed; one that cannot
// be read is dropped whole.
func (r *Reporter) query(raw string) string {
	if raw == "" {
		return ""
	}
	q, err := url.ParseQuery(cut(raw, maxScrubbed))
	if err != nil {
		return ""
	}
	out := url.Values{}
	for name, values := range q {
		key := r.text(name, maxTag)
		for _, v := range values {
			if secretParam.MatchString(name) {
				v = tagging.Redacted
			}
			out.Add(key, r.text(v, maxTag))
		}
	}
	return cut(out.Encode(), maxText)
}

// contexts is a copy of c with its texts scrubbed.
func (r *Reporter) contexts(c map[string]sentry.Context) map[string]sentry.Context {
	if c == nil {
		return nil
	}
	out := make(map[string]sentry.Context, len(c))
	for name, ctx := range c {
		out[name] = r.values(ctx, 0)
	}
	return out
}

// values is a copy of m with its texts scrubbed, to a depth of 4; deeper
// maps are dropped.
func (r *Reporter) values(m map[string]any, depth int) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = r.text(x, maxText)
		case map[string]any:
			if depth < 4 {
				out[k] = r.values(x, depth+1)
			}
		case bool, int, int64, uint64, float64:
			out[k] = x
		default:
			// What the environment integration sets is one of the above;
			// anything else is left out rather than sent unread.
		}
	}
	return out
}

// isLeaseID reports whether s can be a lease's id, to be tagged: a UUID
// or a short run of id characters.
func isLeaseID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	return strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')
	}) < 0
}
