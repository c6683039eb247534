package amplitude

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/amplitude/amplitudetest"
	"github.com/understudy-dev/understudy/tagging/publishertest"
)

// clocked builds a publisher on a fake with limits o whose clock moves
// only when the publisher pauses: the pauses are recorded.
func clocked(t *testing.T, settings string, o amplitudetest.Options) (*Publisher, *amplitudetest.Fake, *pauses) {
	t.Helper()
	clock := amplitudetest.NewClock(time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC))
	o.Now = clock.Now
	fake := amplitudetest.NewWith(t, testKey, testSecret, o)
	if settings == "" {
		settings = `{"app_id": 153957, "owner": "analyst@example.test"}`
	}
	p, err := newPublisher(tagging.Config{Destination: "amp", Settings: json.RawMessage(settings),
		Secrets: map[string]string{SecretAPIKey: testKey, SecretSecretKey: testSecret}, HTTPClient: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ps := &pauses{clock: clock}
	p.ingest.Sleep = ps.sleep
	return p, fake, ps
}

type pauses struct {
	mu    sync.Mutex
	clock *amplitudetest.Clock
	waits []time.Duration
}

func (p *pauses) sleep(_ context.Context, d time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waits = append(p.waits, d)
	p.clock.Advance(d)
	return nil
}

func (p *pauses) list() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.waits)
}

type acks struct{ ids []string }

func (a *acks) ack(_ context.Context, done []tagging.SyntheticUser) error {
	for _, id := range done {
		a.ids = append(a.ids, id.DistinctID)
	}
	return nil
}

// A synthetic user busy in a load test is throttled: the batch pauses the
// documented 30 seconds, once, and then goes through; it is never sent
// again sooner.
func TestThrottledUserPausesThirtySeconds(t *testing.T) {
	t.Parallel()
	p, fake, ps := clocked(t, "", amplitudetest.Options{})
	ids := publishertest.Identities(3)
	fake.UserEvents(ids[1].DistinctID, 900) // the app's own traffic: 30 a second for 30 seconds
	var a acks
	if err := p.Mark(t.Context(), ids, a.ack); err != nil {
		t.Fatal(err)
	}
	if got := ps.list(); !slices.Equal(got, []time.Duration{ThrottlePause}) {
		t.Fatalf("pauses %v, want one of %s (HTTP V2's documented pause)", got, ThrottlePause)
	}
	if fake.Requests() != 2 || len(fake.Marked()) != 3 || len(a.ids) != 3 {
		t.Fatalf("%d requests, %d marked, %d acknowledged; want 2, 3, 3", fake.Requests(), len(fake.Marked()), len(a.ids))
	}
}

// A user throttled throughout: every attempt is 30 seconds after the last,
// the batch is not acknowledged, and the error says what happened and that
// a later run resumes.
func TestThrottledThroughoutFailsAfterPausing(t *testing.T) {
	t.Parallel()
	p, fake, ps := clocked(t, "", amplitudetest.Options{})
	fake.Throttle(10, 0)
	var a acks
	err := p.Mark(t.Context(), publishertest.Identities(2), a.ack)
	if !errors.Is(err, tagging.ErrUnavailable) {
		t.Fatalf("error %v, want ErrUnavailable", err)
	}
	if got := ps.list(); !slices.Equal(got, slices.Repeat([]time.Duration{ThrottlePause}, 4)) {
		t.Fatalf("pauses %v, want 4 of %s between 5 attempts", got, ThrottlePause)
	}
	if fake.Requests() != 5 || len(a.ids) != 0 {
		t.Fatalf("%d requests, %d acknowledged; want 5 and none", fake.Requests(), len(a.ids))
	}
	for _, want := range []string{"429", "throttles", "30 events a second", "a pause of 30s", "a later run resumes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
}

// A user over the daily quota fails the run at once, naming the quota:
// retrying within the run cannot help, and nothing of the body is kept.
func TestDailyQuotaFailsAtOnce(t *testing.T) {
	t.Parallel()
	p, fake, ps := clocked(t, `{"app_id": 153957, "owner": "analyst@example.test", "batch_size": 2}`, amplitudetest.Options{DailyQuota: 5})
	ids := publishertest.Identities(4)
	fake.UserEvents(ids[2].DistinctID, 5)
	var a acks
	err := p.Mark(t.Context(), ids, a.ack)
	if !errors.Is(err, tagging.ErrUnavailable) {
		t.Fatalf("error %v, want ErrUnavailable", err)
	}
	for _, want := range []string{"429", "1 user", "daily quota", "500,000 events a user or device in a rolling 24 hours", "not retried now"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), ids[2].DistinctID) {
		t.Errorf("the error copies the answer's user ids: %v", err)
	}
	if got := ps.list(); len(got) != 0 {
		t.Fatalf("pauses %v: a daily quota must not be retried within the run", got)
	}
	if fake.Requests() != 2 || !slices.Equal(a.ids, []string{ids[0].DistinctID, ids[1].DistinctID}) {
		t.Fatalf("%d requests, acknowledged %v; want 2 and the first batch", fake.Requests(), a.ids)
	}
}

// A pause longer than the time left before the run's deadline ends the
// run at once, saying so, and the next run resumes after what was
// acknowledged.
func TestThrottlePastTheDeadlineEndsTheRun(t *testing.T) {
	t.Parallel()
	p, fake, ps := clocked(t, `{"app_id": 153957, "owner": "analyst@example.test", "batch_size": 1}`, amplitudetest.Options{})
	ids := publishertest.Identities(3)
	fake.UserEvents(ids[1].DistinctID, 900)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var a acks
	err := p.Mark(ctx, ids, a.ack)
	if !errors.Is(err, tagging.ErrUnavailable) || !strings.Contains(err.Error(), "pause 30s") ||
		!strings.Contains(err.Error(), "deadline") || !strings.Contains(err.Error(), "the next run resumes") {
		t.Fatalf("error %v, want ErrUnavailable saying the pause outlasts the deadline", err)
	}
	if len(ps.list()) != 0 || fake.Requests() != 2 || !slices.Equal(a.ids, []string{ids[0].DistinctID}) {
		t.Fatalf("pauses %v, %d requests, acknowledged %v", ps.list(), fake.Requests(), a.ids)
	}
	ps.clock.Advance(ThrottlePause) // the next run
	if err := p.Mark(t.Context(), ids[1:], a.ack); err != nil {
		t.Fatalf("the next run: %v", err)
	}
	if len(fake.Marked()) != 3 {
		t.Fatalf("marked %v", fake.Marked())
	}
}

// The 429's body is described, never copied: a key it echoes is scrubbed,
// the ids it names are counted.
func TestClassifyIngestKeepsNoBody(t *testing.T) {
	t.Parallel()
	classify := classifyIngest(tagging.NewScrubber(testKey, testSecret))
	body := `{"code":429,"error":"Too many requests for api_key ` + testKey + `","eps_threshold":30,` +
		`"throttled_users":{"real.person@example.com":31},"throttled_devices":{"C8F9E604-F01A-4BD9-95C6-8E5357DF265D":40}}`
	v := classify(http.StatusTooManyRequests, http.Header{}, []byte(body))
	if !v.Retry || v.Wait != ThrottlePause || !errors.Is(v.Err, tagging.ErrUnavailable) {
		t.Fatalf("verdict %+v, want a retry after %s", v, ThrottlePause)
	}
	msg := v.Err.Error()
	for _, leak := range []string{testKey, "real.person", "C8F9E604"} {
		if strings.Contains(msg, leak) {
			t.Fatalf("the error holds %q: %s", leak, msg)
		}
	}
	if !strings.Contains(msg, "1 user and 1 device") {
		t.Fatalf("the error does not count who was throttled: %s", msg)
	}
	if v := classify(http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}, []byte(body)); v.Wait != 0 || !v.Retry {
		t.Fatalf("with Retry-After: %+v, want Amplitude's wait to win", v)
	}
	if v := classify(http.StatusServiceUnavailable, http.Header{}, []byte(body)); v.Err != nil {
		t.Fatalf("a 503 is left to the default rules: %+v", v)
	}
}
