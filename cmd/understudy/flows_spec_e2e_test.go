package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// flowSpec is a spec of environment production, role buyer and, unless
// every is empty, flow checkout run by buyer every every.
func flowSpec(t *testing.T, dir, every string) {
	t.Helper()
	src := `environment "production" {
  email_domains = ["qa.example.test"]
}

role "buyer" {
  environment = environment.production.name
}
`
	if every != "" {
		src += `
flow "checkout" {
  environment = environment.production.name
  role        = role.buyer.name
  every       = "` + every + `"
}
`
	}
	if err := os.WriteFile(filepath.Join(dir, "main.understudy.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A flow is planned, applied, changed and destroyed like any object, and
// `understudy plan` shows each change.
func TestFlowsInTheSpecPlanAndApply(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	dir := t.TempDir()
	flowSpec(t, dir, "15m")
	r := mustOK(t, s.cli(t, s.Admin, "plan", "-no-color", dir))
	if !strings.Contains(r.Stdout, `+ flow "checkout" {`) || !strings.Contains(r.Stdout, `+ every       = "15m"`) ||
		!strings.Contains(r.Stdout, "Plan: 3 to add, 0 to change, 0 to destroy.") {
		t.Fatalf("plan:\n%s", r.Stdout)
	}
	if r = mustOK(t, s.cli(t, s.Admin, "apply", "-auto-approve", "-no-color", dir)); !strings.Contains(r.Stdout, "Resources: 3 added, 0 changed, 0 destroyed.") {
		t.Fatalf("apply:\n%s", r.Stdout)
	}
	if r = s.cli(t, s.Admin, "plan", "-detailed-exitcode", "-no-color", dir); r.Code != 0 || !strings.Contains(r.Stdout, "No changes.") {
		t.Fatalf("the plan after apply: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	rs := rows(t, mustOK(t, s.cli(t, s.Reader, "audit", "list", "--action", "flow.create")).Stdout)
	if len(rs) != 1 {
		t.Fatalf("flow.create events: %v", rs)
	}

	flowSpec(t, dir, "5m")
	r = s.cli(t, s.Admin, "plan", "-detailed-exitcode", "-no-color", dir)
	if r.Code != 2 || !strings.Contains(r.Stdout, `~ flow "checkout" {`) || !strings.Contains(r.Stdout, `~ every       = "15m" -> "5m"`) ||
		!strings.Contains(r.Stdout, "Plan: 0 to add, 1 to change, 0 to destroy.") {
		t.Fatalf("the change's plan: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	mustOK(t, s.cli(t, s.Admin, "apply", "-auto-approve", dir))

	flowSpec(t, dir, "")
	r = mustOK(t, s.cli(t, s.Admin, "plan", "-no-color", dir))
	if !strings.Contains(r.Stdout, `- flow "checkout" {`) || !strings.Contains(r.Stdout, "Plan: 0 to add, 0 to change, 1 to destroy.") {
		t.Fatalf("the destroy's plan:\n%s", r.Stdout)
	}
	mustOK(t, s.cli(t, s.Admin, "apply", "-auto-approve", dir))
	if r = s.cli(t, s.Admin, "plan", "-detailed-exitcode", dir); r.Code != 0 {
		t.Fatalf("the plan after the destroy: code %d\n%s", r.Code, r.Stdout)
	}
	resp, _ := s.raw(t, s.Reader, "GET", "/v1/environments/production/flows/checkout", "", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("the flow after the destroy: %d", resp.StatusCode)
	}

	// The server refuses a bad cadence, and the CLI places it at its
	// attribute.
	flowSpec(t, dir, "often")
	r = s.cli(t, s.Admin, "plan", "-no-color", dir)
	if r.Code != exitError || !strings.Contains(r.Stderr, "main.understudy.hcl line 12, in flow \"checkout\"") ||
		!strings.Contains(r.Stderr, `"often" is not a duration`) {
		t.Fatalf("a bad cadence: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}
