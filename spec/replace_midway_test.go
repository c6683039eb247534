package spec_test

import (
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/spec"
)

// A replace whose delete is made and whose create then fails says so: the
// plan as applied lists the delete, its error says the object was deleted
// and not created again, and the next plan creates it. (It once listed
// nothing applied, as if the object were untouched.)
func TestAReplaceThatFailsAfterItsDeleteSaysWhatItDid(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", withExtra(1)))
	p, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: withExtra(1), Replace: []string{"role.extra"}})
	if err != nil {
		t.Fatal(err)
	}
	// The role's create fails as a clash would, after its delete.
	if _, err := f.DB.Exec(f.Ctx, `CREATE FUNCTION no_new_roles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'no new roles' USING ERRCODE = 'unique_violation'; END $$;
CREATE TRIGGER no_new_roles BEFORE INSERT ON roles FOR EACH ROW EXECUTE FUNCTION no_new_roles()`); err != nil {
		t.Fatal(err)
	}
	out, err := f.Spec.Apply(f.Ctx, p.ID, spec.ApplyOptions{})
	if err == nil || out.Status != spec.StatusFailed {
		t.Fatalf("the apply: %v, status %s", err, out.Status)
	}
	if len(out.Applied) != 1 || out.Applied[0].Address != "role.extra" || out.Applied[0].Action != spec.Delete {
		t.Errorf("applied %+v, want the delete of role.extra", out.Applied)
	}
	if !strings.Contains(out.ApplyError, "role.extra: it was deleted, and creating it again failed") {
		t.Errorf("apply error %q", out.ApplyError)
	}
	if stored, err := f.Spec.GetPlan(f.Ctx, p.ID); err != nil || len(stored.Applied) != 1 {
		t.Errorf("the stored plan lists %+v applied (%v)", stored.Applied, err)
	}
	if _, err := f.DB.Exec(f.Ctx, `DROP TRIGGER no_new_roles ON roles`); err != nil {
		t.Fatal(err)
	}
	if got := actions(f.plan(t, "", "", withExtra(1))); got["role.extra"] != spec.Create {
		t.Errorf("the next plan: %v", got)
	}
}
