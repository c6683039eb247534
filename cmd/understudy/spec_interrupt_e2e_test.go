package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A signal during an apply stops it as Terraform's interrupt does: the
// server finishes the change in progress and starts no other (here it
// stops waiting for the leases on the accounts it would retire), the
// workspace is unlocked, and the CLI lists what was made and exits 1,
// instead of blaming the server and leaving the apply running under the
// workspace's lock.
func TestAnInterruptedApplyStopsUnlocksAndSaysWhatWasApplied(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	if r := s.cli(t, s.Admin, "apply", "-auto-approve", exampleSpec); r.Code != 0 {
		t.Fatalf("first apply: %d %s", r.Code, r.Stderr)
	}
	for range 2 { // both buyers, so that retiring one waits for its lease
		if r := s.cli(t, s.Runner, "leases", "acquire", "--environment", "production", "--role", "buyer", "--ttl", "10m"); r.Code != 0 {
			t.Fatalf("lease: %d %s", r.Code, r.Stderr)
		}
	}
	files := map[string]string{"extra.understudy.hcl": "role \"a_extra\" {\n  environment = environment.staging.name\n  name        = \"extra\"\n}\n"}
	for _, name := range []string{"main.understudy.hcl", "variables.understudy.hcl"} {
		b, err := os.ReadFile(filepath.Join(exampleSpec, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	dir := specDir(t, files)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	env := map[string]string{"UNDERSTUDY_URL": s.URL, "UNDERSTUDY_TOKEN": s.Admin}
	a := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, now: time.Now,
		getenv: func(k string) string { return env[k] }, httpClient: http.DefaultClient}
	done := make(chan int, 1)
	go func() {
		done <- a.run(ctx, []string{"apply", "-auto-approve", "-no-color", "-wait-leases", "10m", "-var", "buyer_pool_size=1", dir})
	}()
	// Interrupt once the apply has made role.a_extra (the first change),
	// while it goes on to role.buyer, which waits for a lease.
	deadline := time.Now().Add(30 * time.Second)
	for s.cli(t, s.Admin, "roles", "get", "staging", "extra").Code != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the apply never made role.a_extra\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	var code int
	select {
	case code = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the interrupted apply did not end within 20s")
	}
	errText := stderr.String()
	if code != 1 || !strings.Contains(errText, "Interrupt received") || !strings.Contains(errText, "role.a_extra: Creation complete") ||
		// Stopped while it waited for the lease, or (on a slow machine)
		// before it started role.buyer: the change in progress completes.
		!(strings.Contains(errText, "interrupted while it waited") || strings.Contains(errText, "interrupted before role.buyer")) ||
		!strings.Contains(errText, "The changes above were made before the error") ||
		strings.Contains(errText, "cannot reach") || strings.Contains(errText, "understudy:") {
		t.Fatalf("code %d\nstdout: %s\nstderr: %s", code, stdout.String(), errText)
	}
	if w := s.cli(t, s.Admin, "workspaces", "show", "default").Stdout; strings.Contains(w, "(apply)") {
		t.Fatalf("the workspace is still locked after the CLI ended:\n%s", w)
	}
	if r := s.cli(t, s.Admin, "leases", "list"); strings.Count(r.Stdout, "active") != 2 {
		t.Fatalf("the leases ended: %s", r.Stdout)
	}
	r := s.cli(t, s.Admin, "plan", "-detailed-exitcode", "-var", "buyer_pool_size=1", dir)
	if r.Code != 2 || !strings.Contains(r.Stdout, "Plan: 0 to add, 1 to change, 0 to destroy.") {
		t.Fatalf("plan after the interrupt: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}
