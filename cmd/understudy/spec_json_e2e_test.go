package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

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
	if r := s.cli(t, s.Admin, "plan", "-out", file, "-var", "buyer_pool_size=3", exampleSpec); r.Code != 0 {
		t.Fatalf("plan -out: %d %s", r.Code, r.Stderr)
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
		if rc.Address != rc.Type+"."+rc.Name || rc.ProviderName != spec.ProviderName || !strings.HasPrefix(rc.Type, "understudy_") {
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
}
