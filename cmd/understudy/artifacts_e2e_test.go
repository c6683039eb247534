package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/openapi"
	runpkg "github.com/understudy-dev/understudy/run"
)

// artifactSite is a server with two leases of the buyer role, one held by
// the runner token, one by a second runner token.
type artifactSite struct {
	s              *testServer
	runner2        string
	lease1, lease2 string
}

func newArtifactSite(t *testing.T) *artifactSite {
	t.Helper()
	s := startServer(t, serverOptions{})
	seed(t, s)
	_, runner2, err := access.NewTokens(s.main.pool).Create(access.WithCaller(context.Background(), access.Caller{Actor: "test"}), "test-runner-2", access.ScopeRunner)
	if err != nil {
		t.Fatal(err)
	}
	x := &artifactSite{s: s, runner2: runner2}
	for i, tok := range []string{s.Runner, runner2} {
		g, err := s.client(t, tok).AcquireLeaseWithResponse(context.Background(), nil,
			openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: fmt.Sprintf("artifacts-%d", i), TtlSeconds: new(600)})
		if err != nil || g.JSON201 == nil {
			t.Fatalf("acquiring a lease: %v %s", err, g.Body)
		}
		*[]*string{&x.lease1, &x.lease2}[i] = g.JSON201.Lease.Id
	}
	return x
}

// artifactPath is the path of artifact name (escaped as a path segment)
// of lease id.
func artifactPath(id, name string) string {
	return "/v1/leases/" + id + "/artifacts/" + url.PathEscape(name)
}

// put uploads body as name of lease id with token.
func (x *artifactSite) put(t *testing.T, token, id, name, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	return x.s.raw(t, token, http.MethodPut, artifactPath(id, name), contentType, bytes.NewReader(body))
}

func TestArtifactsThroughTheAPI(t *testing.T) {
	t.Parallel()
	x := newArtifactSite(t)
	s := x.s
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 100)...)
	resp, b := x.put(t, s.Runner, x.lease1, "screenshots__login failed.png", "image/png", png)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("uploading: %d %s", resp.StatusCode, b)
	}
	var art openapi.Artifact
	if err := json.Unmarshal(b, &art); err != nil || art.Name != "screenshots__login failed.png" || art.Size != int64(len(png)) ||
		art.UploadedBy != "test-runner" || art.ContentType != "image/png" || art.LeaseId != x.lease1 {
		t.Fatalf("uploaded %s", b)
	}
	page := []byte(`<html><body><script>fetch("/v1/tokens")</script></body></html>`)
	for _, up := range []struct {
		name, ct string
		body     []byte
	}{{"report.html", "text/html", page}, {"drawing.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
		{"console.log", "text/plain; charset=iso-8859-1", []byte("GET /feed 500\n")}, {"naïve 日本.json", "application/json", []byte(`{"ok":false}`)}} {
		if resp, b := x.put(t, s.Runner, x.lease1, up.name, up.ct, up.body); resp.StatusCode != http.StatusCreated {
			t.Fatalf("uploading %s: %d %s", up.name, resp.StatusCode, b)
		}
	}

	// A reader lists and downloads them, each as an attachment no browser
	// runs in this origin.
	list, err := s.client(t, s.Reader).ListArtifactsWithResponse(context.Background(), x.lease1)
	if err != nil || list.JSON200 == nil || len(list.JSON200.Items) != 5 || list.JSON200.Items[0].Name != "console.log" {
		t.Fatalf("listing: %v %s", err, list.Body)
	}
	for _, c := range []struct{ name, ct, disposition string }{
		{"screenshots__login failed.png", "image/png", `attachment; filename="screenshots__login failed.png"; filename*=UTF-8''screenshots__login%20failed.png`},
		{"report.html", "application/octet-stream", `attachment; filename="report.html"; filename*=UTF-8''report.html`},
		{"drawing.svg", "application/octet-stream", `attachment; filename="drawing.svg"; filename*=UTF-8''drawing.svg`},
		{"console.log", "text/plain; charset=utf-8", `attachment; filename="console.log"; filename*=UTF-8''console.log`},
		{"naïve 日本.json", "application/json", `attachment; filename="na_ve __.json"; filename*=UTF-8''na%C3%AFve%20%E6%97%A5%E6%9C%AC.json`},
	} {
		resp, body := s.raw(t, s.Reader, http.MethodGet, artifactPath(x.lease1, c.name), "", nil)
		h := resp.Header
		if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != c.ct || h.Get("Content-Disposition") != c.disposition ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != "sandbox" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d %v", c.name, resp.StatusCode, h)
		}
		if c.name == "report.html" && (!bytes.Equal(body, page) || h.Get("ETag") != `"`+sha256Of(page)+`"`) {
			t.Errorf("report.html came back as %q, ETag %s", body, h.Get("ETag"))
		}
	}

	// Re-uploading a name replaces it.
	if resp, b := x.put(t, s.Runner, x.lease1, "report.html", "text/plain", []byte("v2")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("replacing: %d %s", resp.StatusCode, b)
	}
	if _, body := s.raw(t, s.Reader, http.MethodGet, artifactPath(x.lease1, "report.html"), "", nil); string(body) != "v2" {
		t.Fatalf("after replacing: %q", body)
	}
	// An admin may upload to any lease.
	if resp, b := x.put(t, s.Admin, x.lease2, "admin.txt", "text/plain", []byte("a")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("an admin's upload: %d %s", resp.StatusCode, b)
	}
	// No such artifact, no such lease.
	resp, b = s.raw(t, s.Reader, http.MethodGet, artifactPath(x.lease1, "missing.png"), "", nil)
	problemOf(t, resp.StatusCode, b, http.StatusNotFound, "not_found")
	resp, b = x.put(t, s.Runner, "00000000-0000-4000-8000-000000000009", "a.txt", "", []byte("x"))
	problemOf(t, resp.StatusCode, b, http.StatusNotFound, "not_found")

	// Delete: by the lease's token, audited.
	resp, b = s.raw(t, s.Runner, http.MethodDelete, artifactPath(x.lease1, "drawing.svg"), "", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("deleting: %d %s", resp.StatusCode, b)
	}
	resp, b = s.raw(t, s.Reader, http.MethodGet, artifactPath(x.lease1, "drawing.svg"), "", nil)
	problemOf(t, resp.StatusCode, b, http.StatusNotFound, "not_found")
	if ev := auditEvents(t, s, "artifact.delete", x.lease1); len(ev) != 1 || ev[0].Actor != "test-runner" {
		t.Fatalf("delete events: %+v", ev)
	}
	if ev := auditEvents(t, s, "artifact.upload", x.lease1); len(ev) != 6 {
		t.Fatalf("%d upload events, want 6", len(ev))
	}
}

func sha256Of(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// auditEvents lists the audit events of action on lease id, as an admin.
func auditEvents(t *testing.T, s *testServer, action, id string) []openapi.AuditEvent {
	t.Helper()
	resp, err := s.client(t, s.Admin).ListAuditEventsWithResponse(context.Background(),
		&openapi.ListAuditEventsParams{Action: new(action), TargetType: new("lease"), TargetId: new(id)})
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("reading the audit trail: %v %s", err, resp.Body)
	}
	return resp.JSON200.Items
}

func TestArtifactsOfAnotherTokensLeaseAreRefusedAndAudited(t *testing.T) {
	t.Parallel()
	x := newArtifactSite(t)
	s := x.s
	resp, b := x.put(t, x.runner2, x.lease1, "mine.txt", "text/plain", []byte("x"))
	p := problemOf(t, resp.StatusCode, b, http.StatusForbidden, "forbidden")
	if !strings.Contains(p.Detail, "acquired by token test-runner") {
		t.Fatalf("the refusal says %q", p.Detail)
	}
	if ev := auditEvents(t, s, "lease.artifact_upload_denied", x.lease1); len(ev) != 1 || ev[0].Actor != "test-runner-2" {
		t.Fatalf("denial events: %+v", ev)
	}
	if resp, b := x.put(t, s.Runner, x.lease1, "mine.txt", "text/plain", []byte("x")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("the owner's upload: %d %s", resp.StatusCode, b)
	}
	resp, b = s.raw(t, x.runner2, http.MethodDelete, artifactPath(x.lease1, "mine.txt"), "", nil)
	problemOf(t, resp.StatusCode, b, http.StatusForbidden, "forbidden")
	if ev := auditEvents(t, s, "lease.artifact_delete_denied", x.lease1); len(ev) != 1 {
		t.Fatalf("delete denial events: %+v", ev)
	}
	// A reader token may read, never write.
	resp, b = x.put(t, s.Reader, x.lease1, "r.txt", "text/plain", []byte("x"))
	problemOf(t, resp.StatusCode, b, http.StatusForbidden, "forbidden")
	// The refused uploads left nothing.
	if list, _ := s.client(t, s.Reader).ListArtifactsWithResponse(context.Background(), x.lease1); list.JSON200 == nil || len(list.JSON200.Items) != 1 {
		t.Fatalf("listed %s", list.Body)
	}
}

// HEAD answers GET's headers, its size and hash among them, and GET's
// status for a problem. (That no body follows is net/http's doing, for
// any HEAD: a client cannot see one.)
func TestAHeadOfAnArtifactAnswersItsHeadersWithoutItsBytes(t *testing.T) {
	t.Parallel()
	x := newArtifactSite(t)
	s := x.s
	page := []byte(`<html><body>a failed run's page</body></html>`)
	if resp, b := x.put(t, s.Runner, x.lease1, "report.html", "text/html", page); resp.StatusCode != http.StatusCreated {
		t.Fatalf("uploading: %d %s", resp.StatusCode, b)
	}
	get, _ := s.raw(t, s.Reader, http.MethodGet, artifactPath(x.lease1, "report.html"), "", nil)
	head, _ := s.raw(t, s.Reader, http.MethodHead, artifactPath(x.lease1, "report.html"), "", nil)
	if head.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: %d, want 200", head.StatusCode)
	}
	for _, k := range []string{"Content-Type", "Content-Disposition", "X-Content-Type-Options", "Content-Security-Policy", "Cache-Control", "ETag", "Content-Length"} {
		if got, want := head.Header.Get(k), get.Header.Get(k); got != want || want == "" {
			t.Errorf("HEAD's %s is %q, GET's %q", k, got, want)
		}
	}
	if head.ContentLength != int64(len(page)) || head.Header.Get("ETag") != `"`+sha256Of(page)+`"` {
		t.Errorf("HEAD: length %d, ETag %s; want %d and the page's SHA-256", head.ContentLength, head.Header.Get("ETag"), len(page))
	}
	for _, c := range []struct {
		what, token, path string
		status            int
	}{
		{"a missing artifact", s.Reader, artifactPath(x.lease1, "missing.png"), http.StatusNotFound},
		{"no such lease", s.Reader, artifactPath("00000000-0000-4000-8000-000000000009", "report.html"), http.StatusNotFound},
		{"a name that escapes", s.Reader, "/v1/leases/" + x.lease1 + "/artifacts/%2E%2E", http.StatusBadRequest},
		{"no token", "", artifactPath(x.lease1, "report.html"), http.StatusUnauthorized},
	} {
		if resp, _ := s.raw(t, c.token, http.MethodHead, c.path, "", nil); resp.StatusCode != c.status {
			t.Errorf("HEAD of %s: %d, want %d", c.what, resp.StatusCode, c.status)
		}
	}
}

// An artifact whose bytes are gone from the store (its row kept) is not
// found, by GET and HEAD alike.
func TestAnArtifactWhoseBytesAreGoneIsNotFound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, serverOptions{Mutate: func(c *Config) { c.DataDir = dir }})
	seed(t, s)
	g, err := s.client(t, s.Runner).AcquireLeaseWithResponse(context.Background(), nil,
		openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "gone", TtlSeconds: new(600)})
	if err != nil || g.JSON201 == nil {
		t.Fatalf("acquiring a lease: %v %s", err, g.Body)
	}
	id := g.JSON201.Lease.Id
	if resp, b := s.raw(t, s.Runner, http.MethodPut, artifactPath(id, "shot.png"), "image/png", strings.NewReader("png")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("uploading: %d %s", resp.StatusCode, b)
	}
	if err := os.RemoveAll(filepath.Join(dir, "artifacts", id)); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		if resp, _ := s.raw(t, s.Reader, method, artifactPath(id, "shot.png"), "", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s of an artifact whose bytes are gone: %d, want 404", method, resp.StatusCode)
		}
	}
}

// A method the path has no operation for is a 405 that lists those it has
// (RFC 9110, 15.5.6), whoever asks.
func TestAMethodNotAllowedListsTheAllowedOnes(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	for _, c := range []struct{ method, path, allow string }{
		{http.MethodPatch, artifactPath("00000000-0000-4000-8000-000000000009", "a.png"), "DELETE, GET, HEAD, PUT"},
		{http.MethodPost, "/v1/leases/00000000-0000-4000-8000-000000000009/artifacts", "GET"},
		{http.MethodDelete, "/v1/accounts", "GET"},
	} {
		resp, b := s.raw(t, "", c.method, c.path, "", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d, Allow %q, want 405 and %q\n%s", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), c.allow, b)
		}
	}
}

func TestArtifactNamesThatCouldEscapeAreRefusedAtTheDoor(t *testing.T) {
	t.Parallel()
	x := newArtifactSite(t)
	for _, c := range []struct{ raw, says string }{
		{"%2E%2E", "must not be . or .."},
		{"%2E", "must not be . or .."},
		{"..%2Fsecret", "must not hold /"},
		{"a%2Fb.png", "must not hold /"},
		{"..%5Cwin.ini", `must not hold \`},
		{"line%0Abreak", "control character (U+000A"},
		{"bell%07", "control character (U+0007"},
		{"gpj.%E2%80%AEexe", "bidirectional control character (U+202E"},
		{strings.Repeat("a", 201), "must be 1 to 200 bytes; it is 201"},
		{"nul%00", "NUL"},
		{"bad%FFutf8", "not UTF-8"},
	} {
		for _, method := range []string{http.MethodPut, http.MethodGet, http.MethodDelete} {
			var body io.Reader
			if method == http.MethodPut {
				body = strings.NewReader("x")
			}
			resp, b := x.s.raw(t, x.s.Runner, method, "/v1/leases/"+x.lease1+"/artifacts/"+c.raw, "text/plain", body)
			p := problemOf(t, resp.StatusCode, b, http.StatusBadRequest, "malformed")
			if f := fieldsOf(p); !strings.Contains(f["name"], c.says) {
				t.Errorf("%s %s: errors %v, want name saying %q", method, c.raw, f, c.says)
			}
		}
	}
	if list, _ := x.s.client(t, x.s.Reader).ListArtifactsWithResponse(context.Background(), x.lease1); list.JSON200 == nil || len(list.JSON200.Items) != 0 {
		t.Fatalf("bad names stored something: %s", list.Body)
	}
}

func TestAnArtifactIsAtMostTenMiB(t *testing.T) {
	t.Parallel()
	x := newArtifactSite(t)
	s := x.s
	exact := bytes.Repeat([]byte("z"), runpkg.MaxArtifactBytes)
	if resp, b := x.put(t, s.Runner, x.lease1, "exact.bin", "", exact); resp.StatusCode != http.StatusCreated {
		t.Fatalf("exactly 10 MiB: %d %s", resp.StatusCode, b)
	}
	over := append(exact, 'z')
	resp, b := x.put(t, s.Runner, x.lease1, "over.bin", "", over)
	p := problemOf(t, resp.StatusCode, b, http.StatusRequestEntityTooLarge, "too_large")
	if !strings.Contains(p.Detail, "10485760") {
		t.Fatalf("the refusal says %q", p.Detail)
	}
	// Without a Content-Length, the body is cut at the limit all the same.
	req, _ := http.NewRequest(http.MethodPut, s.URL+artifactPath(x.lease1, "chunked.bin"), struct{ io.Reader }{bytes.NewReader(over)})
	req.Header.Set("Authorization", "Bearer "+s.Runner)
	req.ContentLength = -1
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(r2.Body)
	r2.Body.Close()
	if p := problemOf(t, r2.StatusCode, b, http.StatusRequestEntityTooLarge, "too_large"); !strings.Contains(p.Detail, "10485760") {
		t.Errorf("the refusal of a chunked body says %q, want the route's limit", p.Detail)
	}
	list, _ := s.client(t, s.Reader).ListArtifactsWithResponse(context.Background(), x.lease1)
	if list.JSON200 == nil || len(list.JSON200.Items) != 1 || list.JSON200.Items[0].Size != runpkg.MaxArtifactBytes {
		t.Fatalf("listed %s", list.Body)
	}
	// Every other route keeps its own limit: 1 MiB for a JSON body.
	resp, b = s.raw(t, s.Runner, http.MethodPost, "/v1/leases/"+x.lease1+"/renew", "application/json",
		strings.NewReader(`{"ttl_seconds": 600, "x": "`+strings.Repeat("a", 2<<20)+`"}`))
	if p := problemOf(t, resp.StatusCode, b, http.StatusRequestEntityTooLarge, "too_large"); !strings.Contains(p.Detail, "1048576") {
		t.Errorf("the refusal of a JSON body says %q, want 1 MiB", p.Detail)
	}
}

func TestArtifactsAreAcceptedAfterTheLeaseIsReleased(t *testing.T) {
	t.Parallel()
	x := newArtifactSite(t)
	s := x.s
	rel, err := s.client(t, s.Runner).ReleaseLeaseWithResponse(context.Background(), x.lease1, openapi.LeaseRelease{})
	if err != nil || rel.JSON200 == nil || rel.JSON200.Status != "released" {
		t.Fatalf("releasing: %v %s", err, rel.Body)
	}
	if resp, b := x.put(t, s.Runner, x.lease1, "trace.zip", "application/zip", []byte("PK\x03\x04")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("an upload just after the release: %d %s", resp.StatusCode, b)
	}
	// Another token is still refused after the release.
	resp, b := x.put(t, x.runner2, x.lease1, "trace2.zip", "application/zip", []byte("PK"))
	problemOf(t, resp.StatusCode, b, http.StatusForbidden, "forbidden")
}
