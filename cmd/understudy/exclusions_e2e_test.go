package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/openapi"
)

func (s *testServer) tokenOf(t *testing.T, name string, scope access.Scope) string {
	t.Helper()
	_, secret, err := access.NewTokens(s.main.pool).Create(access.WithCaller(context.Background(), access.Caller{Actor: "test"}), name, scope)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func getWith(t *testing.T, url, token string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestTheExclusionListInEveryFormat(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	accts := seed(t, s)
	attachFake(t, s)
	url := s.URL + "/v1/environments/production/exclusions"
	analytics := s.tokenOf(t, "pipeline", access.ScopeAnalytics)

	// JSON, through the generated client (its response is checked against the contract).
	r, err := s.client(t, analytics).GetExclusionsWithResponse(context.Background(), "production", &openapi.GetExclusionsParams{})
	if err != nil || r.JSON200 == nil {
		t.Fatalf("json: %v %s", err, r.Body)
	}
	l := r.JSON200
	// The two accounts' six identifiers came in one version (their pool
	// is written in one statement), then each app ref in its own.
	if len(l.Items) != 2*4 || l.Size != 8 || l.Version != 3 || len(l.Hash) != 64 {
		t.Fatalf("list = %+v", l)
	}
	etag := r.HTTPResponse.Header.Get("ETag")
	want := map[string]bool{}
	for _, a := range accts {
		want[a.Id], want[a.Identity.Email], want[a.Identity.Username] = true, true, true
	}
	for _, e := range l.Items {
		if e.Kind != openapi.AppRef && !want[e.Identifier] {
			t.Fatalf("unexpected entry %+v", e)
		}
	}
	// Text, CSV, NDJSON: by ?format= and by Accept.
	resp, text := getWith(t, url+"?format=text", s.Reader, nil)
	if resp.StatusCode != 200 || strings.Count(text, "\n") != 8 || !strings.Contains(text, accts[0].Identity.Email+"\n") {
		t.Fatalf("text: %d %q", resp.StatusCode, text)
	}
	resp, body := getWith(t, url, s.Reader, map[string]string{"Accept": "text/csv"})
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) != 9 || rows[0][0] != "identifier" {
		t.Fatalf("csv: %v %q", err, body)
	}
	resp, body = getWith(t, url, s.Reader, map[string]string{"Accept": "application/x-ndjson"})
	lines := strings.Split(strings.TrimSpace(body), "\n")
	var head struct{ List struct{ Version int64 } }
	if len(lines) != 9 || json.Unmarshal([]byte(lines[0]), &head) != nil || head.List.Version != l.Version {
		t.Fatalf("ndjson: %q", body)
	}
	// If-None-Match with the current ETag: 304.
	resp, _ = getWith(t, url, s.Reader, map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", resp.StatusCode)
	}
	// A format nobody offers: 406.
	resp, body = getWith(t, url, s.Reader, map[string]string{"Accept": "image/png"})
	if resp.StatusCode != http.StatusNotAcceptable {
		t.Fatalf("Accept image/png: %d %s", resp.StatusCode, body)
	}
	// Retire an account, forget it, and read what changed since.
	if r, _ := s.client(t, s.Admin).RetireAccountWithResponse(context.Background(), accts[0].Id); r.StatusCode() != 200 {
		t.Fatalf("retire: %s", r.Body)
	}
	resp, body = getWith(t, url+"?format=text", s.Reader, nil)
	if !strings.Contains(body, accts[0].Identity.Email) {
		t.Fatal("a retired account left the list")
	}
	before := resp.Header.Get("X-Exclusion-Version")
	f, _ := s.client(t, s.Admin).ForgetExclusionWithResponse(context.Background(), "production", accts[0].Identity.Email)
	if f.JSON200 == nil || len(f.JSON200.Items) != 4 {
		t.Fatalf("forget: %d %s", f.StatusCode(), f.Body)
	}
	resp, body = getWith(t, url+"?format=text&since="+before, s.Reader, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "-"+accts[0].Identity.Email+"\n") {
		t.Fatalf("since %s: %d %q", before, resp.StatusCode, body)
	}
	// The analytics token reads the list and nothing else.
	if r, _ := s.client(t, analytics).ListAccountsWithResponse(context.Background(), nil); r.StatusCode() != http.StatusForbidden {
		t.Fatalf("analytics listing accounts: %d", r.StatusCode())
	}
	if r, _ := s.client(t, analytics).ForgetExclusionWithResponse(context.Background(), "production", accts[1].Id); r.StatusCode() != http.StatusForbidden {
		t.Fatalf("analytics forgetting: %d", r.StatusCode())
	}
}

func TestCLIExclusions(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	accts := seed(t, s)
	res := mustOK(t, s.cli(t, s.Reader, "exclusions", "--environment", "production"))
	if strings.Count(res.Stdout, "\n") != 6 || !strings.Contains(res.Stdout, accts[1].Identity.Email+"\n") {
		t.Fatalf("exclusions (text): %q", res.Stdout)
	}
	res = mustOK(t, s.cli(t, s.Reader, "exclusions", "--environment", "production", "-o", "csv"))
	if rows, err := csv.NewReader(strings.NewReader(res.Stdout)).ReadAll(); err != nil || len(rows) != 7 {
		t.Fatalf("exclusions -o csv: %v %q", err, res.Stdout)
	}
	mustFail(t, s.cli(t, s.Reader, "exclusions", "--environment", "production", "-o", "yaml"), exitUsage, "--output")
	mustFail(t, s.cli(t, s.Reader, "exclusions", "--environment", "nowhere"), exitNotFound, "nowhere")
	mustFail(t, s.cli(t, s.Admin, "exclusions", "forget", accts[0].Id, "--environment", "production"), exitConflict, "retire it first")
}
