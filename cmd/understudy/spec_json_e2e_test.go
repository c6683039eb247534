package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/understudy-dev/understudy/spec"
)

// show -json of a saved plan is Terraform's JSON plan, as terraform-json
// reads it: every address is its type and name, the provider is named,
// and the variables and the configuration are there.
func TestShowJSONIsAPlanTerraformJSONReads(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	file := filepath.Join(t.TempDir(), "tfplan")
	if r := s.cli(t, s.Admin, "plan", "-out", file, "-var", "buyer_pool_size=3", exampleSpec); r.Code != 0 || !strings.HasSuffix(r.Stdout, savedNote(file)) {
		t.Fatalf("plan -out: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	r := s.cli(t, s.Admin, "show", "-json", file)
	if r.Code != 0 {
		t.Fatalf("show -json: %d %s", r.Code, r.Stderr)
	}
	var p tfjson.Plan
	if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil {
		t.Fatalf("show -json is not one JSON document: %v\n%s", err, r.Stdout)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(p.ResourceChanges) != 6 {
		t.Errorf("%d resource changes, want 6", len(p.ResourceChanges))
	}
	var buyer *tfjson.ResourceChange
	for _, rc := range p.ResourceChanges {
		if rc.Address != instanceAddress(rc.Type, rc.Name, rc.Index) || rc.ProviderName != spec.ProviderName || !strings.HasPrefix(rc.Type, "understudy_") {
			t.Errorf("change %q: type %q name %q provider %q", rc.Address, rc.Type, rc.Name, rc.ProviderName)
		}
		if rc.Address == "understudy_role.buyer" {
			buyer = rc
		}
	}
	if buyer == nil || !buyer.Change.Actions.Create() || buyer.Change.After.(map[string]any)["pool_size"] != float64(3) {
		t.Fatalf("understudy_role.buyer: %+v", buyer)
	}
	if v := p.Variables["buyer_pool_size"]; v == nil || v.Value != float64(3) {
		t.Errorf("variable buyer_pool_size %+v", v)
	}
	if v := p.Variables["email_domain"]; v == nil || v.Value != "qa.example.test" {
		t.Errorf("variable email_domain %+v", v)
	}
	if p.Config == nil || len(p.Config.RootModule.Resources) != 6 || p.Config.ProviderConfigs["understudy"] == nil {
		t.Errorf("configuration %+v", p.Config)
	}
	policyInput(t, []byte(r.Stdout))
}

var updatePolicyInput = flag.Bool("update-policy-input", false, "write the show -json output the example policy's test reads (examples/spec/policy/testdata/plan.json)")

// policyInput checks that a real show -json output has every field the
// example policy (examples/spec/policy/spec.rego) reads, with the -var
// buyer_pool_size=3 the test plans with, and with -update-policy-input
// writes it for the policy's own test, which runs OPA on it.
func policyInput(t *testing.T, out []byte) {
	t.Helper()
	var plan struct {
		ResourceChanges []struct {
			Address *string `json:"address"`
			Type    *string `json:"type"`
			Change  struct {
				Actions []string       `json:"actions"`
				After   map[string]any `json:"after"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(out, &plan); err != nil {
		t.Fatal(err)
	}
	roles := 0
	for _, rc := range plan.ResourceChanges {
		if rc.Address == nil || rc.Type == nil || len(rc.Change.Actions) == 0 {
			t.Fatalf("a resource change lacks a field the policy reads: %+v", rc)
		}
		if *rc.Type == "understudy_role" {
			roles++
			if _, ok := rc.Change.After["pool_size"].(float64); !ok {
				t.Errorf("%s: change.after.pool_size is %v", *rc.Address, rc.Change.After["pool_size"])
			}
		}
	}
	if roles == 0 {
		t.Fatal("no understudy_role in the plan: the policy would check nothing")
	}
	if *updatePolicyInput {
		var indented bytes.Buffer
		if err := json.Indent(&indented, out, "", "  "); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(exampleSpec, "policy", "testdata", "plan.json"), indented.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// uiMessage is the part of a machine-readable UI message the tests read.
type uiMessage struct {
	Level     string `json:"@level"`
	Message   string `json:"@message"`
	Module    string `json:"@module"`
	Timestamp string `json:"@timestamp"`
	Type      string `json:"type"`
	Terraform string `json:"terraform"`
	UI        string `json:"ui"`
	Change    struct {
		Resource struct {
			Addr         string `json:"addr"`
			ResourceType string `json:"resource_type"`
			ResourceName string `json:"resource_name"`
			ResourceKey  any    `json:"resource_key"`
		} `json:"resource"`
		Action string `json:"action"`
	} `json:"change"`
	Changes struct {
		Add, Change, Remove, Import int
		Operation                   string
	} `json:"changes"`
	Diagnostic struct {
		Severity, Summary, Detail string
		Range                     *struct{ Filename string }
	} `json:"diagnostic"`
}

// uiMessages parses stdout line by line: every line is one JSON object
// with the keys every message has, the first is the version.
func uiMessages(t *testing.T, stdout string) []uiMessage {
	t.Helper()
	var out []uiMessage
	for i, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var keys map[string]json.RawMessage
		var m uiMessage
		if err := json.Unmarshal([]byte(line), &keys); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", i+1, err, stdout)
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if _, err := time.Parse(time.RFC3339Nano, m.Timestamp); err != nil || m.Level == "" || m.Message == "" || m.Module != "understudy.ui" || m.Type == "" {
			t.Fatalf("line %d lacks a key every message has: %s", i+1, line)
		}
		out = append(out, m)
	}
	if len(out) == 0 || out[0].Type != "version" || out[0].UI != "1.2" || out[0].Terraform == "" {
		t.Fatalf("the stream does not start with the version:\n%s", stdout)
	}
	return out
}

// plan -json prints the machine-readable UI, and only that, on stdout:
// the saved plan's note goes to stderr, and errors are diagnostics.
func TestPlanJSONIsTheMachineReadableUI(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	file := filepath.Join(t.TempDir(), "tfplan")
	r := s.cli(t, s.Admin, "plan", "-json", "-out", file, exampleSpec)
	if r.Code != 0 || r.Stderr != savedNote(file) {
		t.Fatalf("plan -json -out: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	msgs := uiMessages(t, r.Stdout)
	var kinds []string
	planned := 0
	for _, m := range msgs {
		if len(kinds) == 0 || kinds[len(kinds)-1] != m.Type {
			kinds = append(kinds, m.Type)
		}
		if m.Type == "planned_change" {
			planned++
			if rs := m.Change.Resource; rs.Addr != instanceAddress(rs.ResourceType, rs.ResourceName, rs.ResourceKey) || m.Change.Action != "create" {
				t.Errorf("planned_change %+v", m.Change)
			}
		}
	}
	if strings.Join(kinds, " ") != "version planned_change change_summary" || planned != 6 {
		t.Fatalf("types %v, %d planned changes\n%s", kinds, planned, r.Stdout)
	}
	if sum := msgs[len(msgs)-1]; sum.Changes.Add != 6 || sum.Changes.Change != 0 || sum.Changes.Remove != 0 || sum.Changes.Operation != "plan" {
		t.Errorf("change_summary %+v", sum)
	}
	if r := s.cli(t, s.Admin, "show", "-json", file); r.Code != 0 || !strings.HasPrefix(r.Stdout, `{"format_version"`) {
		t.Errorf("show -json of the plan saved under -json: %d %.200s", r.Code, r.Stdout)
	}

	r = s.cli(t, s.Admin, "plan", "-json", "-var", "buyer_pool_size=0", exampleSpec)
	msgs = uiMessages(t, r.Stdout)
	var diags []uiMessage
	for _, m := range msgs[1:] {
		if m.Type != "diagnostic" {
			t.Errorf("a refused plan printed a %s", m.Type)
		}
		diags = append(diags, m)
	}
	if r.Code != 1 || len(diags) == 0 || diags[0].Level != "error" || diags[0].Diagnostic.Severity != "error" ||
		!strings.Contains(diags[0].Diagnostic.Summary, "pool_size") || diags[0].Diagnostic.Range == nil ||
		!strings.HasSuffix(diags[0].Diagnostic.Range.Filename, "main.understudy.hcl") {
		t.Fatalf("refused plan: code %d\n%s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}

	// A problem the server answers is a diagnostic as Terraform's read: a
	// short summary, the explanation as the detail, no HTTP status.
	r = s.cli(t, s.Admin, "plan", "-json", "-target=role.zzz", exampleSpec)
	msgs = uiMessages(t, r.Stdout)
	if r.Code != 1 || len(msgs) != 2 || msgs[1].Type != "diagnostic" {
		t.Fatalf("-target=role.zzz: code %d\n%s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	if d := msgs[1].Diagnostic; d.Summary != "Invalid target address" || !strings.Contains(d.Detail, "role.zzz") ||
		strings.Contains(d.Summary+d.Detail, "HTTP") {
		t.Errorf("-target=role.zzz: diagnostic %+v", d)
	}
	r = s.cli(t, s.Admin, "plan", "-target=role.zzz", exampleSpec)
	if r.Code != 1 || !strings.HasPrefix(r.Stderr, "Error: Invalid target address\n\n") || strings.Contains(r.Stderr, "HTTP") {
		t.Errorf("-target=role.zzz: code %d\nstderr: %q", r.Code, r.Stderr)
	}

	unreachable := &testServer{URL: "http://127.0.0.1:1"}
	r = unreachable.cli(t, "", "plan", "-json", exampleSpec)
	msgs = uiMessages(t, r.Stdout)
	if r.Code != 1 || len(msgs) != 2 || msgs[1].Type != "diagnostic" || msgs[1].Diagnostic.Severity != "error" {
		t.Fatalf("unreachable server: code %d\n%s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
}

// savedNote is what plan -out prints last, as terraform plan -out does:
// the file, then the command that applies it, the file quoted.
func savedNote(file string) string {
	return "\nSaved the plan to: " + file + "\n\nTo perform exactly these actions, run the following command to apply:\n" +
		"    understudy apply \"" + file + "\"\n"
}

// instanceAddress is Terraform's address of a resource instance: type.name,
// then the for_each key in brackets when the object has one.
func instanceAddress(typ, name string, key any) string {
	if key == nil {
		return typ + "." + name
	}
	return fmt.Sprintf("%s.%s[%q]", typ, name, key)
}
