// Package providertest is the conformance suite that every app provider
// passes, and so does every fake used in tests, so that neither can drift
// from the contract in package providers. It is modelled on River's
// riverdrivertest: a provider's own test builds a Harness (the provider,
// configured against a real app, and a few ways to reach that app directly)
// and calls Run.
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, func(t *testing.T) providertest.Harness {
//			app := startTheApp(t)
//			return providertest.Harness{App: …, Mutate: …, RealUser: …, Fingerprint: …, OwnerChecked: true}
//		})
//	}
//
// Every subtest calls newHarness and runs in parallel with the others, so a
// harness must give each call an app (or a part of one) that the other
// subtests do not touch, and must clean up after itself with t.Cleanup.
//
// States are compared after canonicalisation (see Canonical), which is what
// Understudy itself compares: a provider may format its JSON as it likes,
// but the same state must give the same canonical document.
package providertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/understudy-dev/understudy/providers"
)

// Harness is what a provider's test gives the suite.
type Harness struct {
	// App is the provider under test, configured against a real app.
	App providers.App
	// Mutate changes the user's state in the app, through the app and not
	// through the provider, in as many of the places the provider captures
	// as it can (posts, follows, cart…). Each call must change the state
	// again. It must work on any user, synthetic or not.
	Mutate func(t *testing.T, ref string)
	// RealUser creates a user that the app does NOT mark synthetic and
	// returns its ref.
	RealUser func(t *testing.T) string
	// Fingerprint reads the user's state straight from the app (not through
	// the provider) and renders it as a string, to prove that a refused
	// write changed nothing and that a restore brought the app back. The
	// suite restores states canonicalised (see Canonical), as Understudy
	// does, so Fingerprint must not depend on how a state was formatted.
	Fingerprint func(t *testing.T, ref string) string
	// OwnerChecked says that the provider checks ownership: Verify of a
	// user provisioned for another account is ErrNotOwned.
	OwnerChecked bool
}

// Run runs the conformance suite, one parallel subtest per property, each
// with a harness of its own from newHarness.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.check(t)
			c.run(t, h)
		})
	}
}

// cases are the properties of the contract, in the order a reader meets
// them in providers.App.
var cases = []struct {
	name string
	run  func(t *testing.T, h Harness)
}{
	{"ProvisionIsIdempotent", testProvisionIsIdempotent},
	{"VerifyProvisioned", testVerifyProvisioned},
	{"VerifyRealUser", testVerifyRealUser},
	{"VerifyUnknownRef", testVerifyUnknownRef},
	{"VerifyOtherAccount", testVerifyOtherAccount},
	{"SnapshotIsStable", testSnapshotIsStable},
	{"SnapshotMutateRestore", testSnapshotMutateRestore},
	{"RefusesRealUser", testRefusesRealUser},
	{"Deprovision", testDeprovision},
}

func (h Harness) check(t *testing.T) {
	t.Helper()
	switch {
	case h.App == nil:
		t.Fatal("providertest: Harness.App is nil")
	case h.Mutate == nil, h.RealUser == nil, h.Fingerprint == nil:
		t.Fatal("providertest: Harness.Mutate, RealUser and Fingerprint are all required")
	}
}

func testProvisionIsIdempotent(t *testing.T, h Harness) {
	ctx := t.Context()
	a, b := NewAccount(t), NewAccount(t)
	first, err := h.App.Provision(ctx, a)
	if err != nil {
		t.Fatalf("provisioning account %s (%s): %v", a.ID, a.Email, err)
	}
	ref := first.Ref
	if ref == "" {
		t.Fatal("Provision returned an empty ref")
	}
	again, err := h.App.Provision(ctx, a)
	if err != nil {
		t.Fatalf("provisioning account %s a second time: %v", a.ID, err)
	}
	if again.Ref != ref {
		t.Errorf("provisioning account %s twice gave refs %q and %q, want the same ref", a.ID, ref, again.Ref)
	}
	// An authenticator secret, when the app enrols one, is an
	// otpauth://totp/ URI within the contract's bound, and provisioning
	// again gives the same one (never printed: it is a secret).
	for i, p := range []providers.Provisioned{first, again} {
		if err := providers.CheckTOTPURI(p.TOTPURI); err != nil {
			t.Errorf("provision %d of account %s: %v", i+1, a.ID, err)
		}
	}
	if first.TOTPURI != again.TOTPURI {
		t.Errorf("provisioning account %s twice gave two different totp_uri values, want the same secret", a.ID)
	}
	if other := provision(t, h, b); other == ref {
		t.Errorf("accounts %s and %s were both given ref %q", a.ID, b.ID, ref)
	}
}

func testVerifyProvisioned(t *testing.T, h Harness) {
	a := NewAccount(t)
	ref := provision(t, h, a)
	if err := h.App.Verify(t.Context(), providers.Target{Ref: ref, AccountID: a.ID}); err != nil {
		t.Errorf("Verify of the user just provisioned: %v, want nil", err)
	}
}

func testVerifyRealUser(t *testing.T, h Harness) {
	ref := h.RealUser(t)
	err := h.App.Verify(t.Context(), providers.Target{Ref: ref, AccountID: NewAccount(t).ID})
	wantError(t, "Verify of a real user", err, providers.ErrNotSynthetic)
}

func testVerifyUnknownRef(t *testing.T, h Harness) {
	a := NewAccount(t)
	provision(t, h, a) // the app is not empty
	for _, ref := range []string{"999999999", "not-a-number"} {
		err := h.App.Verify(t.Context(), providers.Target{Ref: ref, AccountID: a.ID})
		wantError(t, fmt.Sprintf("Verify of unknown ref %q", ref), err, providers.ErrNotFound)
	}
}

// testVerifyOtherAccount also proves that Restore and Deprovision refuse a
// user provisioned for another account, writing nothing.
func testVerifyOtherAccount(t *testing.T, h Harness) {
	if !h.OwnerChecked {
		t.Skip("the provider does not check ownership (Harness.OwnerChecked is false)")
	}
	ctx := t.Context()
	owner, other := NewAccount(t), NewAccount(t)
	ref := provision(t, h, owner)
	h.Mutate(t, ref)
	state := snapshot(t, h, providers.Target{Ref: ref, AccountID: owner.ID})
	h.Mutate(t, ref)
	before := h.Fingerprint(t, ref)
	wrong := providers.Target{Ref: ref, AccountID: other.ID}

	wantError(t, "Verify with another account", h.App.Verify(ctx, wrong), providers.ErrNotOwned)
	wantError(t, "Restore with another account", h.App.Restore(ctx, wrong, state), providers.ErrNotOwned)
	wantError(t, "Deprovision with another account", h.App.Deprovision(ctx, wrong), providers.ErrNotOwned)
	if after := h.Fingerprint(t, ref); after != before {
		t.Errorf("a refused write changed the user:\nbefore: %s\nafter:  %s", before, after)
	}
	if err := h.App.Verify(ctx, providers.Target{Ref: ref, AccountID: owner.ID}); err != nil {
		t.Errorf("Verify by the owner after refused writes: %v, want nil", err)
	}
}

func testSnapshotIsStable(t *testing.T, h Harness) {
	a := NewAccount(t)
	target := providers.Target{Ref: provision(t, h, a), AccountID: a.ID}
	h.Mutate(t, target.Ref) // rows in several places, so that their order matters
	first := snapshot(t, h, target)
	second := snapshot(t, h, target)
	if !bytes.Equal(first, second) {
		t.Errorf("two snapshots in a row differ:\nfirst:  %s\nsecond: %s", first, second)
	}
}

// testSnapshotMutateRestore restores backwards (to the baseline) and
// forwards (to a richer state, like a named state "with-cart"), and checks
// the app itself as well as the provider's view of it.
func testSnapshotMutateRestore(t *testing.T, h Harness) {
	a := NewAccount(t)
	target := providers.Target{Ref: provision(t, h, a), AccountID: a.ID}
	baseline, baselineApp := snapshot(t, h, target), h.Fingerprint(t, target.Ref)
	h.Mutate(t, target.Ref)
	changed, changedApp := snapshot(t, h, target), h.Fingerprint(t, target.Ref)
	if bytes.Equal(baseline, changed) {
		t.Fatalf("the snapshot did not change after Mutate: %s", baseline)
	}
	for i, want := range []struct {
		name  string
		state []byte
		app   string
	}{
		{"the baseline", baseline, baselineApp},
		{"the changed state", changed, changedApp},
		{"the baseline again", baseline, baselineApp},
	} {
		if err := h.App.Restore(t.Context(), target, want.state); err != nil {
			t.Fatalf("restore %d, to %s: %v", i+1, want.name, err)
		}
		if got := snapshot(t, h, target); !bytes.Equal(got, want.state) {
			t.Errorf("after restoring %s the snapshot differs:\ngot:  %s\nwant: %s", want.name, got, want.state)
		}
		if got := h.Fingerprint(t, target.Ref); got != want.app {
			t.Errorf("after restoring %s the app differs:\ngot:  %s\nwant: %s", want.name, got, want.app)
		}
	}
}

func testRefusesRealUser(t *testing.T, h Harness) {
	ctx := t.Context()
	a := NewAccount(t)
	synthetic := providers.Target{Ref: provision(t, h, a), AccountID: a.ID}
	state := snapshot(t, h, synthetic)
	real := h.RealUser(t)
	h.Mutate(t, real) // something to lose
	before := h.Fingerprint(t, real)
	target := providers.Target{Ref: real, AccountID: a.ID}

	wantError(t, "Restore of a real user", h.App.Restore(ctx, target, state), providers.ErrNotSynthetic)
	wantError(t, "Deprovision of a real user", h.App.Deprovision(ctx, target), providers.ErrNotSynthetic)
	if after := h.Fingerprint(t, real); after != before {
		t.Errorf("a refused write changed a real user:\nbefore: %s\nafter:  %s", before, after)
	}
	wantError(t, "Verify of the real user afterwards", h.App.Verify(ctx, target), providers.ErrNotSynthetic)
}

func testDeprovision(t *testing.T, h Harness) {
	ctx := t.Context()
	a := NewAccount(t)
	target := providers.Target{Ref: provision(t, h, a), AccountID: a.ID}
	h.Mutate(t, target.Ref)
	if err := h.App.Deprovision(ctx, target); err != nil {
		t.Fatalf("Deprovision: %v", err)
	}
	wantError(t, "Verify after Deprovision", h.App.Verify(ctx, target), providers.ErrNotFound)
	if err := h.App.Deprovision(ctx, target); err != nil {
		t.Errorf("Deprovision of a user already gone: %v, want nil", err)
	}
	// The account can come back (a retired slot reused).
	again := providers.Target{Ref: provision(t, h, a), AccountID: a.ID}
	if err := h.App.Verify(ctx, again); err != nil {
		t.Errorf("Verify of the account provisioned again after Deprovision: %v, want nil", err)
	}
}

func provision(t *testing.T, h Harness, a providers.Account) string {
	t.Helper()
	p, err := h.App.Provision(t.Context(), a)
	if err != nil {
		t.Fatalf("provisioning account %s (%s): %v", a.ID, a.Email, err)
	}
	return p.Ref
}

// snapshot returns the target's state, canonicalised.
func snapshot(t *testing.T, h Harness, target providers.Target) []byte {
	t.Helper()
	s, err := h.App.Snapshot(t.Context(), target)
	if err != nil {
		t.Fatalf("Snapshot of %s: %v", target.Ref, err)
	}
	c, err := Canonical(s)
	if err != nil {
		t.Fatalf("Snapshot of %s is not a JSON document: %v\n%s", target.Ref, err, s)
	}
	return c
}

func wantError(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want one that is %q", what, err, want)
	}
}

// Canonical decodes a state and encodes it again: object keys sorted, no
// insignificant white space, numbers kept as written. States are compared
// this way, not as the provider's raw bytes, because that is how Understudy
// stores and hashes them: a provider may send `{"a": 1}` once and `{"a":1}`
// the next time, or order an object's keys differently (PostgreSQL's json
// and jsonb do), and still be right. What must be stable is the data,
// including the order of array elements (rows), which canonicalisation keeps.
func Canonical(s providers.State) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
