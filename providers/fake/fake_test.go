package fake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/fake"
	"github.com/understudy-dev/understudy/providers/providertest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]fake.Config{"plain": {}, "enrolling TOTP": {TOTPURI: fake.TOTPURIOf}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			conformance(t, cfg)
		})
	}
}

func conformance(t *testing.T, cfg fake.Config) {
	providertest.Run(t, func(t *testing.T) providertest.Harness {
		app := fake.New(cfg)
		var n atomic.Int64
		return providertest.Harness{
			App: app,
			Mutate: func(t *testing.T, ref string) {
				i := n.Add(1)
				s := fmt.Sprintf(`{"items":["post-%d","like-%d"],"cart":{"sku-%d":%d}}`, i, i, i, i)
				if err := app.SetState(ref, json.RawMessage(s)); err != nil {
					t.Fatal(err)
				}
			},
			RealUser: func(t *testing.T) string { return app.AddRealUser() },
			Fingerprint: func(t *testing.T, ref string) string {
				s, err := app.State(ref)
				if err != nil {
					t.Fatal(err)
				}
				// The suite restores canonical states, as Understudy does.
				c, err := providertest.Canonical(s)
				if err != nil {
					t.Fatal(err)
				}
				return string(c)
			},
			OwnerChecked: true,
		}
	})
}

func TestDown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	app := fake.New(fake.Config{})
	acct := providertest.NewAccount(t)
	provisioned, err := app.Provision(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	ref := provisioned.Ref
	app.SetDown(true)
	target := providers.Target{Ref: ref, AccountID: acct.ID}
	if _, err := app.Provision(ctx, acct); !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("Provision while down: %v, want ErrUnavailable", err)
	}
	if err := app.Verify(ctx, target); !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("Verify while down: %v, want ErrUnavailable", err)
	}
	if err := app.Deprovision(ctx, target); !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("Deprovision while down: %v, want ErrUnavailable", err)
	}
	app.SetDown(false)
	if err := app.Verify(ctx, target); err != nil {
		t.Errorf("Verify after coming back: %v", err)
	}
	if got, want := app.Calls(), (fake.Calls{Provision: 2, Verify: 2, Deprovision: 1}); got != want {
		t.Errorf("Calls() = %+v, want %+v", got, want)
	}
}

func TestFailRestore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	boom := errors.New("boom")
	app := fake.New(fake.Config{FailRestore: boom, InitialState: json.RawMessage(`{"n":0}`)})
	acct := providertest.NewAccount(t)
	provisioned, err := app.Provision(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	ref := provisioned.Ref
	target := providers.Target{Ref: ref, AccountID: acct.ID}
	if err := app.Restore(ctx, target, json.RawMessage(`{"n":1}`)); !errors.Is(err, boom) {
		t.Errorf("Restore: %v, want the injected error", err)
	}
	if s, _ := app.State(ref); string(s) != `{"n":0}` {
		t.Errorf("a failed restore changed the state to %s", s)
	}
	app.SetFailRestore(nil)
	if err := app.Restore(ctx, target, json.RawMessage(`{"n":1}`)); err != nil {
		t.Fatalf("Restore after SetFailRestore(nil): %v", err)
	}
	if s, _ := app.State(ref); string(s) != `{"n":1}` {
		t.Errorf("state after restore = %s, want {\"n\":1}", s)
	}
	if err := app.Restore(ctx, target, json.RawMessage(`{"n":`)); !errors.Is(err, providers.ErrRefused) {
		t.Errorf("Restore of a broken document: %v, want ErrRefused", err)
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	app := fake.New(fake.Config{Delay: 50 * time.Millisecond})
	start := time.Now()
	if _, err := app.Provision(t.Context(), providertest.NewAccount(t)); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
		t.Errorf("Provision took %v, want at least the 50ms delay", elapsed)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
	defer cancel()
	if _, err := app.Provision(ctx, providertest.NewAccount(t)); !errors.Is(err, providers.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Provision with a deadline shorter than the delay: %v, want ErrUnavailable and DeadlineExceeded", err)
	}
}

func TestFactory(t *testing.T) {
	t.Parallel()
	reg := providers.NewRegistry()
	reg.Register("fake", fake.Factory)
	app, err := reg.New(t.Context(), "fake", providers.Config{App: "shop", Settings: json.RawMessage(`{"delay":"10ms"}`)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := app.Provision(t.Context(), providertest.NewAccount(t)); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 10*time.Millisecond {
		t.Errorf("Provision took %v, want at least the configured 10ms", elapsed)
	}
	if _, err := reg.New(t.Context(), "fake", providers.Config{}); err != nil {
		t.Errorf("empty settings: %v, want the defaults", err)
	}
	for _, tc := range []struct{ settings, field string }{
		{`{"delay":"soon"}`, "settings.delay"},
		{`{"delay":"-1s"}`, "settings.delay"},
		{`{"delay":10}`, "settings.delay"},
		{`{"bogus":true}`, "settings.bogus"},
	} {
		_, err := fake.Factory(t.Context(), providers.Config{Settings: json.RawMessage(tc.settings)})
		ce, ok := errors.AsType[*providers.ConfigError](err)
		if !ok || ce.Field != tc.field {
			t.Errorf("settings %s: error %v, want a ConfigError on %s", tc.settings, err, tc.field)
		}
	}
}

func TestTOTPURIOf(t *testing.T) {
	t.Parallel()
	reg := providers.NewRegistry()
	reg.Register("fake", fake.Factory)
	inst, err := reg.New(t.Context(), "fake", providers.Config{App: "mem", Settings: json.RawMessage(`{"totp":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	a, b := providertest.NewAccount(t), providertest.NewAccount(t)
	pa, err := inst.Provision(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := inst.Provision(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	if pa.TOTPURI != fake.TOTPURIOf(a) || pb.TOTPURI == pa.TOTPURI || providers.CheckTOTPURI(pa.TOTPURI) != nil {
		t.Errorf("settings {\"totp\":true}: want each account its own otpauth://totp/ URI, the one TOTPURIOf gives")
	}
}
