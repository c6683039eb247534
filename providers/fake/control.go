package fake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/understudy-dev/understudy/providers"
)

// This file holds what a test does to the app itself, behind Understudy's
// back. None of these methods is counted in Calls, waits the delay or
// fails when the app is down.

// SetState replaces a user's state, as the app would when the user acts.
// It returns ErrNotFound for an unknown ref and ErrRefused for a state that
// is not a JSON document.
func (a *App) SetState(ref string, s providers.State) error {
	if !json.Valid(s) {
		return fmt.Errorf("setting the state of %s: %w: not a JSON document", ref, providers.ErrRefused)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[ref]
	if !ok {
		return fmt.Errorf("setting the state of %s: %w", ref, providers.ErrNotFound)
	}
	u.state = bytes.Clone(s)
	return nil
}

// State returns a copy of a user's state, synthetic or not, or ErrNotFound.
func (a *App) State(ref string) (providers.State, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[ref]
	if !ok {
		return nil, fmt.Errorf("reading the state of %s: %w", ref, providers.ErrNotFound)
	}
	return bytes.Clone(u.state), nil
}

// AddRealUser adds a user that the app does not mark synthetic, with the
// initial state, and returns its ref.
func (a *App) AddRealUser() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addLocked(&user{state: bytes.Clone(a.initial)})
}

// Ref returns the ref provisioned for an Understudy account, if any.
func (a *App) Ref(accountID string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ref, ok := a.byAccount[accountID]
	return ref, ok
}

// Len is the number of users, synthetic or not.
func (a *App) Len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.users)
}

// SetDown makes every call fail with ErrUnavailable (down) or work again.
func (a *App) SetDown(down bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.down = down
}

// SetDelay changes Config.Delay.
func (a *App) SetDelay(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delay = max(d, 0)
}

// SetFailRestore changes Config.FailRestore; nil makes restores work again.
func (a *App) SetFailRestore(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failRestore = err
}

// Calls returns how many calls of each kind the app received.
func (a *App) Calls() Calls {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// Settings is the JSON settings document of a fake app in a registry:
//
//	{"delay": "10ms"}
type Settings struct {
	// Delay is Config.Delay as a Go duration ("10ms"). Defaults to "0s".
	Delay string `json:"delay"`
	// TOTP, when true, hands every provisioned account a TOTP secret
	// (Config.TOTPURI is TOTPURIOf). Defaults to false.
	TOTP bool `json:"totp"`
}

// Factory builds a fake app from its settings, for a providers.Registry:
// reg.Register("fake", fake.Factory). A bad setting is a
// *providers.ConfigError naming it ("settings.delay").
func Factory(_ context.Context, cfg providers.Config) (providers.App, error) {
	var s Settings
	if err := providers.DecodeSettings(cfg.Settings, &s); err != nil {
		return nil, err
	}
	var c Config
	if s.Delay != "" {
		d, err := time.ParseDuration(s.Delay)
		if err != nil || d < 0 {
			return nil, &providers.ConfigError{Field: "settings.delay", Detail: fmt.Sprintf("%q is not a duration of zero or more, like \"10ms\"", s.Delay)}
		}
		c.Delay = d
	}
	if s.TOTP {
		c.TOTPURI = TOTPURIOf
	}
	return New(c), nil
}

// SetTOTPURI replaces Config.TOTPURI: the otpauth:// URI that Provision
// hands back for an account (nil: none).
func (a *App) SetTOTPURI(f func(providers.Account) string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.totpURI = f
}

// TOTPURIOf is the otpauth:// URI of a TOTP secret made from the
// account's id: the same account always gets the same secret, as from an
// app that provisions idempotently. It is a fake's secret, for tests: it
// protects nothing.
func TOTPURIOf(a providers.Account) string {
	sum := sha256.Sum256([]byte("fake totp\x00" + a.ID))
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20])
	return providers.TOTPURIPrefix + url.PathEscape("fake:"+a.Email) + "?secret=" + secret + "&issuer=fake"
}
