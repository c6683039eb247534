package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/openapi"
	runpkg "github.com/understudy-dev/understudy/run"
)

func TestCLIArtifacts(t *testing.T) {
	t.Parallel()
	x := newArtifactSite(t)
	s, id := x.s, x.lease1
	dir := t.TempDir()
	shot := filepath.Join(dir, "login.png")
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{3}, 2000)...)
	log := filepath.Join(dir, "run-output")
	for p, b := range map[string][]byte{shot: png, log: []byte("GET /feed 500 Internal Server Error\n")} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// put: each file under its base name, typed by extension or content.
	rs := rows(t, mustOK(t, s.cli(t, s.Runner, "artifacts", "put", id, shot, log)).Stdout)
	if len(rs) != 2 || rs[0][0] != "login.png" || rs[0][1] != "2008" || rs[0][2] != "image/png" || rs[1][0] != "run-output" ||
		rs[1][2] != "text/plain" || rs[0][5] != sha256Of(png) {
		t.Fatalf("put printed %v", rs)
	}
	var put openapi.ArtifactList
	res := mustOK(t, s.cli(t, s.Runner, "artifacts", "put", id, log, "--name", "server log.txt", "-o", "json"))
	if json.Unmarshal([]byte(res.Stdout), &put) != nil || len(put.Items) != 1 || put.Items[0].Name != "server log.txt" {
		t.Fatalf("put --name -o json printed %s", res.Stdout)
	}

	// list, as a reader.
	var list openapi.ArtifactList
	res = mustOK(t, s.cli(t, s.Reader, "artifacts", "list", id, "-o", "json"))
	if json.Unmarshal([]byte(res.Stdout), &list) != nil || len(list.Items) != 3 || list.Items[0].Name != "login.png" || list.Items[0].UploadedBy != "test-runner" {
		t.Fatalf("list -o json printed %s", res.Stdout)
	}
	if rs := rows(t, mustOK(t, s.cli(t, s.Reader, "artifacts", "list", id)).Stdout); len(rs) != 3 || rs[2][0] != "server" {
		t.Fatalf("list printed %v", rs)
	}

	// get: to -O FILE, to standard output, and refusing to replace a file.
	out := filepath.Join(t.TempDir(), "copy.png")
	mustOK(t, s.cli(t, s.Reader, "artifacts", "get", id, "login.png", "-O", out))
	if b, err := os.ReadFile(out); err != nil || !bytes.Equal(b, png) {
		t.Fatalf("get -O wrote %d bytes, %v", len(b), err)
	}
	if res := mustOK(t, s.cli(t, s.Reader, "artifacts", "get", id, "run-output", "-O", "-")); res.Stdout != "GET /feed 500 Internal Server Error\n" {
		t.Fatalf("get -O - printed %q", res.Stdout)
	}
	if res := mustOK(t, s.cli(t, s.Reader, "artifacts", "get", id, "server log.txt", "-O", out, "-o", "json")); !strings.Contains(res.Stdout, `"size": 36`) {
		t.Fatalf("get -o json printed %s", res.Stdout)
	}

	// What is refused, with exit codes that say why.
	big := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(big, nil, 0o600); err != nil || os.Truncate(big, runpkg.MaxArtifactBytes+1) != nil {
		t.Fatal("making a file of 10 MiB and a byte")
	}
	mustFail(t, s.cli(t, s.Runner, "artifacts", "put", id, big), exitInvalid, "more than the 10 MiB")
	mustFail(t, s.cli(t, s.Runner, "artifacts", "put", id, shot, "--name", "../escape.png"), exitInvalid, "must not hold /")
	mustFail(t, s.cli(t, s.Reader, "artifacts", "get", id, ".."), exitInvalid, "must not be . or ..")
	mustFail(t, s.cli(t, s.Runner, "artifacts", "put", id, shot, log, "--name", "x"), exitUsage, "--name names one file")
	mustFail(t, s.cli(t, s.Runner, "artifacts", "put", id), exitUsage, "at least one <file>")
	mustFail(t, s.cli(t, s.Runner, "artifacts", "put", id, filepath.Join(dir, "missing")), exitUsage, "no such file")
	mustFail(t, s.cli(t, s.Runner, "artifacts", "put", id, dir), exitUsage, "not a regular file")
	mustFail(t, s.cli(t, x.runner2, "artifacts", "put", id, shot), exitAuth, "only that token or an admin token")
	mustFail(t, s.cli(t, s.Reader, "artifacts", "get", id, "missing.png", "-O", out), exitNotFound, "has no artifact named")
	if b, _ := os.ReadFile(out); len(b) != 36 {
		t.Fatalf("a failed get changed %s", out)
	}
}

// A download is saved only whole, and never over a file that exists
// unless it was named with -O.
func TestSaveArtifact(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	body := []byte("evidence")
	if n, err := saveArtifact(bytes.NewReader(body), path, "a.txt", sha256Of(body), false); err != nil || n != int64(len(body)) {
		t.Fatalf("saving: %d, %v", n, err)
	}
	_, err := saveArtifact(bytes.NewReader([]byte("other")), path, "a.txt", sha256Of([]byte("other")), false)
	if ce, ok := err.(*codedError); !ok || ce.code != exitConflict || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("saving over a file: %v", err)
	}
	_, err = saveArtifact(bytes.NewReader([]byte("cut")), path, "a.txt", sha256Of(body), true)
	if ce, ok := err.(*codedError); !ok || ce.code != exitUnavailable || !strings.Contains(err.Error(), "cut short or changed") {
		t.Fatalf("a download that does not match its digest: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "evidence" {
		t.Fatalf("the file is now %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestUploadArtifactDir(t *testing.T) {
	t.Parallel()
	x := newArtifactSite(t)
	s := x.s
	dir := t.TempDir()
	write := func(rel string, b []byte) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("trace.zip", []byte("PK\x03\x04"))
	write("screenshots/login.png", []byte("\x89PNG"))
	write("screenshots/deep/feed.png", []byte("\x89PNG2"))
	write("screenshots__login.png", []byte("collides with screenshots/login.png"))
	write("logs/"+strings.Repeat("l", 199)+".txt", []byte("a name over 200 bytes"))
	write("big.bin", nil)
	if err := os.Truncate(filepath.Join(dir, "big.bin"), runpkg.MaxArtifactBytes+1); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("not evidence"), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "link.txt")) != nil || os.Symlink(outside, filepath.Join(dir, "linkdir")) != nil {
		t.Fatal("making symbolic links")
	}

	c := s.client(t, s.Runner)
	var warn bytes.Buffer
	res, err := uploadArtifactDir(context.Background(), c, x.lease1, dir, &warn)
	if err != nil {
		t.Fatalf("uploading the directory: %v", err)
	}
	var names []string
	for _, a := range res.Uploaded {
		names = append(names, a.Name)
	}
	if want := []string{"screenshots__deep__feed.png", "screenshots__login.png", "trace.zip"}; !slices.Equal(names, want) {
		t.Fatalf("uploaded %v, want %v", names, want)
	}
	skipped := map[string]string{}
	for _, f := range res.Skipped {
		skipped[f.Path] = f.Reason
	}
	for path, why := range map[string]string{
		"big.bin":                "more than the 10 MiB",
		"link.txt":               "symbolic link",
		"linkdir":                "symbolic link",
		"screenshots__login.png": `is already screenshots/login.png's`,
		"logs/" + strings.Repeat("l", 199) + ".txt": "must be 1 to 200 bytes",
	} {
		if !strings.Contains(skipped[path], why) || !strings.Contains(warn.String(), path) {
			t.Errorf("%s: skipped as %q, want %q (warned: %s)", path, skipped[path], why, warn.String())
		}
	}
	if len(res.Skipped) != 5 {
		t.Errorf("skipped %v", res.Skipped)
	}
	list, _ := s.client(t, s.Reader).ListArtifactsWithResponse(context.Background(), x.lease1)
	if list.JSON200 == nil || len(list.JSON200.Items) != 3 {
		t.Fatalf("the lease lists %s", list.Body)
	}
	if resp, b := s.raw(t, s.Reader, http.MethodGet, artifactPath(x.lease1, "screenshots__deep__feed.png"), "", nil); string(b) != "\x89PNG2" || resp.StatusCode != http.StatusOK {
		t.Fatalf("the nested file came back as %q", b)
	}

	// A token that may not upload stops the walk with its error.
	if _, err := uploadArtifactDir(context.Background(), s.client(t, x.runner2), x.lease1, dir, &warn); err == nil || !strings.Contains(err.Error(), "only that token") {
		t.Fatalf("another runner's upload of the directory: %v", err)
	}
	if _, err := uploadArtifactDir(context.Background(), c, x.lease1, filepath.Join(dir, "missing"), &warn); err == nil || !strings.Contains(err.Error(), "reading the artifacts directory") {
		t.Fatalf("a missing directory: %v", err)
	}
}
