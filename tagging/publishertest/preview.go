package publishertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/understudy-dev/understudy/tagging"
)

// Sent is one request a Recorder saw.
type Sent struct {
	Method string
	URL    string
	Header http.Header
	Body   string
}

// Recorder is an http.RoundTripper that records each request, then sends it
// through Next: what a publisher really sent, to compare with what its
// Preview said it would send.
type Recorder struct {
	// Next sends the requests. Defaults to http.DefaultTransport.
	Next http.RoundTripper

	mu   sync.Mutex
	sent []Sent
}

// RoundTrip records req and sends it.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.sent = append(r.sent, Sent{Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone(), Body: string(body)})
	r.mu.Unlock()
	if r.Next == nil {
		return http.DefaultTransport.RoundTrip(req)
	}
	return r.Next.RoundTrip(req)
}

// Client returns a client that sends through r.
func (r *Recorder) Client() *http.Client { return &http.Client{Transport: r} }

// Sent returns the requests sent so far whose URL contains part.
func (r *Recorder) Sent(part string) []Sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Sent
	for _, s := range r.sent {
		if strings.Contains(s.URL, part) {
			out = append(out, s)
		}
	}
	return out
}

// CheckPreview fails t unless the previewed requests of action are, in
// order, the sent ones (method, URL and body, after each secret is replaced
// by tagging.Redacted, raw or form-escaped), and no secret appears anywhere
// in preview.
func CheckPreview(t *testing.T, preview []tagging.PreviewRequest, action string, sent []Sent, secrets ...string) {
	t.Helper()
	redact := func(s string) string {
		for _, sec := range secrets {
			s = strings.ReplaceAll(strings.ReplaceAll(s, sec, tagging.Redacted), url.QueryEscape(sec), tagging.Redacted)
		}
		return s
	}
	got := Actions(preview, action)
	if len(got) == 0 || len(got) != len(sent) {
		t.Fatalf("previewed %d %s requests, sent %d: %+v", len(got), action, len(sent), preview)
	}
	for i, p := range got {
		s := sent[i]
		if p.Method != s.Method || p.URL != redact(s.URL) || p.Body != redact(s.Body) {
			t.Errorf("%s request %d previewed as\n%s %s\n%s\nbut sent as\n%s %s\n%s", action, i, p.Method, p.URL, p.Body, s.Method, s.URL, s.Body)
		}
		if p.Identities == 0 {
			t.Errorf("%s request %d previews no identities", action, i)
		}
		if a := s.Header.Get("Authorization"); a != "" && p.Header["Authorization"] != tagging.Redacted {
			t.Errorf("%s request %d shows Authorization %q", action, i, p.Header["Authorization"])
		}
	}
	raw, err := json.Marshal(preview)
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range secrets {
		if sec != "" && (bytes.Contains(raw, []byte(sec)) || bytes.Contains(raw, []byte(url.QueryEscape(sec)))) {
			t.Errorf("a secret appears in the preview: %s", raw)
		}
	}
}

// Actions returns the requests of preview that do action.
func Actions(preview []tagging.PreviewRequest, action string) []tagging.PreviewRequest {
	var out []tagging.PreviewRequest
	for _, p := range preview {
		if p.Action == action {
			out = append(out, p)
		}
	}
	return out
}
