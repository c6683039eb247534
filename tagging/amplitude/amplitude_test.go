package amplitude

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/amplitude/amplitudetest"
	"github.com/understudy-dev/understudy/tagging/publishertest"
)

const (
	testKey    = "amp-test-key-0123456789"
	testSecret = "amp-test-secret-0123456789"
)

// newTest builds a publisher on a fresh fake; settings defaults to a US
// project that can create its cohort.
func newTest(t *testing.T, settings string, badCredentials bool) (*Publisher, *amplitudetest.Fake) {
	t.Helper()
	fake := amplitudetest.New(t, testKey, testSecret)
	key, secret := testKey, testSecret
	if badCredentials {
		key, secret = "amp-wrong-key-9876543210", "amp-wrong-secret-9876543210"
	}
	if settings == "" {
		settings = `{"app_id": 153957, "owner": "analyst@example.test"}`
	}
	p, err := newPublisher(tagging.Config{Destination: "amp", Settings: json.RawMessage(settings),
		Secrets: map[string]string{SecretAPIKey: key, SecretSecretKey: secret}, HTTPClient: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	noSleep := func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	p.ingest.Sleep, p.cohorts.Sleep = noSleep, noSleep
	return p, fake
}

func TestConformance(t *testing.T) {
	t.Parallel()
	publishertest.Run(t, publishertest.Harness{
		MaxBatch: DefaultBatchSize,
		New: func(t *testing.T, bad bool, sleep func(context.Context, time.Duration) error) (tagging.Publisher, publishertest.Fake) {
			p, fake := newTest(t, "", bad)
			p.ingest.Sleep, p.cohorts.Sleep = sleep, sleep
			return p, fake
		},
	})
}

func TestFakeRefusesJSONBody(t *testing.T) {
	t.Parallel()
	fake := amplitudetest.New(t, testKey, testSecret)
	body := `{"api_key":"` + testKey + `","identification":[{"user_id":"someone@example.test","user_properties":{"$set":{"is_synthetic":true}}}]}`
	resp, err := fake.Client().Post("https://api2.amplitude.com/identify", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a JSON body to /identify answered %d, want 400", resp.StatusCode)
	}
	if len(fake.Marked()) != 0 {
		t.Fatalf("a JSON body marked %v", fake.Marked())
	}
	// The same content, form-encoded, is accepted.
	form := url.Values{"api_key": {testKey}, "identification": {`[{"user_id":"someone@example.test","user_properties":{"$set":{"is_synthetic":true}}}]`}}
	resp, err = fake.Client().PostForm("https://api2.amplitude.com/identify", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !slices.Equal(fake.Marked(), []string{"someone@example.test"}) {
		t.Fatalf("the form body answered %d and marked %v", resp.StatusCode, fake.Marked())
	}
}

// capture records the requests a publisher sends, then lets them through.
type capture struct {
	mu     sync.Mutex
	next   http.RoundTripper
	bodies []string
	ctypes []string
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/identify" {
		b, _ := r.GetBody()
		raw := new(strings.Builder)
		if b != nil {
			buf := make([]byte, 4096)
			for {
				n, err := b.Read(buf)
				raw.Write(buf[:n])
				if err != nil {
					break
				}
			}
		}
		c.mu.Lock()
		c.bodies = append(c.bodies, raw.String())
		c.ctypes = append(c.ctypes, r.Header.Get("Content-Type"))
		c.mu.Unlock()
	}
	return c.next.RoundTrip(r)
}

func TestMarkIsFormEncoded(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, "", false)
	c := &capture{next: p.ingest.Client.Transport}
	p.ingest.Client = &http.Client{Transport: c}
	ids := publishertest.Identities(2)
	if err := p.Mark(t.Context(), ids, func(context.Context, []tagging.SyntheticUser) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(c.bodies) != 1 || c.ctypes[0] != "application/x-www-form-urlencoded" {
		t.Fatalf("requests %d, content types %v", len(c.bodies), c.ctypes)
	}
	form, err := url.ParseQuery(c.bodies[0])
	if err != nil || form.Get("api_key") != testKey {
		t.Fatalf("the body is not a form with the api_key: %v", err)
	}
	var sent []identification
	if err := json.Unmarshal([]byte(form.Get("identification")), &sent); err != nil {
		t.Fatalf("identification is not a JSON array: %v", err)
	}
	set, _ := sent[0].UserProperties["$set"].(map[string]any)
	if sent[0].UserID != ids[0].DistinctID || set[tagging.TagSynthetic] != true || set[tagging.TagRole] != "buyer" {
		t.Fatalf("identification %+v", sent[0])
	}
	if v, _ := fake.Property(ids[1].DistinctID, tagging.TagEnvironment); v != "production" {
		t.Fatalf("the fake holds %s=%v", tagging.TagEnvironment, v)
	}
}

func TestBadKeyIsCredentialsAndRedacted(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, "", true)
	err := p.Mark(t.Context(), publishertest.Identities(1), func(context.Context, []tagging.SyntheticUser) error { return nil })
	if !errors.Is(err, tagging.ErrCredentials) {
		t.Fatalf("error %v, want ErrCredentials", err)
	}
	if strings.Contains(err.Error(), "amp-wrong-key") {
		t.Fatalf("the key is in the error: %v", err)
	}
	if fake.Requests() != 1 {
		t.Fatalf("%d requests: a refused key must not be retried", fake.Requests())
	}
}

func TestCredentialsErrorReadsBothAnswers(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"code":400,"error":"Invalid API key: [redacted]"}`, "invalid_api_key"} {
		err := credentialsError(errors.New(tagging.ErrRejected.Error() + ": Amplitude answered 400: " + body))
		if errors.Is(err, tagging.ErrCredentials) {
			t.Fatalf("a plain error must not match: %v", err)
		}
		err = credentialsError(wrapRejected(body))
		if !errors.Is(err, tagging.ErrCredentials) {
			t.Fatalf("%q: %v, want ErrCredentials", body, err)
		}
	}
	other := wrapRejected(`{"code":400,"error":"Request missing required field"}`)
	if got := credentialsError(other); !errors.Is(got, tagging.ErrRejected) || errors.Is(got, tagging.ErrCredentials) {
		t.Fatalf("another 400: %v", got)
	}
}

func wrapRejected(body string) error {
	return errors.Join(tagging.ErrRejected, errors.New("Amplitude answered 400: "+body))
}

func TestSplitsByBytes(t *testing.T) {
	t.Parallel()
	items := make([]encoded, 10)
	for i := range items {
		items[i] = encoded{escaped: strings.Repeat("x", 100)}
	}
	batches := splitBatches(items, 1000, 350)
	for _, b := range batches {
		size := 6 + 100*len(b) + 3*(len(b)-1)
		if size > 350 {
			t.Fatalf("a batch of %d bytes, limit 350", size)
		}
	}
	if len(batches) != 4 || len(batches[0]) != 3 {
		t.Fatalf("%d batches, want 4 (3, 3, 3, 1)", len(batches))
	}
}

func TestRefusedUserIDsAreNotSent(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, "", false)
	ids := publishertest.Identities(2)
	ids[0].DistinctID = "null"
	var acked int
	err := p.Mark(t.Context(), ids, func(_ context.Context, d []tagging.SyntheticUser) error { acked += len(d); return nil })
	if !errors.Is(err, tagging.ErrRejected) || acked != 1 {
		t.Fatalf("error %v, %d acked; want ErrRejected and the valid one acked", err, acked)
	}
	if !slices.Equal(fake.Marked(), []string{ids[1].DistinctID}) {
		t.Fatalf("marked %v", fake.Marked())
	}
}

func TestCohortCreatedOnceThenIncremental(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, `{"app_id": 153957, "owner": "analyst@example.test", "batch_size": 2}`, false)
	ids := publishertest.Identities(5)
	ack := func(context.Context, []tagging.SyntheticUser) error { return nil }
	if err := p.AddToList(t.Context(), ids[:3], ack); err != nil {
		t.Fatal(err)
	}
	if err := p.AddToList(t.Context(), ids[3:], ack); err != nil {
		t.Fatal(err)
	}
	if fake.Uploads() != 1 {
		t.Fatalf("%d uploads, want the cohort created once", fake.Uploads())
	}
	want := []string{
		"https://amplitude.com/api/3/cohorts",            // look for the cohort by name
		"https://amplitude.com/api/3/cohorts/upload",     // create it with the first batch
		"https://amplitude.com/api/3/cohorts/membership", // then only incremental changes
		"https://amplitude.com/api/3/cohorts/membership",
	}
	if got := fake.URLs(); !slices.Equal(got, want) {
		t.Fatalf("requests\n%v\nwant\n%v", got, want)
	}
	if got := fake.Listed(); len(got) != 5 {
		t.Fatalf("listed %v", got)
	}
	steps := strings.Join(p.ManualSteps(), "\n")
	for _, fact := range []string{"c000001", "Block filter", "Drop filter", "at ingestion", "at query time", "per-chart"} {
		if !strings.Contains(steps, fact) {
			t.Errorf("the manual steps do not say %q:\n%s", fact, steps)
		}
	}
}

func TestExistingCohortFoundByName(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, "", false)
	id := fake.AddCohort(DefaultCohortName, 153957)
	if err := p.AddToList(t.Context(), publishertest.Identities(2), func(context.Context, []tagging.SyntheticUser) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if fake.Uploads() != 0 || p.knownCohort() != id || len(fake.Listed()) != 2 {
		t.Fatalf("uploads %d, cohort %q (want %q), listed %v", fake.Uploads(), p.knownCohort(), id, fake.Listed())
	}
}

func TestSkippedIDsAreNotAcknowledged(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, `{"cohort_id": "c000001"}`, false)
	fake.AddCohort("synthetic", 1)
	ids := publishertest.Identities(3)
	fake.Unknown(ids[1].DistinctID)
	var acked []string
	err := p.AddToList(t.Context(), ids, func(_ context.Context, d []tagging.SyntheticUser) error {
		for _, x := range d {
			acked = append(acked, x.DistinctID)
		}
		return nil
	})
	if !errors.Is(err, tagging.ErrRejected) {
		t.Fatalf("error %v, want ErrRejected for the skipped id", err)
	}
	if want := []string{ids[0].DistinctID, ids[2].DistinctID}; !slices.Equal(acked, want) {
		t.Fatalf("acked %v, want %v", acked, want)
	}
}

func TestEURegionURLs(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, `{"region": "eu", "app_id": 1, "owner": "analyst@example.test"}`, false)
	ack := func(context.Context, []tagging.SyntheticUser) error { return nil }
	if err := p.Mark(t.Context(), publishertest.Identities(1), ack); err != nil {
		t.Fatal(err)
	}
	if err := p.AddToList(t.Context(), publishertest.Identities(1), ack); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Test(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"https://api.eu.amplitude.com/identify",
		"https://analytics.eu.amplitude.com/api/3/cohorts",
		"https://analytics.eu.amplitude.com/api/3/cohorts/upload",
		"https://analytics.eu.amplitude.com/api/3/cohorts",
	}
	if got := fake.URLs(); !slices.Equal(got, want) {
		t.Fatalf("requests\n%v\nwant\n%v", got, want)
	}
}

func TestThrottledIdentifyWaitsAtLeast15s(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, "", false)
	var waits []time.Duration
	p.ingest.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	fake.Throttle(1, 0)
	if err := p.Mark(t.Context(), publishertest.Identities(1), func(context.Context, []tagging.SyntheticUser) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] < 15*time.Second {
		t.Fatalf("waits %v, want one of at least 15s (Amplitude's documented pause)", waits)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	good := map[string]string{SecretAPIKey: "k", SecretSecretKey: "s"}
	cases := []struct {
		settings string
		secrets  map[string]string
		field    string
	}{
		{`{"app_id": 1, "owner": "a@example.test", "colour": 1}`, good, "settings.colour"},
		{`{"region": "mars", "cohort_id": "x"}`, good, "settings.region"},
		{`{"owner": "a@example.test"}`, good, "settings.app_id"},
		{`{"app_id": 1}`, good, "settings.owner"},
		{`{"app_id": "1", "owner": "a@example.test"}`, good, "settings.app_id"},
		{`{"cohort_id": "x", "batch_size": 2000}`, good, "settings.batch_size"},
		{`{"cohort_id": "x"}`, map[string]string{SecretSecretKey: "s"}, "secrets.api_key"},
		{`{"cohort_id": "x"}`, map[string]string{SecretAPIKey: "k"}, "secrets.secret_key"},
		{`{"cohort_id": "x"}`, map[string]string{SecretAPIKey: "k", SecretSecretKey: "s", "token": "t"}, "secrets.token"},
	}
	for _, c := range cases {
		_, err := New(tagging.Config{Settings: json.RawMessage(c.settings), Secrets: c.secrets})
		var ce *tagging.ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("%s %v: error %v, want a ConfigError on %s", c.settings, c.secrets, err, c.field)
		}
	}
	if _, err := New(tagging.Config{Settings: json.RawMessage(`{"cohort_id": "x"}`), Secrets: good}); err != nil {
		t.Fatalf("a cohort id needs neither app_id nor owner: %v", err)
	}
}

func TestFakeRefusesOversizedBatches(t *testing.T) {
	t.Parallel()
	fake := amplitudetest.New(t, testKey, testSecret)
	items := make([]string, amplitudetest.MaxIdentifyEvents)
	for i := range items {
		items[i] = `{"user_id":"user-` + strings.Repeat("0", 6) + `","user_properties":{"$set":{"is_synthetic":true}}}`
	}
	for name, identification := range map[string]string{
		"2000 events": "[" + strings.Join(items, ",") + "]",
		"over 1 MB":   `[{"user_id":"someone@example.test","user_properties":{"$set":{"pad":"` + strings.Repeat("x", amplitudetest.MaxIdentifyBytes) + `"}}}]`,
		// 1 MB is 1,000,000 bytes, not 1 MiB: a body of 1,010,000 bytes is refused.
		"1 MB, under 1 MiB": `[{"user_id":"someone@example.test","user_properties":{"$set":{"pad":"` + strings.Repeat("x", 1_010_000) + `"}}}]`,
	} {
		resp, err := fake.Client().PostForm("https://api2.amplitude.com/identify", url.Values{"api_key": {testKey}, "identification": {identification}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: answered %d, want 413", name, resp.StatusCode)
		}
	}
	if len(fake.Marked()) != 0 {
		t.Fatalf("an oversized request marked %d", len(fake.Marked()))
	}
}
