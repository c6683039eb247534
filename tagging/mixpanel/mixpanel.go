package mixpanel

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/understudy-dev/understudy/tagging"
)

// Interface guards.
var (
	_ tagging.Factory   = New
	_ tagging.Publisher = (*Publisher)(nil)
	_ tagging.Marker    = (*Publisher)(nil)
	_ tagging.Previewer = (*Publisher)(nil)
)

// Publisher marks synthetic identities on their Mixpanel user profiles.
type Publisher struct {
	cfg    config
	dest   string
	sender tagging.Sender
	log    *slog.Logger

	mu      sync.Mutex
	checked bool // the service account was accepted once
}

// New builds a Mixpanel publisher from a destination's configuration.
// Errors are *tagging.ConfigError.
func New(cfg tagging.Config) (tagging.Publisher, error) {
	return NewWith(cfg, Options{})
}

// NewWith is New with options.
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
			Vendor:  "Mixpanel",
			Client:  cfg.HTTPClient,
			MinWait: minWait,
			MaxWait: maxWait,
			Sleep:   opts.Sleep,
			Secrets: []string{c.token, c.saSecret},
		},
	}, nil
}

// Capabilities says the publisher marks; Mixpanel has no filter API.
func (p *Publisher) Capabilities() []tagging.Capability {
	return []tagging.Capability{tagging.CapMark}
}

// ManualSteps are what the app team and a project admin must do for
// synthetic activity to stay out of reports.
func (p *Publisher) ManualSteps() []string {
	return []string{
		`App team: on every event sent for a synthetic account, add the event property "$ignore": true ` +
			`(in the browser: mixpanel.register({"$ignore": true}) right after identifying a synthetic user, and ` +
			`mixpanel.unregister("$ignore") on logout; on a server: add "$ignore": true to the event's properties). ` +
			`Mixpanel's ingestion drops any event that carries $ignore set to true or a non-empty string; false or "" do not drop it.`,
		// https://docs.mixpanel.com/docs/data-governance/data-views-and-classification:
		// "Users on a Growth plan or above can access the Data View and Data
		// Classification features" (an earlier version of the page said
		// Enterprise only; its Data Classification section still does), and
		// the default Data View is the one "for any new users added to the
		// project"; members are given a Data View with "+ Add User" or Teams.
		// "Create Data View": a name and description, Save, then click the new
		// Data View to "review or update filters". "Data Views Limits": a User
		// Profile Property filter "will remove the ability to analyze by all
		// Group Identifiers except User", and APIs that use the project token
		// or secret ("e.g. Export API") work at the project level.
		`Project admin (Data Views need Mixpanel's Growth plan or above): in Project Settings > Data Views, click ` +
			`"+ Create Data View", name it "Without synthetic users" and click "Save", then open it and add the user ` +
			`profile property filter "is_synthetic is not true", then tick it in the list and choose "Set Default". The ` +
			`default Data View is only where members added to the project after that start: members already in the ` +
			`project keep the Data View they have ("All Project Data", which shows the profiles that Understudy marks), ` +
			`so also add them, or their teams, to "Without synthetic users" with "+ Add User" or the Teams tab, and have ` +
			`them switch to it (its name shows next to the project's). Mixpanel's limits of Data Views: a user profile ` +
			`property filter removes the ability to analyze by all Group Identifiers except User, and APIs that use the ` +
			`project token or secret (the Export API, for one) work on the whole project, so exports still hold ` +
			`synthetic events.`,
	}
}

// Test checks the service account against the Query API (read-only). With
// no service account it sends nothing and says so: Mixpanel's ingestion
// accepts any project token.
func (p *Publisher) Test(ctx context.Context) (tagging.Check, error) {
	if !p.cfg.serviceAccount() {
		return tagging.Check{OK: false, Detail: "not checked: Mixpanel's ingestion API accepts any project token, " +
			"so only a service account (settings.service_account_username, secrets.service_account_secret, settings.project_id) can be checked"}, nil
	}
	if err := p.query(ctx); err != nil {
		return tagging.Check{}, err
	}
	p.mu.Lock()
	p.checked = true
	p.mu.Unlock()
	return tagging.Check{OK: true, Detail: fmt.Sprintf("Mixpanel's Query API accepted the service account for project %d "+
		"(the project token itself cannot be checked: ingestion accepts any token)", p.cfg.ProjectID)}, nil
}

// query asks the Query API for one profile: a read-only call that needs
// the service account and the project.
func (p *Publisher) query(ctx context.Context) error {
	u := p.cfg.QueryURL + "/engage?project_id=" + strconv.FormatInt(p.cfg.ProjectID, 10)
	form := url.Values{"distinct_id": {"understudy-credentials-check"}, "output_properties": {`["` + tagging.TagSynthetic + `"]`}}.Encode()
	resp, err := p.sender.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.SetBasicAuth(p.cfg.ServiceAccountUsername, p.cfg.saSecret)
		return req, nil
	})
	if err != nil {
		return fmt.Errorf("checking the service account of %s: %w", p.dest, err)
	}
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || (body.Status != "" && body.Status != "ok") {
		return fmt.Errorf("checking the service account of %s: %w: Mixpanel answered %d with an unexpected body: %s",
			p.dest, tagging.ErrRejected, resp.Status, p.sender.Scrubber().Answer(resp.Body))
	}
	return nil
}

// checkOnce checks the service account before the publisher's first write.
func (p *Publisher) checkOnce(ctx context.Context) error {
	if !p.cfg.serviceAccount() {
		return nil
	}
	p.mu.Lock()
	done := p.checked
	p.mu.Unlock()
	if done {
		return nil
	}
	if err := p.query(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	p.checked = true
	p.mu.Unlock()
	return nil
}
