package mixpanel_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/mixpanel"
	"github.com/understudy-dev/understudy/tagging/mixpanel/mixpaneltest"
	"github.com/understudy-dev/understudy/tagging/publishertest"
)

const (
	token     = "tok-0123456789abcdef"
	saUser    = "understudy.sa.mp-service-account"
	saSecret  = "sa-secret-0123456789"
	projectID = 4242
)

type setup struct {
	serviceAccount bool
	badSecret      bool
	token          string
	settings       map[string]any
	fake           mixpaneltest.Config
	// record, when set, records every request the publisher sends.
	record *publishertest.Recorder
}

// newPublisher starts a fake and a publisher pointed at it.
func newPublisher(t *testing.T, s setup, sleep func(context.Context, time.Duration) error) (*mixpanel.Publisher, *mixpaneltest.Server) {
	t.Helper()
	fc := s.fake
	fc.Token, fc.ProjectID, fc.Username, fc.Secret = token, projectID, saUser, saSecret
	fake := mixpaneltest.New(t, fc)
	settings := map[string]any{"ingest_url": fake.URL, "query_url": fake.URL + "/api/query"}
	for k, v := range s.settings {
		settings[k] = v
	}
	secrets := map[string]string{mixpanel.SecretProjectToken: token}
	if s.token != "" {
		secrets[mixpanel.SecretProjectToken] = s.token
	}
	if s.serviceAccount {
		settings["service_account_username"], settings["project_id"] = saUser, projectID
		secrets[mixpanel.SecretServiceAccountSecret] = saSecret
		if s.badSecret {
			secrets[mixpanel.SecretServiceAccountSecret] = "not-the-secret-42"
		}
	}
	raw, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	client := fake.Client()
	if s.record != nil {
		s.record.Next = client.Transport
		client = s.record.Client()
	}
	p, err := mixpanel.NewWith(tagging.Config{Destination: "mixpanel-prod", Settings: raw, Secrets: secrets, HTTPClient: client},
		mixpanel.Options{Sleep: sleep})
	if err != nil {
		t.Fatal(err)
	}
	return p, fake
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func nopAck(context.Context, []tagging.SyntheticUser) error { return nil }

func TestConformance(t *testing.T) {
	t.Parallel()
	publishertest.Run(t, publishertest.Harness{
		MaxBatch: mixpanel.MaxBatch,
		New: func(t *testing.T, bad bool, sleep func(context.Context, time.Duration) error) (tagging.Publisher, publishertest.Fake) {
			return newPublisher(t, setup{serviceAccount: true, badSecret: bad}, sleep)
		},
	})
}

func TestHundredThousandIdentitiesMakeFiftyRequests(t *testing.T) {
	t.Parallel()
	p, fake := newPublisher(t, setup{}, noSleep)
	list := publishertest.Identities(100_000)
	acks := 0
	if err := p.Mark(t.Context(), list, func(_ context.Context, done []tagging.SyntheticUser) error { acks++; return nil }); err != nil {
		t.Fatal(err)
	}
	if fake.Requests() != 50 || acks != 50 {
		t.Fatalf("%d requests, %d acks for 100,000 identities at 2000 a request; want 50", fake.Requests(), acks)
	}
	if fake.LargestBatch() != 2000 || len(fake.Marked()) != 100_000 {
		t.Fatalf("largest batch %d, marked %d", fake.LargestBatch(), len(fake.Marked()))
	}
}

func TestSplitsByBytes(t *testing.T) {
	t.Parallel()
	// The fake refuses (413) any body over 20,000 bytes; each update is about 1,200.
	p, fake := newPublisher(t, setup{settings: map[string]any{"max_request_bytes": 20_000}, fake: mixpaneltest.Config{MaxBytes: 20_000}}, noSleep)
	list := publishertest.Identities(100)
	for i := range list {
		list[i].Tags[tagging.TagRole] = strings.Repeat("r", 1000)
	}
	if err := p.Mark(t.Context(), list, nopAck); err != nil {
		t.Fatal(err)
	}
	if len(fake.Marked()) != 100 || fake.Requests() < 6 || fake.LargestBatch() > 20 {
		t.Fatalf("marked %d in %d requests (largest %d updates)", len(fake.Marked()), fake.Requests(), fake.LargestBatch())
	}
}

func TestOversizedUpdateRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	p, fake := newPublisher(t, setup{}, noSleep)
	list := publishertest.Identities(3)
	list[2].Tags[tagging.TagRole] = strings.Repeat("x", mixpanel.MaxUpdateBytes)
	err := p.Mark(t.Context(), list, nopAck)
	if !errors.Is(err, tagging.ErrRejected) || fake.Requests() != 0 {
		t.Fatalf("error %v after %d requests; want ErrRejected before any request", err, fake.Requests())
	}
}

func TestStatusZeroInA200IsReported(t *testing.T) {
	t.Parallel()
	p, fake := newPublisher(t, setup{}, noSleep)
	fake.FailNext("'$set' is not a valid object")
	acked := 0
	err := p.Mark(t.Context(), publishertest.Identities(3), func(_ context.Context, d []tagging.SyntheticUser) error { acked += len(d); return nil })
	if !errors.Is(err, tagging.ErrRejected) || !strings.Contains(err.Error(), "not a valid object") {
		t.Fatalf("error %v; want ErrRejected with Mixpanel's message", err)
	}
	if acked != 0 || len(fake.Marked()) != 0 {
		t.Fatalf("%d acknowledged, %d marked after a refused batch", acked, len(fake.Marked()))
	}

	fake.FailNext("$token, missing or empty (" + token + ")")
	err = p.Mark(t.Context(), publishertest.Identities(1), nopAck)
	if !errors.Is(err, tagging.ErrCredentials) {
		t.Fatalf("error %v; want ErrCredentials when the body names the token", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Fatalf("the token leaked into the error: %v", err)
	}
}

func TestUnknownTokenIsAcceptedAndLost(t *testing.T) {
	t.Parallel()
	// Mixpanel attributes tokens after the request: the publisher cannot
	// see a wrong token, which is why Test needs a service account.
	p, fake := newPublisher(t, setup{token: "tok-of-another-project"}, noSleep)
	if err := p.Mark(t.Context(), publishertest.Identities(2), nopAck); err != nil {
		t.Fatal(err)
	}
	if len(fake.Marked()) != 0 {
		t.Fatalf("marked %v under another project's token", fake.Marked())
	}
	c, err := p.Test(t.Context())
	if err != nil || c.OK || !strings.Contains(c.Detail, "service account") {
		t.Fatalf("Test without a service account: %+v %v; want OK false saying why", c, err)
	}
}

func TestMarkSetsTagsAndUnmarkUnsetsThem(t *testing.T) {
	t.Parallel()
	p, fake := newPublisher(t, setup{}, noSleep)
	list := publishertest.Identities(1)
	if err := p.Mark(t.Context(), list, nopAck); err != nil {
		t.Fatal(err)
	}
	got := fake.Profile(list[0].DistinctID)
	if got["is_synthetic"] != true || got["synthetic_role"] != "buyer" || got["understudy_account_id"] != "acct-000000" {
		t.Fatalf("profile after mark: %v", got)
	}
	if err := p.Unmark(t.Context(), list, nopAck); err != nil {
		t.Fatal(err)
	}
	if got := fake.Profile(list[0].DistinctID); len(got) != 0 {
		t.Fatalf("profile after unmark: %v, want no tags", got)
	}
}

func TestBadServiceAccountNeverLeaks(t *testing.T) {
	t.Parallel()
	p, _ := newPublisher(t, setup{serviceAccount: true, badSecret: true}, noSleep)
	_, err := p.Test(t.Context())
	if !errors.Is(err, tagging.ErrCredentials) || strings.Contains(err.Error(), "not-the-secret-42") || strings.Contains(err.Error(), token) {
		t.Fatalf("error %v; want ErrCredentials without secrets", err)
	}
}

func TestManualSteps(t *testing.T) {
	t.Parallel()
	p, _ := newPublisher(t, setup{}, noSleep)
	steps := strings.Join(p.ManualSteps(), "\n")
	for _, want := range []string{`"$ignore": true`, "Data View", "is_synthetic",
		// What Mixpanel's Data Views page says of the plan and of "Set Default".
		"Growth plan or above", "members added to the project after", "members already in the project keep", "+ Add User",
		// Create Data View: name it and Save, then open it to add filters;
		// and the page's "Data Views Limits".
		`click "Save", then open it`, "Group Identifiers except User", "Export API"} {
		if !strings.Contains(steps, want) {
			t.Errorf("manual steps do not say %q:\n%s", want, steps)
		}
	}
	if caps := p.Capabilities(); len(caps) != 1 || caps[0] != tagging.CapMark {
		t.Fatalf("capabilities %v", caps)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	good := map[string]string{mixpanel.SecretProjectToken: token}
	cases := []struct {
		settings string
		secrets  map[string]string
		field    string
	}{
		{`{"bogus": 1}`, good, "settings.bogus"},
		{`{"region": "mars"}`, good, "settings.region"},
		{`{"max_batch": 2001}`, good, "settings.max_batch"},
		{`{"max_batch": "many"}`, good, "settings.max_batch"},
		{`{"max_request_bytes": 2000000}`, good, "settings.max_request_bytes"},
		{`{"ingest_url": "ftp://x"}`, good, "settings.ingest_url"},
		{`{}`, nil, "secrets.project_token"},
		{`{"service_account_username": "u", "project_id": 1}`, good, "secrets.service_account_secret"},
		{`{"project_id": 1}`, map[string]string{mixpanel.SecretProjectToken: token, mixpanel.SecretServiceAccountSecret: "s3cr3t-value"}, "settings.service_account_username"},
		{`{"service_account_username": "u"}`, map[string]string{mixpanel.SecretProjectToken: token, mixpanel.SecretServiceAccountSecret: "s3cr3t-value"}, "settings.project_id"},
		{`{} {}`, good, "settings"},
	}
	for _, c := range cases {
		_, err := mixpanel.New(tagging.Config{Settings: json.RawMessage(c.settings), Secrets: c.secrets})
		ce, ok := errors.AsType[*tagging.ConfigError](err)
		if !ok || ce.Field != c.field {
			t.Errorf("settings %s: error %v, want a ConfigError naming %s", c.settings, err, c.field)
			continue
		}
		if strings.Contains(ce.Error(), token) || strings.Contains(ce.Error(), "s3cr3t-value") {
			t.Errorf("a secret leaked: %v", ce)
		}
	}
	if _, err := mixpanel.New(tagging.Config{Secrets: good}); err != nil {
		t.Fatalf("empty settings: %v", err)
	}
}
