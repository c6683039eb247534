// Package fake is an app provider that keeps its users in memory, for the
// tests of other packages (reset, leases, the API) and for benchmarks that
// need a provider that does nothing. It passes the same conformance suite
// (providertest) as the real providers, so it cannot drift from the
// contract.
//
// Beyond providers.App, an *App lets a test act as the app: change a user's
// state behind Understudy's back (SetState), add a user the app does not
// mark synthetic (AddRealUser), go down (SetDown), be slow (Config.Delay)
// or refuse restores (Config.FailRestore, SetFailRestore), and count the
// calls it received (Calls).
package fake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/understudy-dev/understudy/providers"
)

// Compile-time guards: a fake app answers the contract, and the optional
// capability Surfaces; Factory is a providers.Factory.
var (
	_ providers.App      = (*App)(nil)
	_ providers.Surfaces = (*App)(nil)
	_ providers.Factory  = Factory
)

// DefaultState is the state of a user just provisioned, unless
// Config.InitialState says otherwise.
var DefaultState = providers.State(`{"items":[]}`)

// Config configures a fake app.
type Config struct {
	// Delay is how long every call waits before it does anything (a slow
	// app). A call whose context ends first returns ErrUnavailable.
	// Defaults to 0.
	Delay time.Duration
	// FailRestore, when not nil, is returned (wrapped) by every Restore
	// that passes verification, and the state is left as it was.
	// Defaults to nil.
	FailRestore error
	// InitialState is the state a user gets when it is provisioned. It
	// must be a JSON document. Defaults to DefaultState.
	InitialState providers.State
	// TOTPURI, when not nil, gives the otpauth:// URI that Provision hands
	// back for an account, as an app that enrols an authenticator at
	// sign-up does (TOTPURIOf is one). Defaults to nil: none.
	TOTPURI func(providers.Account) string
}

// Calls counts the calls an App received, failed ones included.
type Calls struct {
	Provision, Verify, Snapshot, Restore, Deprovision int
}

// Total is the number of calls of every kind.
func (c Calls) Total() int {
	return c.Provision + c.Verify + c.Snapshot + c.Restore + c.Deprovision
}

// App is an in-memory app. It is safe for concurrent use.
type App struct {
	mu          sync.Mutex
	delay       time.Duration
	failRestore error
	initial     providers.State
	down        bool
	calls       Calls
	lastRef     int64
	users       map[string]*user  // by ref
	byAccount   map[string]string // Understudy account id → ref
	surfaces    map[string]surface
	totpURI     func(providers.Account) string
}

type user struct {
	synthetic bool
	owner     string // Understudy account id; "" for a real user
	state     providers.State
}

// New returns an empty app.
func New(cfg Config) *App {
	initial := DefaultState
	if len(cfg.InitialState) > 0 {
		initial = bytes.Clone(cfg.InitialState)
	}
	return &App{
		delay:       max(cfg.Delay, 0),
		failRestore: cfg.FailRestore,
		initial:     initial,
		users:       map[string]*user{},
		byAccount:   map[string]string{},
		totpURI:     cfg.TOTPURI,
	}
}

// Provision creates a synthetic user for a.ID, or returns the one created
// before. An account without an id is ErrRefused.
func (a *App) Provision(ctx context.Context, acct providers.Account) (providers.Provisioned, error) {
	if err := a.begin(ctx, func(c *Calls) { c.Provision++ }); err != nil {
		return providers.Provisioned{}, fmt.Errorf("provisioning %s: %w", acct.ID, err)
	}
	defer a.mu.Unlock()
	if acct.ID == "" {
		return providers.Provisioned{}, fmt.Errorf("provisioning: %w: the account has no id", providers.ErrRefused)
	}
	ref, ok := a.byAccount[acct.ID]
	if !ok {
		ref = a.addLocked(&user{synthetic: true, owner: acct.ID, state: bytes.Clone(a.initial)})
		a.byAccount[acct.ID] = ref
	}
	var uri string
	if a.totpURI != nil {
		uri = a.totpURI(acct)
	}
	return providers.Provisioned{Ref: ref, TOTPURI: uri}, nil
}

// Verify reports whether t exists, is synthetic and belongs to t.AccountID.
func (a *App) Verify(ctx context.Context, t providers.Target) error {
	if err := a.begin(ctx, func(c *Calls) { c.Verify++ }); err != nil {
		return fmt.Errorf("verifying %s: %w", t.Ref, err)
	}
	defer a.mu.Unlock()
	_, err := a.verifyLocked(t)
	return err
}

// Snapshot returns a copy of the target's state.
func (a *App) Snapshot(ctx context.Context, t providers.Target) (providers.State, error) {
	if err := a.begin(ctx, func(c *Calls) { c.Snapshot++ }); err != nil {
		return nil, fmt.Errorf("snapshotting %s: %w", t.Ref, err)
	}
	defer a.mu.Unlock()
	u, err := a.verifyLocked(t)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(u.state), nil
}

// Restore replaces the target's state with s. A state that is not a JSON
// document is ErrRefused.
func (a *App) Restore(ctx context.Context, t providers.Target, s providers.State) error {
	if err := a.begin(ctx, func(c *Calls) { c.Restore++ }); err != nil {
		return fmt.Errorf("restoring %s: %w", t.Ref, err)
	}
	defer a.mu.Unlock()
	u, err := a.verifyLocked(t)
	if err != nil {
		return err
	}
	if a.failRestore != nil {
		return fmt.Errorf("restoring %s: %w", t.Ref, a.failRestore)
	}
	if !json.Valid(s) {
		return fmt.Errorf("restoring %s: %w: the state is not a JSON document", t.Ref, providers.ErrRefused)
	}
	u.state = bytes.Clone(s)
	return nil
}

// Deprovision deletes the target; one already gone is not an error.
func (a *App) Deprovision(ctx context.Context, t providers.Target) error {
	if err := a.begin(ctx, func(c *Calls) { c.Deprovision++ }); err != nil {
		return fmt.Errorf("deprovisioning %s: %w", t.Ref, err)
	}
	defer a.mu.Unlock()
	u, err := a.verifyLocked(t)
	switch {
	case errors.Is(err, providers.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	delete(a.users, t.Ref)
	delete(a.byAccount, u.owner)
	return nil
}

// begin counts the call, waits the configured delay and, unless the app is
// down or ctx has ended, returns with a.mu held.
func (a *App) begin(ctx context.Context, count func(*Calls)) error {
	a.mu.Lock()
	count(&a.calls)
	delay := a.delay
	a.mu.Unlock()
	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", providers.ErrUnavailable, err)
	}
	a.mu.Lock()
	if a.down {
		a.mu.Unlock()
		return fmt.Errorf("%w: the fake app is down", providers.ErrUnavailable)
	}
	return nil
}

func (a *App) verifyLocked(t providers.Target) (*user, error) {
	u, ok := a.users[t.Ref]
	switch {
	case !ok:
		return nil, fmt.Errorf("user %q: %w", t.Ref, providers.ErrNotFound)
	case !u.synthetic:
		return nil, fmt.Errorf("user %q: %w", t.Ref, providers.ErrNotSynthetic)
	case u.owner != t.AccountID:
		return nil, fmt.Errorf("user %q, account %s: %w", t.Ref, t.AccountID, providers.ErrNotOwned)
	}
	return u, nil
}

func (a *App) addLocked(u *user) string {
	a.lastRef++
	ref := strconv.FormatInt(a.lastRef, 10)
	a.users[ref] = u
	return ref
}
