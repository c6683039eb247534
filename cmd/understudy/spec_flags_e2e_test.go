package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
)

// streamChange is a planned_change or diagnostic of plan -json, with the
// change's reason.
type streamChange struct {
	Type   string `json:"type"`
	Change struct {
		Resource struct {
			Addr string `json:"addr"`
		} `json:"resource"`
		Action string `json:"action"`
		Reason string `json:"reason"`
	} `json:"change"`
	Diagnostic struct {
		Severity, Summary string
	} `json:"diagnostic"`
}

func streamOf(t *testing.T, stdout string) []streamChange {
	t.Helper()
	uiMessages(t, stdout) // every line is a message
	var out []streamChange
	for line := range strings.SplitSeq(strings.TrimSuffix(stdout, "\n"), "\n") {
		var m streamChange
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// -target plans the target and its environment and warns that the plan
// is incomplete, a saved targeted plan applies only those, -replace
// replaces an unchanged role (said as Terraform says it, in text, the UI
// stream and the JSON plan), and a destroy takes -target too.
func TestTargetAndReplaceOnTheCommandLine(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	r := s.cli(t, s.Admin, "plan", "-target=understudy_role.buyer", exampleSpec)
	if r.Code != 0 || !strings.Contains(r.Stdout, `+ environment "production"`) || !strings.Contains(r.Stdout, `+ role "buyer"`) ||
		!strings.Contains(r.Stdout, "Plan: 2 to add, 0 to change, 0 to destroy.") || strings.Contains(r.Stdout, `role "seller"`) ||
		!strings.Contains(r.Stderr, "Warning: Resource targeting is in effect") {
		t.Fatalf("plan -target: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = s.cli(t, s.Admin, "plan", "-target", "understudy_role.buyr", exampleSpec)
	if r.Code != 1 || !strings.Contains(r.Stderr, "-target=understudy_role.buyr") || !strings.Contains(r.Stderr, "did you mean understudy_role.buyer?") {
		t.Fatalf("plan with an unknown target: code %d\n%s", r.Code, r.Stderr)
	}
	r = s.cli(t, s.Admin, "plan", "-json", `-target=understudy_role.staging["buyer"]`, exampleSpec)
	var planned []string
	var warned bool
	for _, m := range streamOf(t, r.Stdout) {
		if m.Type == "planned_change" {
			planned = append(planned, m.Change.Resource.Addr)
		}
		warned = warned || m.Type == "diagnostic" && m.Diagnostic.Severity == "warning" && m.Diagnostic.Summary == "Resource targeting is in effect"
	}
	if r.Code != 0 || strings.Join(planned, " ") != `understudy_environment.staging understudy_role.staging["buyer"]` || !warned || r.Stderr != "" {
		t.Fatalf("plan -json -target: code %d, planned %q, warned %v\n%s\n%s", r.Code, planned, warned, r.Stdout, r.Stderr)
	}

	file := filepath.Join(t.TempDir(), "tfplan")
	if r = s.cli(t, s.Admin, "plan", "-out", file, "-target=understudy_role.buyer", exampleSpec); r.Code != 0 {
		t.Fatalf("plan -out -target: %d %s", r.Code, r.Stderr)
	}
	if r = s.cli(t, s.Admin, "apply", "-target=understudy_role.seller", file); r.Code != 1 || !strings.Contains(r.Stderr, "applies the saved plan as it was made") {
		t.Fatalf("apply -target FILE: code %d\n%s", r.Code, r.Stderr)
	}
	r = s.cli(t, s.Admin, "apply", file)
	if r.Code != 0 || !strings.Contains(r.Stdout, "Apply complete! Resources: 2 added, 0 changed, 0 destroyed.") ||
		!strings.Contains(r.Stderr, "Warning: Applied changes may be incomplete") {
		t.Fatalf("apply of a targeted plan: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r = s.cli(t, s.Admin, "roles", "list", "production"); r.Code != 0 || !strings.Contains(r.Stdout, "buyer") || strings.Contains(r.Stdout, "seller") {
		t.Fatalf("roles after the targeted apply: %d\n%s", r.Code, r.Stdout)
	}
	if r = s.cli(t, s.Admin, "apply", "-auto-approve", exampleSpec); r.Code != 0 || !strings.Contains(r.Stdout, "4 added") {
		t.Fatalf("apply of the rest: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}

	r = s.cli(t, s.Admin, "plan", "-replace=understudy_role.seller", exampleSpec)
	if r.Code != 0 || !strings.Contains(r.Stdout, "# role.seller will be replaced, as requested") ||
		!strings.Contains(r.Stdout, "Plan: 1 to add, 0 to change, 1 to destroy.") || r.Stderr != "" {
		t.Fatalf("plan -replace: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = s.cli(t, s.Admin, "plan", "-json", "-replace=understudy_role.seller", exampleSpec)
	var reason string
	for _, m := range streamOf(t, r.Stdout) {
		if m.Type == "planned_change" && m.Change.Resource.Addr == "understudy_role.seller" && m.Change.Action == "replace" {
			reason = m.Change.Reason
		}
	}
	if r.Code != 0 || reason != "requested" {
		t.Fatalf("plan -json -replace: reason %q\n%s", reason, r.Stdout)
	}
	if r = s.cli(t, s.Admin, "plan", "-out", file, "-replace=understudy_role.seller", exampleSpec); r.Code != 0 {
		t.Fatalf("plan -out -replace: %d %s", r.Code, r.Stderr)
	}
	r = s.cli(t, s.Admin, "show", "-json", file)
	var tp tfjson.Plan
	if err := json.Unmarshal([]byte(r.Stdout), &tp); err != nil || tp.Validate() != nil {
		t.Fatalf("show -json of a plan with -replace: %v\n%s", err, r.Stdout)
	}
	var byRequest bool
	for _, rc := range tp.ResourceChanges {
		if rc.Address == "understudy_role.seller" {
			byRequest = rc.ActionReason == tfjson.ActionReasonReplaceByRequest && rc.Change.Actions.DestroyBeforeCreate()
		}
	}
	if !byRequest || tp.Complete == nil || !*tp.Complete {
		t.Fatalf("show -json: understudy_role.seller not replaced by request, or the plan not complete\n%s", r.Stdout)
	}
	if r = s.cli(t, s.Admin, "apply", file); r.Code != 0 || !strings.Contains(r.Stdout, "Apply complete! Resources: 1 added, 0 changed, 1 destroyed.") {
		t.Fatalf("apply of the replace: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = s.cli(t, s.Admin, "plan", "-replace=understudy_environment.production", exampleSpec)
	if r.Code != 1 || !strings.Contains(r.Stderr, "-replace=understudy_environment.production: environment production keeps the history of") {
		t.Fatalf("plan -replace of an environment with history: code %d\n%s", r.Code, r.Stderr)
	}
	if r = s.cli(t, s.Admin, "plan", "-destroy", "-replace=understudy_role.seller", exampleSpec); r.Code != 1 || !strings.Contains(r.Stderr, "-replace cannot be used with -destroy") {
		t.Fatalf("plan -destroy -replace: code %d\n%s", r.Code, r.Stderr)
	}

	r = s.cli(t, s.Admin, "destroy", "-auto-approve", "-target=understudy_role.buyer")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Destroy complete! Resources: 1 destroyed.") || !strings.Contains(r.Stderr, "Resource targeting is in effect") {
		t.Fatalf("destroy -target: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r = s.cli(t, s.Admin, "roles", "list", "production"); r.Code != 0 || strings.Contains(r.Stdout, "buyer") || !strings.Contains(r.Stdout, "seller") {
		t.Fatalf("roles after destroy -target: %d\n%s", r.Code, r.Stdout)
	}
}

// apply -refresh-only records drift as the workspace's state, changing
// nothing; neither it nor the plan claims a change, and with no drift it
// says "No changes." and 0 of everything.
func TestApplyRefreshOnlyRecordsDriftAndClaimsNoChange(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	if r := s.cli(t, s.Admin, "apply", "-auto-approve", exampleSpec); r.Code != 0 {
		t.Fatalf("apply: %d %s", r.Code, r.Stderr)
	}
	r := s.cli(t, s.Admin, "apply", "-refresh-only", "-auto-approve", exampleSpec)
	if r.Code != 0 || !strings.Contains(r.Stdout, "No changes.") || !strings.Contains(r.Stdout, "Apply complete! Resources: 0 added, 0 changed, 0 destroyed.") {
		t.Fatalf("apply -refresh-only without drift: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// One blank line between the plan and the apply's summary, as Terraform's.
	if !strings.Contains(r.Stdout, "found no differences.\n\nApply complete!") {
		t.Errorf("apply -refresh-only without drift has not one blank line before Apply complete!:\n%q", r.Stdout)
	}
	if r := mustOK(t, s.cli(t, s.Admin, "apply", "-auto-approve", exampleSpec)); !strings.Contains(r.Stdout, "no changes are needed.\n\nApply complete!") {
		t.Errorf("apply without changes has not one blank line before Apply complete!:\n%q", r.Stdout)
	}
	if r = s.cli(t, s.Admin, "roles", "update", "production", "buyer", "--pool", "3"); r.Code != 0 {
		t.Fatalf("roles update: %d %s", r.Code, r.Stderr)
	}
	r = s.cli(t, s.Admin, "plan", "-refresh-only", exampleSpec)
	if r.Code != 0 || !strings.Contains(r.Stdout, "# role.buyer has changed") || strings.Contains(r.Stdout, "to change") {
		t.Fatalf("plan -refresh-only with drift: code %d\n%s", r.Code, r.Stdout)
	}
	r = s.cli(t, s.Admin, "plan", "-json", "-refresh-only", exampleSpec)
	for _, m := range uiMessages(t, r.Stdout) {
		if m.Type == "change_summary" && (m.Changes.Change != 0 || m.Changes.Add != 0 || m.Changes.Remove != 0) {
			t.Errorf("plan -json -refresh-only summary: %+v", m.Changes)
		}
	}
	if r = s.cli(t, s.Admin, "apply", "-refresh-only", exampleSpec); r.Code != 1 || !strings.Contains(r.Stdout, "without changing any object on the server") {
		t.Fatalf("apply -refresh-only without yes: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r = s.cli(t, s.Admin, "apply", "-refresh-only", "-auto-approve", exampleSpec)
	if r.Code != 0 || !strings.Contains(r.Stdout, "Apply complete! Resources: 0 added, 0 changed, 0 destroyed.") || strings.Contains(r.Stdout, "1 changed") {
		t.Fatalf("apply -refresh-only with drift: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r = s.cli(t, s.Admin, "plan", "-refresh-only", "-detailed-exitcode", exampleSpec); r.Code != 0 || !strings.Contains(r.Stdout, "No changes.") {
		t.Fatalf("plan -refresh-only after recording the drift: code %d\n%s", r.Code, r.Stdout)
	}
	// The server kept its pool of 3: a normal plan undoes it.
	if r = s.cli(t, s.Admin, "plan", exampleSpec); r.Code != 0 || !strings.Contains(r.Stdout, "3 -> 2") {
		t.Fatalf("plan after apply -refresh-only: code %d\n%s", r.Code, r.Stdout)
	}
}

// -lock=false is accepted: a plan takes no lock anyway; an apply still
// runs under the server's lock and says so, and a lock taken by hand
// still refuses it. -compact-warnings sums the warnings up in one line
// each at the end, unless there is an error, which shows them in full.
func TestLockFalseAndCompactWarnings(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	if r := s.cli(t, s.Admin, "plan", "-lock=false", exampleSpec); r.Code != 0 || r.Stderr != "" || !strings.Contains(r.Stdout, "Plan: 6 to add") {
		t.Fatalf("plan -lock=false: code %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := s.cli(t, s.Admin, "workspaces", "lock", "default", "--reason", "release freeze"); r.Code != 0 {
		t.Fatalf("workspaces lock: %d %s", r.Code, r.Stderr)
	}
	r := s.cli(t, s.Admin, "apply", "-lock=false", "-compact-warnings", "-auto-approve", exampleSpec)
	if r.Code != 1 || !strings.Contains(r.Stderr, "workspace default is locked") || !strings.Contains(r.Stderr, "Warning: -lock=false has no effect on an apply") ||
		!strings.Contains(r.Stderr, "The server holds the workspace's lock") || strings.Contains(r.Stderr, "Warnings:") {
		t.Fatalf("apply -lock=false of a locked workspace: code %d\n%s", r.Code, r.Stderr)
	}
	if r = s.cli(t, s.Admin, "workspaces", "force-unlock", "default"); r.Code != 0 {
		t.Fatalf("force-unlock: %d %s", r.Code, r.Stderr)
	}
	r = s.cli(t, s.Admin, "apply", "-lock=false", "-compact-warnings", "-auto-approve", "-target=understudy_environment.staging", exampleSpec)
	want := "\nWarnings:\n\n- -lock=false has no effect on an apply\n- Resource targeting is in effect\n- Applied changes may be incomplete\n\n" +
		"To see the full warning notes, run Understudy without -compact-warnings.\n"
	if r.Code != 0 || r.Stderr != want || !strings.Contains(r.Stdout, "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.") {
		t.Fatalf("apply -compact-warnings: code %d\n%s\nstderr: %q", r.Code, r.Stdout, r.Stderr)
	}
	r = s.cli(t, s.Admin, "apply", "-lock=false", "-auto-approve", "-target=understudy_environment.production", exampleSpec)
	if r.Code != 0 || strings.Count(r.Stderr, "Warning: ") != 3 || !strings.Contains(r.Stderr, "The server holds the workspace's lock") {
		t.Fatalf("apply with full warnings: code %d\n%s", r.Code, r.Stderr)
	}
}

// apply -destroy is destroy, as terraform destroy is terraform apply
// -destroy: it asks the destroy question, and with -auto-approve leaves
// the workspace managing nothing. It takes neither -refresh-only nor a
// saved plan.
func TestApplyDestroyIsDestroy(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	if r := s.cli(t, s.Admin, "apply", "-auto-approve", exampleSpec); r.Code != 0 {
		t.Fatalf("apply: %d %s", r.Code, r.Stderr)
	}
	if r := s.cli(t, s.Admin, "apply", "-destroy", "-refresh-only", "-auto-approve", exampleSpec); r.Code != 1 ||
		!strings.Contains(r.Stderr, "-destroy and -refresh-only cannot be used together") {
		t.Fatalf("apply -destroy -refresh-only: %d\n%s", r.Code, r.Stderr)
	}
	saved := filepath.Join(t.TempDir(), "tfplan")
	mustOK(t, s.cli(t, s.Admin, "plan", "-out", saved, exampleSpec))
	if r := s.cli(t, s.Admin, "apply", "-destroy", saved); r.Code != 1 || !strings.Contains(r.Stderr, "-destroy are given when a plan is made") {
		t.Fatalf("apply -destroy PLANFILE: %d\n%s", r.Code, r.Stderr)
	}
	if r := s.cli(t, s.Admin, "apply", "-destroy", exampleSpec); r.Code != 1 || !strings.Contains(r.Stdout, "Do you really want to destroy everything workspace \"default\" manages?") {
		t.Fatalf("apply -destroy without yes: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r := s.cli(t, s.Admin, "apply", "-destroy", "-auto-approve", exampleSpec)
	if r.Code != 0 || !strings.Contains(r.Stdout, "Destroy complete! Resources:") {
		t.Fatalf("apply -destroy -auto-approve: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := s.cli(t, s.Admin, "workspaces", "show", "default"); r.Code != 0 || strings.Contains(r.Stdout, "understudy_") {
		t.Fatalf("after apply -destroy the workspace still manages:\n%s", r.Stdout)
	}
}
