package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/understudy-dev/understudy/providers"
)

// Compile-time guards: an exec app answers the contract, and the optional
// capabilities Tester and Surfaces; Factory is a providers.Factory.
var (
	_ providers.App      = (*Program)(nil)
	_ providers.Tester   = (*Program)(nil)
	_ providers.Surfaces = (*Program)(nil)
	_ providers.Factory  = Factory
)

// Program is one app reached by running a program, once per call. It is
// safe for concurrent use.
type Program struct {
	cfg    Config
	path   string   // Command[0], resolved
	env    []string // the program's whole environment
	redact redactor
}

// New returns a Program for cfg, or a *providers.ConfigError naming the
// bad field. It runs nothing.
func New(cfg Config) (*Program, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	path, _ := cfg.program() // Validate checked it
	cfg.Command, cfg.Env, cfg.Secrets = slices.Clone(cfg.Command), maps.Clone(cfg.Env), maps.Clone(cfg.Secrets)
	return &Program{cfg: cfg, path: path, env: cfg.environ(), redact: newRedactor(cfg.Secrets)}, nil
}

// Provision implements providers.App.
func (p *Program) Provision(ctx context.Context, a providers.Account) (providers.Provisioned, error) {
	resp, err := p.run(ctx, request{Op: "provision", Account: &a})
	if err == nil && resp.Ref == "" {
		err = fmt.Errorf("%w: the program's response has no ref", providers.ErrProtocol)
	}
	if err == nil {
		err = providers.CheckTOTPURI(resp.TOTPURI)
	}
	if err != nil {
		return providers.Provisioned{}, fmt.Errorf("provisioning account %s in %s: %w", a.ID, p.cfg.App, err)
	}
	return providers.Provisioned{Ref: resp.Ref, TOTPURI: resp.TOTPURI}, nil
}

// Verify implements providers.App.
func (p *Program) Verify(ctx context.Context, t providers.Target) error {
	if _, err := p.run(ctx, request{Op: "verify", Target: &t}); err != nil {
		return fmt.Errorf("verifying %s in %s: %w", describe(t), p.cfg.App, err)
	}
	return nil
}

// Snapshot implements providers.App.
func (p *Program) Snapshot(ctx context.Context, t providers.Target) (providers.State, error) {
	resp, err := p.run(ctx, request{Op: "snapshot", Target: &t})
	if err == nil && !isObject(resp.State) {
		err = fmt.Errorf("%w: the program's response has no state object", providers.ErrProtocol)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshotting %s in %s: %w", describe(t), p.cfg.App, err)
	}
	return providers.State(resp.State), nil
}

// Restore implements providers.App. It runs verify first and stops when
// that fails.
func (p *Program) Restore(ctx context.Context, t providers.Target, s providers.State) error {
	if err := p.restore(ctx, t, s); err != nil {
		return fmt.Errorf("restoring %s in %s: %w", describe(t), p.cfg.App, err)
	}
	return nil
}

func (p *Program) restore(ctx context.Context, t providers.Target, s providers.State) error {
	if !isObject(s) {
		return errors.New("the state to restore is not a JSON object")
	}
	if _, err := p.run(ctx, request{Op: "verify", Target: &t}); err != nil {
		return fmt.Errorf("verify before write: %w", err)
	}
	_, err := p.run(ctx, request{Op: "restore", Target: &t, State: json.RawMessage(s)})
	return err
}

// Deprovision implements providers.App. It runs verify first and stops
// when that fails; a target already gone is not an error.
func (p *Program) Deprovision(ctx context.Context, t providers.Target) error {
	_, err := p.run(ctx, request{Op: "verify", Target: &t})
	if err == nil {
		_, err = p.run(ctx, request{Op: "deprovision", Target: &t})
	} else {
		err = fmt.Errorf("verify before write: %w", err)
	}
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return fmt.Errorf("deprovisioning %s in %s: %w", describe(t), p.cfg.App, err)
	}
	return nil
}

// Surface implements providers.Surfaces with the op "surface": the refs
// a real viewer sees on surface now. Errors: ErrNoSurface (the program
// answers no_surface), ErrProtocol (no refs in the answer), those of run.
func (p *Program) Surface(ctx context.Context, surface string) ([]string, error) {
	resp, err := p.run(ctx, request{Op: "surface", Surface: surface})
	if err != nil {
		return nil, fmt.Errorf("reading surface %s of %s: %w", surface, p.cfg.App, err)
	}
	if resp.Refs == nil {
		return nil, fmt.Errorf("reading surface %s of %s: %w: the answer has no refs", surface, p.cfg.App, providers.ErrProtocol)
	}
	return *resp.Refs, nil
}

// Test implements providers.Tester with the op "test".
func (p *Program) Test(ctx context.Context) error {
	if _, err := p.run(ctx, request{Op: "test"}); err != nil {
		return fmt.Errorf("testing %s: %w", p.cfg.App, err)
	}
	return nil
}

func describe(t providers.Target) string {
	return fmt.Sprintf("user %s of account %s", t.Ref, t.AccountID)
}

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
