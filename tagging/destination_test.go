package tagging_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/posthog"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

// destinations returns the destinations service on the stack's database,
// with PostHog registered, sending through client (nil: the default).
func destinations(t *testing.T, f domaintest.Stack, client *http.Client) *tagging.Service {
	t.Helper()
	reg := tagging.NewRegistry()
	reg.Register(posthog.Kind, posthog.New)
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	d, err := tagging.New(tagging.ServiceConfig{DB: f.DB, Keyring: kr, Registry: reg, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// posthogChange attaches fake PostHog ph, with token as project token.
func posthogChange(ph *posthogtest.Fake, token string) tagging.DestinationChange {
	settings, _ := json.Marshal(map[string]any{"ingest_host": ph.URL, "app_host": ph.URL, "project_id": ph.ProjectID(), "person_wait": "0s"})
	return tagging.DestinationChange{Kind: new(posthog.Kind), Settings: settings,
		Secrets: map[string]string{posthog.SecretProjectAPIKey: token, posthog.SecretPersonalAPIKey: ph.PersonalKey()}}
}

func emails(t *testing.T, f domaintest.Stack) []string {
	t.Helper()
	list, err := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range list {
		out = append(out, a.Identity.Email)
	}
	slices.Sort(out)
	return out
}

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	e := domaintest.WantCode(t, err, understudy.EINVALID)
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestAttachValidatesByBuildingThePublisher(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)

	bad := posthogChange(ph, "not-a-token")
	bad.Settings = json.RawMessage(`{}`)
	bad.DistinctID, bad.SyncInterval = new("phone"), new("30s")
	_, err := ds.Attach(f.Ctx, "production", "ph", bad)
	if got := fieldsOf(t, err); !slices.Equal(got, []string{"distinct_id", "secrets.project_api_key", "settings.project_id", "sync_interval"}) {
		t.Fatalf("fields = %v", got)
	}
	_, err = ds.Attach(f.Ctx, "production", "ph", tagging.DestinationChange{Kind: new("heap")})
	if got := fieldsOf(t, err); !slices.Equal(got, []string{"kind"}) {
		t.Fatalf("unknown kind: %v", got)
	}
	_, err = ds.Attach(f.Ctx, "production", "ph", tagging.DestinationChange{Kind: new(posthog.Kind), DistinctID: new("{{.Nope")})
	if got := fieldsOf(t, err); !slices.Contains(got, "distinct_id") {
		t.Fatalf("bad template: %v", got)
	}

	d, err := ds.Attach(f.Ctx, "production", "ph", posthogChange(ph, ph.ProjectToken()))
	if err != nil {
		t.Fatal(err)
	}
	if d.DistinctID != "email" || d.SyncInterval != "15m0s" || d.Health.Status != tagging.HealthUnknown ||
		!slices.Equal(d.SecretNames, []string{posthog.SecretPersonalAPIKey, posthog.SecretProjectAPIKey}) {
		t.Fatalf("attached: %+v", d)
	}
	b, _ := json.Marshal(d)
	if strings.Contains(string(b), ph.PersonalKey()) || strings.Contains(string(b), ph.ProjectToken()) {
		t.Fatalf("a secret is in the destination: %s", b)
	}
	_, err = ds.Attach(f.Ctx, "production", "ph", posthogChange(ph, ph.ProjectToken()))
	domaintest.WantCode(t, err, understudy.ECONFLICT)
	_, err = ds.Attach(f.Ctx, "nowhere", "ph", posthogChange(ph, ph.ProjectToken()))
	domaintest.WantCode(t, err, understudy.ENOTFOUND)

	// Update keeps the secrets when none are given.
	u, err := ds.Update(f.Ctx, "production", "ph", tagging.DestinationChange{DistinctID: new("user-{{.AccountID}}"), SyncInterval: new("1h")})
	if err != nil || u.DistinctID != "user-{{.AccountID}}" || u.SyncInterval != "1h0m0s" || len(u.SecretNames) != 2 {
		t.Fatalf("update: %+v %v", u, err)
	}
	check, err := ds.Test(f.Ctx, "production", "ph")
	if err != nil || !check.OK || len(check.ManualSteps) == 0 {
		t.Fatalf("test: %+v %v", check, err)
	}
	got, _ := ds.Get(f.Ctx, "production", "ph")
	if got.Health.Status != tagging.HealthHealthy || !slices.Equal(got.ManualSteps, check.ManualSteps) {
		t.Fatalf("after test: %+v", got)
	}
	if list, err := ds.List(f.Ctx, "production"); err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if err := ds.Detach(f.Ctx, "production", "ph"); err != nil {
		t.Fatal(err)
	}
	_, err = ds.Get(f.Ctx, "production", "ph")
	domaintest.WantCode(t, err, understudy.ENOTFOUND)
	var audited []string
	rows, _ := f.DB.Query(context.Background(), `SELECT action FROM audit_events WHERE action LIKE 'destination.%' ORDER BY id`)
	for rows.Next() {
		var a string
		_ = rows.Scan(&a)
		audited = append(audited, a)
	}
	if !slices.Equal(audited, []string{"destination.attach", "destination.update", "destination.test", "destination.detach"}) {
		t.Fatalf("audited %v", audited)
	}
}

func TestDistinctIDRules(t *testing.T) {
	t.Parallel()
	p := tagging.Person{AccountID: "a1", Email: "x@qa.example.test", Username: "xu", Refs: map[string]string{"chirp": "42"}}
	for rule, want := range map[string]string{"": "x@qa.example.test", "account_id": "a1", "app_ref:chirp": "42", "app_ref:other": "",
		"username": "xu", "user-{{.AccountID}}": "user-a1", `{{.Username}}:{{index .Refs "chirp"}}`: "xu:42",
		// A field the account lacks gives no id, never the text alone.
		`u-{{index .Refs "other"}}`: ""} {
		r, err := tagging.ParseDistinctID(rule)
		if err != nil {
			t.Fatalf("%q: %v", rule, err)
		}
		if got, _ := r.Of(p); got != want {
			t.Fatalf("%q gives %q, want %q", rule, got, want)
		}
	}
	for _, bad := range []string{"phone", "app_ref:", "app_ref:Bad App", "{{.Missing}}", "{{"} {
		if _, err := tagging.ParseDistinctID(bad); err == nil {
			t.Fatalf("%q was accepted", bad)
		}
	}
}

func TestARegistryRefusesADuplicateKind(t *testing.T) {
	t.Parallel()
	reg := tagging.NewRegistry()
	reg.Register(posthog.Kind, posthog.New)
	defer func() {
		if recover() == nil {
			t.Fatal("registering posthog twice did not panic")
		}
	}()
	reg.Register(posthog.Kind, posthog.New)
}

// A destination that knows accounts by an id of its own (a template, or a
// bare app ref) puts those ids on the exclusion list, so the list holds
// every identifier a synthetic account appears under.
func TestADestinationsOwnDistinctIDsJoinTheExclusionList(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)
	c := posthogChange(ph, ph.ProjectToken())
	c.DistinctID = new("user-{{.AccountID}}")
	if _, err := ds.Attach(f.Ctx, "production", "ph", c); err != nil {
		t.Fatal(err)
	}
	x := tagging.NewExclusions(f.DB, nil)
	var got []tagging.Entry
	if err := x.Stream(f.Ctx, "production", 0, func(tagging.List) error { return nil }, func(e tagging.Entry) error {
		if e.Kind == "distinct_id" {
			got = append(got, e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{})
	if len(got) != 2 || got[0].Source != "ph" {
		t.Fatalf("distinct ids on the list: %+v", got)
	}
	for _, e := range got {
		if !slices.ContainsFunc(list, func(a accounts.Account) bool { return e.Identifier == "user-"+a.ID && e.AccountID == a.ID }) {
			t.Fatalf("%+v is not the template's id of an account", e)
		}
	}
	// A sync adds none twice.
	before, _ := x.Get(f.Ctx, "production")
	if _, err := ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if after, _ := x.Get(f.Ctx, "production"); after.Version != before.Version {
		t.Fatalf("a sync changed the list: %d → %d", before.Version, after.Version)
	}
}

// Settings are decoded strictly, every problem naming the setting.
func TestDecodeSettingsNamesTheSetting(t *testing.T) {
	t.Parallel()
	type settings struct {
		ProjectID int64  `json:"project_id"`
		Host      string `json:"host"`
	}
	for raw, field := range map[string]string{
		`{"project_id":"twelve"}`: "settings.project_id",
		`{"colour":"red"}`:        "settings.colour",
		`[1]`:                     "settings",
		`{"host":"x"} {}`:         "settings",
	} {
		var s settings
		ce, ok := errors.AsType[*tagging.ConfigError](tagging.DecodeSettings(json.RawMessage(raw), &s))
		if !ok || ce.Field != field {
			t.Errorf("%s: %v, want a ConfigError on %s", raw, ce, field)
		}
	}
	var s settings
	if err := tagging.DecodeSettings(nil, &s); err != nil || s != (settings{}) {
		t.Errorf("empty settings: %+v %v", s, err)
	}
	if err := tagging.CheckURL("settings.host", "https://user:pw@example.com"); err == nil {
		t.Error("a URL with credentials passed")
	}
}
