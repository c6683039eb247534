package client

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Client.
type Config struct {
	// BaseURL is the Understudy server, e.g. "https://understudy.internal".
	// Required.
	BaseURL string
	// Token is an Understudy token of scope app. Required.
	Token string
	// Environment is the environment whose list the client loads. Required.
	Environment string
	// RefreshInterval is the time between two refreshes. Defaults to 30s.
	RefreshInterval time.Duration
	// HTTPClient makes the calls. Defaults to a client with a 10s timeout.
	// Its CheckRedirect is not used: a redirect is followed only to the
	// same scheme, host and port, so the token never goes elsewhere.
	HTTPClient *http.Client
	// PublicKeys pins the keys that may sign the list, by key id (see
	// KeyID). Defaults to none: the keys are fetched from
	// GET {BaseURL}/v1/isolation/keys at Start and whenever a list names a
	// key id the client does not know.
	PublicKeys map[string]ed25519.PublicKey
	// ControlledDomains are email domains whose addresses are treated as
	// synthetic while the client has no list to trust (see Decide).
	// Defaults to none; the list's own controlled domains are added once
	// a list is accepted.
	ControlledDomains []string
	// SyntheticMarker, when set, makes an id containing it synthetic while
	// the client has no list to trust. Defaults to none.
	SyntheticMarker string
	// Logger receives refresh failures and rejected lists. Defaults to a
	// logger that discards.
	Logger *slog.Logger
	// OnDegraded, when set, is called with true when the client becomes
	// degraded and with false when it recovers, from the refresh
	// goroutine. Defaults to none.
	OnDegraded func(degraded bool)
	// MaxListBytes bounds the size of a list body. Defaults to 256 MiB.
	MaxListBytes int64
	// AllowCleartext lets BaseURL be http to a host that is not loopback,
	// for a network that encrypts below HTTP (a service mesh's mTLS).
	// Defaults to false: BaseURL must be https, or http to a loopback host,
	// since the app token travels with every request (the rule Understudy
	// applies to every URL it sends a secret to).
	AllowCleartext bool
}

// WithDefaults returns the configuration with its defaults filled in.
func (c Config) WithDefaults() Config {
	c.RefreshInterval = cmp.Or(c.RefreshInterval, 30*time.Second)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c.MaxListBytes = cmp.Or(c.MaxListBytes, 256<<20)
	return c
}

// Validate names the first field that is wrong.
func (c Config) Validate() error {
	switch {
	case c.BaseURL == "":
		return errors.New("isolation client: BaseURL is required")
	case c.Token == "":
		return errors.New("isolation client: Token is required")
	case c.Environment == "":
		return errors.New("isolation client: Environment is required")
	case c.RefreshInterval < 0:
		return errors.New("isolation client: RefreshInterval must not be negative")
	case c.MaxListBytes < 0:
		return errors.New("isolation client: MaxListBytes must not be negative")
	}
	u, err := url.Parse(c.BaseURL)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		return fmt.Errorf("isolation client: BaseURL %q is not an absolute URL", c.BaseURL)
	case u.Scheme == "https", u.Scheme == "http" && (c.AllowCleartext || loopback(u.Hostname())):
	case u.Scheme == "http":
		return fmt.Errorf("isolation client: BaseURL %q must use https (http only to a loopback host, or with AllowCleartext): "+
			"the app token would cross the network in cleartext", c.BaseURL)
	default:
		return fmt.Errorf("isolation client: BaseURL %q must be an https URL", c.BaseURL)
	}
	for id, pub := range c.PublicKeys {
		if len(pub) != ed25519.PublicKeySize || KeyID(pub) != id {
			return fmt.Errorf("isolation client: PublicKeys[%q] is not an ed25519 key with that key id", id)
		}
	}
	return nil
}

// loopback says whether host is localhost or a loopback address. It is the
// server's rule (internal/egress) written again, since this package imports
// nothing of the server.
func loopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	ip, err := netip.ParseAddr(host)
	return host == "localhost" || err == nil && ip.WithZone("").Unmap().IsLoopback()
}

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("isolation client: closed")

// Client holds the signed isolation list of one environment in memory and
// answers visibility checks from it. Its methods are safe for concurrent use.
type Client struct {
	cfg     Config
	listURL string
	keysURL string
	domains []string
	marker  string
	now     func() time.Time

	snap     atomic.Pointer[snapshot]
	degraded atomic.Bool

	refreshMu sync.Mutex // serializes refreshes; guards keys and retired
	keys      map[string]ed25519.PublicKey
	// retired are the key ids a key set marked retired, or that a later
	// key set no longer held: a list they sign is refused.
	retired map[string]bool

	statsMu sync.Mutex
	stats   Stats

	lifeMu  sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a client for cfg. It makes no call: Start loads the list.
func New(cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	return &Client{
		cfg:     cfg,
		listURL: base + "/v1/environments/" + url.PathEscape(cfg.Environment) + "/isolation/list",
		keysURL: base + "/v1/isolation/keys",
		domains: lowerAll(cfg.ControlledDomains),
		marker:  cfg.SyntheticMarker,
		now:     time.Now,
		keys:    maps.Clone(cfg.PublicKeys),
		retired: map[string]bool{},
	}, nil
}

// Start loads the first list and then refreshes it every RefreshInterval
// until Close is called or ctx is done. A server that is down or a list
// that is rejected does not make Start fail: the client starts degraded,
// failing closed, and keeps trying. Start returns an error only when it
// was already called or the client is closed.
func (c *Client) Start(ctx context.Context) error {
	c.lifeMu.Lock()
	if c.closed {
		c.lifeMu.Unlock()
		return ErrClosed
	}
	if c.started {
		c.lifeMu.Unlock()
		return errors.New("isolation client: already started")
	}
	c.started = true
	runCtx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	c.done = make(chan struct{})
	c.lifeMu.Unlock()

	_ = c.Refresh(runCtx) // a failure is logged, counted and reported as degraded
	go c.run(runCtx)
	return nil
}

func (c *Client) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = c.Refresh(ctx)
		}
	}
}

// Close stops the background refresh and waits for it. The last list stays
// in use for checks. Close is safe without Start and safe to call twice.
func (c *Client) Close() error {
	c.lifeMu.Lock()
	if c.closed {
		c.lifeMu.Unlock()
		return nil
	}
	c.closed = true
	started := c.started
	c.lifeMu.Unlock()
	if started {
		c.cancel()
		<-c.done
	}
	return nil
}

// Degraded reports whether the client has no list yet or its last refresh
// failed or was rejected.
func (c *Client) Degraded() bool {
	return c.snap.Load() == nil || c.degraded.Load()
}
