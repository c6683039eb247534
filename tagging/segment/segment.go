package segment

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"

	"github.com/understudy-dev/understudy/tagging"
)

// Interface guards.
var (
	_ tagging.Factory   = New
	_ tagging.Publisher = (*Publisher)(nil)
	_ tagging.Marker    = (*Publisher)(nil)
	_ tagging.Publisher = (*FilteringPublisher)(nil)
	_ tagging.Marker    = (*FilteringPublisher)(nil)
	_ tagging.Filterer  = (*FilteringPublisher)(nil)
	_ tagging.Previewer = (*Publisher)(nil)
	_ tagging.Previewer = (*FilteringPublisher)(nil)
)

// Publisher marks synthetic identities with identify calls.
type Publisher struct {
	cfg    config
	dest   string
	sender tagging.Sender
	log    *slog.Logger

	mu      sync.Mutex
	checked bool // the write key was found on the source once
}

// FilteringPublisher is a Publisher that also keeps the managed
// destination filter; New returns one when an API token and destination
// ids are set.
type FilteringPublisher struct {
	*Publisher
}

// New builds a Segment publisher from a destination's configuration.
// Errors are *tagging.ConfigError.
func New(cfg tagging.Config) (tagging.Publisher, error) {
	p, err := NewWith(cfg, Options{})
	if err != nil {
		return nil, err
	}
	if p.cfg.filters() {
		return &FilteringPublisher{p}, nil
	}
	return p, nil
}

// NewWith builds the Publisher with options; wrap it in a
// FilteringPublisher to keep filters (New does when they are configured).
func NewWith(cfg tagging.Config, opts Options) (*Publisher, error) {
	c, err := parse(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{
		cfg:  c,
		dest: cmp.Or(cfg.Destination, Kind),
		log:  log,
		sender: tagging.Sender{
			Vendor:  "Segment",
			Client:  cfg.HTTPClient,
			Sleep:   opts.Sleep,
			Secrets: []string{c.writeKey, c.apiToken},
		},
	}, nil
}

// Capabilities says the publisher marks.
func (p *Publisher) Capabilities() []tagging.Capability {
	return []tagging.Capability{tagging.CapMark}
}

// Capabilities says the publisher marks and filters.
func (p *FilteringPublisher) Capabilities() []tagging.Capability {
	return []tagging.Capability{tagging.CapMark, tagging.CapFilter}
}

// ManualSteps are what the app team (and, without filters, a workspace
// owner) must do.
func (p *Publisher) ManualSteps() []string {
	steps := []string{
		`App team: on every track, page and screen call made for a synthetic account, set context.traits.is_synthetic = true ` +
			`(analytics.js: pass {context: {traits: {is_synthetic: true}}} as the call's options; server libraries: ` +
			`context.traits in the message) or the property is_synthetic = true, as a boolean. Segment's destination filter ` +
			`matches only the boolean true, and an event without it reaches destinations even when its user is marked.`,
	}
	if !p.cfg.filters() {
		// https://segment.com/docs/connections/destinations/destination-filters/
		// ("Create a Destination Filter"; the FAQ names the builder's lists).
		steps = append(steps, `Workspace owner: for each destination connected to source `+
			cmp.Or(p.cfg.SourceID, "(this source)")+`, open Connections > Destinations, select the destination, open its `+
			`Filters tab and click "+ New Filter"; set the rules to drop the event when any of these holds: is_synthetic `+
			`is true in User Traits, traits.is_synthetic is true in Context Fields, is_synthetic is true in Properties `+
			`(the FQL `+FilterFQL+`); click "Load Sample Event" to check that a synthetic event is dropped and a real one `+
			`passes, click "Next Step", name it "`+FilterTitle+`", turn its toggle on and click "Save" (or set `+
			`secrets.api_token and settings.destination_ids to let Understudy keep it).`)
	}
	// https://segment.com/docs/connections/destinations/destination-filters/
	// ("Destination Filters are available to Business Tier customers only";
	// Limitations: "only be applied to cloud-mode (server-side) streaming
	// destinations. Device-mode destinations aren't supported", nor
	// Warehouses or S3).
	return append(steps, `Destination filters need Segment's Business tier, and they apply only to cloud-mode destinations: `+
		`not to device-mode destinations (loaded in the browser or app, which send from the device), nor to Warehouse `+
		`or S3 destinations. Synthetic events still reach every device-mode destination, warehouse and S3 bucket `+
		`connected to this source: switch such a destination to cloud mode, or exclude is_synthetic there (in the `+
		`queries and models built on a warehouse or S3, by is_synthetic or the exclusion list).`)
}

// Test finds the write key among the source's write keys through the
// Public API (read-only). Without an API token it sends nothing and says
// so: the Tracking API answers 200 to any write key.
func (p *Publisher) Test(ctx context.Context) (tagging.Check, error) {
	if p.cfg.apiToken == "" {
		return tagging.Check{OK: false, Detail: "not checked: Segment's Tracking API answers 200 to any write key and drops " +
			"what it cannot attribute, so only a Public API token (secrets.api_token, settings.source_id) can check it"}, nil
	}
	if err := p.checkWriteKey(ctx); err != nil {
		return tagging.Check{}, err
	}
	return tagging.Check{OK: true, Detail: fmt.Sprintf("the Public API accepted the token, and the write key is one of source %s's", p.cfg.SourceID)}, nil
}

// checkWriteKey reads the source and looks for the write key.
func (p *Publisher) checkWriteKey(ctx context.Context) error {
	var out struct {
		Data struct {
			Source struct {
				WriteKeys []string `json:"writeKeys"`
			} `json:"source"`
		} `json:"data"`
	}
	if err := p.api(ctx, http.MethodGet, "/sources/"+url.PathEscape(p.cfg.SourceID), nil, &out); err != nil {
		return fmt.Errorf("checking the write key of %s: %w", p.dest, err)
	}
	if !slices.Contains(out.Data.Source.WriteKeys, p.cfg.writeKey) {
		return fmt.Errorf("checking the write key of %s: %w: the write key is not one of source %s's write keys",
			p.dest, tagging.ErrCredentials, p.cfg.SourceID)
	}
	p.mu.Lock()
	p.checked = true
	p.mu.Unlock()
	return nil
}

// checkOnce checks the write key before the publisher's first write, when
// it can: Segment would silently drop every call made with a wrong key.
func (p *Publisher) checkOnce(ctx context.Context) error {
	p.mu.Lock()
	done := p.checked
	p.mu.Unlock()
	if done || p.cfg.apiToken == "" {
		return nil
	}
	return p.checkWriteKey(ctx)
}

// api sends one Public API request and decodes the answer's JSON into out.
func (p *Publisher) api(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	resp, err := p.sender.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, p.cfg.APIURL+path, r)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+p.cfg.apiToken)
		req.Header.Set("Accept", "application/vnd.segment.v1+json")
		if body != nil {
			req.Header.Set("Content-Type", "application/vnd.segment.v1+json")
		}
		return req, nil
	})
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("%w: Segment answered %s %s with %d and a body that is not the documented JSON",
			tagging.ErrRejected, method, path, resp.Status)
	}
	return nil
}
