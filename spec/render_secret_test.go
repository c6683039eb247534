package spec_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/spec"
)

// Values that must never reach an output.
const (
	leakedBefore = "sk_live_before_0000000000"
	leakedAfter  = "sk_live_after_1111111111"
	leakedToken  = "tok_sensitive_attribute_2222"
)

// leakyPlan holds secrets where a plan must not: clear values under
// secrets in Before and After, and values on a Sensitive attribute change.
func leakyPlan() spec.Plan {
	before := app("billing", "stripe", map[string]any{"mode": "test"})
	before["secrets"] = map[string]any{"secret_key": leakedBefore, "webhook_secret": leakedBefore}
	before["token"] = leakedToken
	after := app("billing", "stripe", map[string]any{"mode": "live"})
	after["secrets"] = map[string]any{"secret_key": leakedAfter, "new_key": leakedAfter}
	after["token"] = leakedToken + "-new"
	attrs := []spec.AttributeChange{
		{Name: "secrets.secret_key", Sensitive: true, Before: leakedBefore, After: leakedAfter},
		{Name: "token", Sensitive: true, Before: leakedToken, After: leakedToken + "-new"},
	}
	update := change(spec.Update, "app.billing", "production/billing", before, after, attrs...)
	created := change(spec.Create, "destination.hook", "production/hook", nil, map[string]any{
		"name": "hook", "secrets": map[string]string{"signing_key": leakedAfter},
	})
	deleted := change(spec.Delete, "app.old", "production/old", map[string]any{
		"name": "old", "secrets": leakedBefore,
	}, nil)
	p := newPlan(spec.ModeNormal, update, created, deleted)
	p.Drift = []spec.Change{change(spec.Update, "app.billing", "production/billing", before, after, attrs...)}
	p.Applied = []spec.AppliedChange{{Address: "app.billing", Action: spec.Update, At: planTime}}
	return p
}

func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	p := leakyPlan()
	outputs := map[string][]byte{}
	for _, mode := range []string{spec.ModeNormal, spec.ModeRefreshOnly} {
		p.Mode = mode
		outputs[mode+" plain"] = render(t, p, false)
		outputs[mode+" colour"] = render(t, p, true)
		js, err := spec.TerraformJSON(p)
		if err != nil {
			t.Fatal(err)
		}
		outputs[mode+" json"] = js
	}
	var applied bytes.Buffer
	if err := spec.WriteApplied(&applied, p, spec.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	outputs["applied"] = applied.Bytes()
	for name, out := range outputs {
		for _, secret := range []string{leakedBefore, leakedAfter, leakedToken} {
			if bytes.Contains(out, []byte(secret)) {
				t.Errorf("%s output shows the secret %q:\n%s", name, secret, out)
			}
		}
	}
	plain := string(outputs[spec.ModeNormal+" plain"])
	for _, want := range []string{
		"~ secret_key     = (sensitive value changed)",
		"+ new_key        = (sensitive value)",
		"- webhook_secret = (sensitive value)",
		"~ token       = (sensitive value changed)",
		"+ signing_key = (sensitive value)",
		"- secrets = (sensitive value) -> null",
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("no %q in:\n%s", want, plain)
		}
	}
}
