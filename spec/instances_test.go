package spec_test

import (
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/spec"
)

// The instances of a block with for_each have Terraform's addresses,
// role.seller["a"]; an index that is not a quoted key is refused.
func TestInstanceAddressesArePlanned(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	d := staging(1)
	d.Roles[0].Address = `role.seller["gold"]`
	p := f.plan(t, "", "", d)
	if got := actions(p); got[`role.seller["gold"]`] != spec.Create || len(got) != 2 {
		t.Fatalf("actions %v, want role.seller[\"gold\"] created", got)
	}
	var b strings.Builder
	if err := spec.WritePlan(&b, p, spec.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, `# role.seller["gold"] will be created`) || !strings.Contains(out, `+ role "seller" {`) {
		t.Errorf("the plan names the instance by its address, and its block by its label:\n%s", out)
	}
	for _, bad := range []string{`role.seller[gold]`, `role.seller["gold"`, `role.sel ler["gold"]`} {
		d.Roles[0].Address = bad
		_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: d})
		if e := domaintest.WantCode(t, err, understudy.EINVALID); !strings.Contains(mustJSON(t, e.Fields), "is not an address of the form") {
			t.Errorf("address %s: %v", bad, e)
		}
	}
}
