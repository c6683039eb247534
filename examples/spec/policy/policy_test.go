// Package policy tests the example policy (spec.rego) with OPA's Go API
// against a plan that `understudy show -json` printed
// (testdata/plan.json, written by the main module's
// TestShowJSONIsAPlanTerraformJSONReads with -update-policy-input). It is
// a module of its own so that OPA's dependencies stay out of
// Understudy's.
package policy

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
)

// deny evaluates the policy's deny set over plan.
func deny(t *testing.T, plan map[string]any) []string {
	t.Helper()
	src, err := os.ReadFile("spec.rego")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rego.New(rego.Query("data.understudy.policy.deny"), rego.Module("spec.rego", string(src)), rego.Input(plan)).Eval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		t.Fatalf("results %+v", rs)
	}
	var out []string
	for _, m := range rs[0].Expressions[0].Value.([]any) {
		out = append(out, m.(string))
	}
	slices.Sort(out)
	return out
}

// realPlan is the committed output of show -json.
func realPlan(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/plan.json")
	if err != nil {
		t.Fatal(err)
	}
	var plan map[string]any
	if err := json.Unmarshal(b, &plan); err != nil {
		t.Fatal(err)
	}
	return plan
}

// change returns the resource change at address.
func change(t *testing.T, plan map[string]any, address string) map[string]any {
	t.Helper()
	for _, rc := range plan["resource_changes"].([]any) {
		if rc := rc.(map[string]any); rc["address"] == address {
			return rc
		}
	}
	t.Fatalf("no resource change %s", address)
	return nil
}

func TestTheExamplePlanPasses(t *testing.T) {
	t.Parallel()
	if got := deny(t, realPlan(t)); len(got) != 0 {
		t.Fatalf("the example's plan is denied: %v", got)
	}
}

func TestAPoolAbove20IsDenied(t *testing.T) {
	t.Parallel()
	plan := realPlan(t)
	after := change(t, plan, "understudy_role.buyer")["change"].(map[string]any)["after"].(map[string]any)
	after["pool_size"] = 21
	want := []string{"understudy_role.buyer: pool_size 21 is above 20"}
	if got := deny(t, plan); !slices.Equal(got, want) {
		t.Fatalf("deny = %v, want %v", got, want)
	}
	after["pool_size"] = 20
	if got := deny(t, plan); len(got) != 0 {
		t.Fatalf("a pool of 20 is denied: %v", got)
	}
}

func TestADeletedDestinationIsDenied(t *testing.T) {
	t.Parallel()
	plan := realPlan(t)
	rc := change(t, plan, "understudy_role.buyer")
	dest := map[string]any{"address": "understudy_destination.posthog", "type": "understudy_destination", "name": "posthog",
		"mode": "managed", "change": map[string]any{"actions": []any{"delete"}, "before": rc["change"].(map[string]any)["after"], "after": nil}}
	plan["resource_changes"] = append(plan["resource_changes"].([]any), dest)
	want := []string{`understudy_destination.posthog: a destination may not be deleted (actions ["delete"])`}
	if got := deny(t, plan); !slices.Equal(got, want) {
		t.Fatalf("deny = %v, want %v", got, want)
	}
	dest["change"].(map[string]any)["actions"] = []any{"update"}
	if got := deny(t, plan); len(got) != 0 {
		t.Fatalf("an updated destination is denied: %v", got)
	}
}
