package spec_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/spec"
)

// wrongAddresses are n distinct addresses of 1,000 bytes that name no
// object.
func wrongAddresses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("understudy_role.x%04d%s", i, strings.Repeat("y", 978))
	}
	return out
}

// A request naming a thousand wrong addresses, as the contract allows, is
// refused with an error that names the first ten and counts the rest: its
// size does not grow with the request's (a megabyte of targets once gave a
// megabyte of message, to the CLI's terminal and the server's log).
func TestAnErrorNamesTenWrongAddressesAndCountsTheRest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.apply(t, f.plan(t, "", "", withExtra(1)))
	wrong := wrongAddresses(1000)
	check := func(what string, err error, field bool) {
		t.Helper()
		e := domaintest.WantCode(t, err, understudy.EINVALID)
		if len(e.Message) > 20_000 || !strings.Contains(e.Message, wrong[9]) || strings.Contains(e.Message, wrong[10]) || !strings.Contains(e.Message, "and 990 more") {
			t.Errorf("%s: a message of %d bytes: %.300s", what, len(e.Message), e.Message)
		}
		if field && (len(e.Fields) != 10 || e.Fields[9].Field != "addresses[9]") {
			t.Errorf("%s: %d fields", what, len(e.Fields))
		}
	}
	_, err := f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: withExtra(1), Targets: wrong})
	check("targets", err, false)
	_, err = f.Spec.Plan(f.Ctx, spec.PlanRequest{Desired: withExtra(1), Replace: wrong})
	check("replace", err, false)
	_, err = f.Spec.Forget(f.Ctx, "default", append([]string{"role.extra"}, wrong...)[1:])
	check("forget", err, true)
	if w, err := f.Spec.Workspace(f.Ctx, "default"); err != nil || w.Objects != 3 {
		t.Fatalf("a refused forget forgot: %d objects (%v)", w.Objects, err)
	}
}
