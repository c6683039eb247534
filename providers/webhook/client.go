package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/understudy-dev/understudy/providers"
)

// Compile-time guards: a webhook app answers the contract, and the optional
// capabilities Tester, Surfaces and Closer; Factory is a providers.Factory.
var (
	_ providers.App      = (*Client)(nil)
	_ providers.Tester   = (*Client)(nil)
	_ providers.Surfaces = (*Client)(nil)
	_ providers.Closer   = (*Client)(nil)
	_ providers.Factory  = Factory
)

// Client is one app reached through the webhook contract. It is safe for
// concurrent use.
type Client struct {
	cfg  Config
	urls map[op]string
	http *http.Client
}

// New returns a Client for cfg, or a *providers.ConfigError naming the bad
// field. It sends nothing.
func New(cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.SigningSecret = bytes.Clone(cfg.SigningSecret)
	base, _ := cfg.baseURL() // Validate checked it
	urls := make(map[op]string, len(ops))
	for _, o := range ops {
		urls[o] = base.JoinPath(string(o)).String()
	}
	return &Client{cfg: cfg, urls: urls, http: &http.Client{
		Transport: cfg.policy().transport(cfg.Timeout),
		// A redirect is outside the contract: it is answered as ErrProtocol.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// Provision implements providers.App.
// The answer's totp_uri (the user's authenticator secret) is checked
// against the contract (CheckTOTPURI) and never logged or quoted.
func (c *Client) Provision(ctx context.Context, a providers.Account) (providers.Provisioned, error) {
	var out struct {
		Ref     *string `json:"ref"`
		TOTPURI *string `json:"totp_uri"`
	}
	err := c.call(ctx, opProvision, struct {
		Account providers.Account `json:"account"`
	}{a}, &out)
	if err == nil && (out.Ref == nil || *out.Ref == "") {
		err = fmt.Errorf("%w: the answer has no ref", providers.ErrProtocol)
	}
	var uri string
	if err == nil && out.TOTPURI != nil {
		uri = *out.TOTPURI
		if uri == "" {
			err = fmt.Errorf("%w: the answer's totp_uri is empty (leave it out when the app enrolled no secret)", providers.ErrProtocol)
		} else {
			err = providers.CheckTOTPURI(uri)
		}
	}
	if err != nil {
		return providers.Provisioned{}, fmt.Errorf("provisioning account %s in %s: %w", a.ID, c.cfg.App, err)
	}
	return providers.Provisioned{Ref: *out.Ref, TOTPURI: uri}, nil
}

// Verify implements providers.App.
func (c *Client) Verify(ctx context.Context, t providers.Target) error {
	if err := c.verify(ctx, t); err != nil {
		return fmt.Errorf("verifying %s in %s: %w", describe(t), c.cfg.App, err)
	}
	return nil
}

func (c *Client) verify(ctx context.Context, t providers.Target) error {
	var out struct {
		Ref       *string `json:"ref"`
		Synthetic *bool   `json:"synthetic"`
		AccountID *string `json:"account_id"`
	}
	if err := c.call(ctx, opVerify, t, &out); err != nil {
		return err
	}
	switch {
	case out.Ref == nil || out.Synthetic == nil || out.AccountID == nil:
		return fmt.Errorf("%w: the verify answer lacks ref, synthetic or account_id", providers.ErrProtocol)
	case *out.Ref != t.Ref:
		return fmt.Errorf("%w: the verify answer is about user %q", providers.ErrProtocol, clip(*out.Ref, 80))
	case !*out.Synthetic:
		return fmt.Errorf("%w: the app reports a real user", providers.ErrNotSynthetic)
	case *out.AccountID != t.AccountID:
		return fmt.Errorf("%w: the app reports it was provisioned for account %q", providers.ErrNotOwned, clip(*out.AccountID, 80))
	}
	return nil
}

// Snapshot implements providers.App.
func (c *Client) Snapshot(ctx context.Context, t providers.Target) (providers.State, error) {
	var out struct {
		State json.RawMessage `json:"state"`
	}
	err := c.call(ctx, opSnapshot, t, &out)
	if err == nil && !isObject(out.State) {
		err = fmt.Errorf("%w: the answer has no state object", providers.ErrProtocol)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshotting %s in %s: %w", describe(t), c.cfg.App, err)
	}
	return providers.State(out.State), nil
}

// Restore implements providers.App. It verifies the target first and sends
// nothing else when that fails.
func (c *Client) Restore(ctx context.Context, t providers.Target, s providers.State) error {
	err := c.restore(ctx, t, s)
	if err != nil {
		return fmt.Errorf("restoring %s in %s: %w", describe(t), c.cfg.App, err)
	}
	return nil
}

func (c *Client) restore(ctx context.Context, t providers.Target, s providers.State) error {
	if !isObject(s) {
		return errors.New("the state to restore is not a JSON object")
	}
	if err := c.verify(ctx, t); err != nil {
		return fmt.Errorf("verify before write: %w", err)
	}
	return c.call(ctx, opRestore, struct {
		providers.Target
		State json.RawMessage `json:"state"`
	}{t, json.RawMessage(s)}, nil)
}

// Deprovision implements providers.App. It verifies the target first and
// sends nothing else when that fails; a target already gone is not an
// error.
func (c *Client) Deprovision(ctx context.Context, t providers.Target) error {
	err := c.verify(ctx, t)
	if err == nil {
		err = c.call(ctx, opDeprovision, t, nil)
	} else {
		err = fmt.Errorf("verify before write: %w", err)
	}
	if err != nil && !errors.Is(err, providers.ErrNotFound) {
		return fmt.Errorf("deprovisioning %s in %s: %w", describe(t), c.cfg.App, err)
	}
	return nil
}

// Surface implements providers.Surfaces: it asks the app who a real
// viewer sees on the surface now. A 404 with the code no_surface (or
// not_found) is providers.ErrNoSurface; an answer without a refs array of
// non-empty strings is providers.ErrProtocol.
func (c *Client) Surface(ctx context.Context, name string) ([]string, error) {
	var out struct {
		Refs *[]string `json:"refs"`
	}
	err := c.call(ctx, opSurface, struct {
		Surface string `json:"surface"`
	}{name}, &out)
	switch {
	case errors.Is(err, providers.ErrNotFound):
		err = fmt.Errorf("%w: %w", providers.ErrNoSurface, err)
	case err == nil && out.Refs == nil:
		err = fmt.Errorf("%w: the answer has no refs array", providers.ErrProtocol)
	case err == nil && slices.Contains(*out.Refs, ""):
		err = fmt.Errorf("%w: the answer has an empty ref", providers.ErrProtocol)
	}
	if err != nil {
		return nil, fmt.Errorf("reading surface %s of %s: %w", name, c.cfg.App, err)
	}
	return *out.Refs, nil
}

// Test implements providers.Tester: it verifies a made-up user and passes
// when the app answers as the contract says (most likely 404 not_found).
// It writes nothing.
func (c *Client) Test(ctx context.Context) error {
	t := providers.Target{Ref: "understudy-test-" + rand.Text()[:10], AccountID: "understudy-test"}
	err := c.verify(ctx, t)
	switch {
	case err == nil, errors.Is(err, providers.ErrNotFound), errors.Is(err, providers.ErrNotSynthetic),
		errors.Is(err, providers.ErrNotOwned):
		return nil
	case errors.Is(err, providers.ErrRefused) && !errors.Is(err, errSignature):
		return nil // a 400 or 422: the app may not accept such a ref, and said so in the contract's terms
	}
	return fmt.Errorf("testing %s (verifying made-up user %s): %w", c.cfg.App, t.Ref, err)
}

// Close implements providers.Closer: it closes idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

func describe(t providers.Target) string {
	return fmt.Sprintf("user %s of account %s", t.Ref, t.AccountID)
}

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
