package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const exampleSpec = "../../examples/spec"

// The acceptance run, in-process against a real server: plan
// shows the creates, apply creates them, a second plan has no changes,
// and a change by hand shows as drift.
func TestTheExampleSpecPlansAppliesAndReportsDrift(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	r := s.cli(t, s.Admin, "plan", exampleSpec)
	if r.Code != 0 || !strings.Contains(r.Stdout, "Plan: 6 to add, 0 to change, 0 to destroy.") ||
		!strings.Contains(r.Stdout, `+ role "buyer"`) || strings.Contains(r.Stdout, "\x1b[") {
		t.Fatalf("plan: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r = s.cli(t, s.Admin, "apply", exampleSpec); r.Code != 1 || !strings.Contains(r.Stderr, "apply cancelled") {
		t.Fatalf("apply without yes: code %d\n%s", r.Code, r.Stderr)
	}
	if r = s.cli(t, s.Admin, "apply", "-auto-approve", exampleSpec); r.Code != 0 || !strings.Contains(r.Stdout, "Apply complete! Resources: 6 added, 0 changed, 0 destroyed.") {
		t.Fatalf("apply: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r = s.cli(t, s.Admin, "plan", "-detailed-exitcode", exampleSpec); r.Code != 0 || !strings.Contains(r.Stdout, "No changes.") {
		t.Fatalf("second plan: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r = s.cli(t, s.Admin, "roles", "update", "production", "buyer", "--pool", "3"); r.Code != 0 {
		t.Fatalf("roles update: %d %s", r.Code, r.Stderr)
	}
	r = s.cli(t, s.Admin, "plan", "-refresh-only", "-detailed-exitcode", exampleSpec)
	if r.Code != 2 || !strings.Contains(r.Stdout, "role.buyer") || !strings.Contains(r.Stdout, "pool_size") || !strings.Contains(r.Stdout, "2 -> 3") {
		t.Fatalf("refresh-only: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = s.cli(t, s.Admin, "plan", "-json", exampleSpec)
	msgs := uiMessages(t, r.Stdout)
	var drift, buyer int
	for _, m := range msgs {
		if m.Type == "resource_drift" {
			drift++
		}
		if m.Type == "planned_change" && m.Change.Resource.Addr == "understudy_role.buyer" {
			buyer++
			if m.Change.Action != "update" {
				t.Errorf("understudy_role.buyer action %q, want update (back to 2)", m.Change.Action)
			}
		}
	}
	if r.Code != 0 || drift != 1 || buyer != 1 {
		t.Fatalf("plan -json: code %d, %d drift, %d buyer changes\n%s", r.Code, drift, buyer, r.Stdout)
	}
}

func TestASavedPlanIsAppliedExactlyOrRefusedAsStale(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	file := filepath.Join(t.TempDir(), "tfplan")
	if r := s.cli(t, s.Admin, "plan", "-out", file, exampleSpec); r.Code != 0 {
		t.Fatalf("plan -out: %d %s", r.Code, r.Stderr)
	}
	r := s.cli(t, s.Admin, "show", "-json", file)
	if r.Code != 0 || !strings.Contains(r.Stdout, `"format_version"`) {
		t.Fatalf("show -json: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	if r := s.cli(t, s.Admin, "environments", "create", "staging", "--email-domain", "qa.example.test"); r.Code != 0 {
		t.Fatalf("environments create: %d %s", r.Code, r.Stderr)
	}
	r = s.cli(t, s.Admin, "apply", file)
	if r.Code != 1 || !strings.Contains(r.Stderr, "stale") {
		t.Fatalf("apply of a stale plan: code %d\n%s", r.Code, r.Stderr)
	}
	if r := s.cli(t, s.Admin, "roles", "list", "production"); r.Code != 3 {
		t.Fatalf("a stale plan changed the server: %d %s", r.Code, r.Stdout)
	}
	// Without the object made by hand, the saved plan applies as it is.
	file2 := filepath.Join(t.TempDir(), "tfplan")
	if r := s.cli(t, s.Admin, "environments", "delete", "staging"); r.Code != 0 {
		t.Fatalf("environments delete: %d %s", r.Code, r.Stderr)
	}
	if r := s.cli(t, s.Admin, "plan", "-out", file2, exampleSpec); r.Code != 0 {
		t.Fatalf("plan -out: %d %s", r.Code, r.Stderr)
	}
	if r := s.cli(t, s.Admin, "apply", file2); r.Code != 0 || !strings.Contains(r.Stdout, "6 added") {
		t.Fatalf("apply FILE: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	if r := s.cli(t, s.Admin, "apply", file2); r.Code != 1 || !strings.Contains(r.Stderr, "applied") {
		t.Fatalf("a plan applied twice: %d %s", r.Code, r.Stderr)
	}
}

func TestARefusedPlanPointsAtTheAttribute(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	r := s.cli(t, s.Admin, "plan", "-var", "email_domain=gmail.com", "-var", "buyer_pool_size=0", exampleSpec)
	if r.Code != 1 {
		t.Fatalf("plan: code %d\n%s", r.Code, r.Stderr)
	}
	for _, want := range []string{"main.understudy.hcl line 10", "Invalid email_domains", "gmail.com is not a controlled domain", "Invalid pool_size", "main.understudy.hcl line 21"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
}

func TestABrokenSpecSendsNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.understudy.hcl"), []byte("environment \"x\" {\n  email_domains = [\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &testServer{URL: "http://127.0.0.1:1"} // nothing listens: a request would fail differently
	r := s.cli(t, "", "plan", dir)
	if r.Code != 1 || !strings.Contains(r.Stderr, "main.understudy.hcl line 3") || strings.Contains(r.Stderr, "cannot reach") {
		t.Fatalf("plan of a broken spec: code %d\n%s", r.Code, r.Stderr)
	}
}

// An apply finding the workspace locked retries for -lock-timeout, and
// goes ahead once the lock is gone.
func TestApplyWaitsForALockedWorkspaceUpToItsLockTimeout(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	if r := s.cli(t, s.Admin, "workspaces", "lock", "default", "--reason", "release freeze"); r.Code != 0 {
		t.Fatalf("lock: %d %s", r.Code, r.Stderr)
	}
	r := s.cli(t, s.Admin, "apply", "-auto-approve", "-lock-timeout", "1s", exampleSpec)
	if r.Code != 1 || !strings.Contains(r.Stderr, "release freeze") {
		t.Fatalf("apply on a locked workspace: %d %s", r.Code, r.Stderr)
	}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		s.cli(t, s.Admin, "workspaces", "force-unlock", "default")
	}()
	if r := s.cli(t, s.Admin, "apply", "-auto-approve", "-lock-timeout", "20s", exampleSpec); r.Code != 0 || !strings.Contains(r.Stdout, "6 added") {
		t.Fatalf("apply after the unlock: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
}
