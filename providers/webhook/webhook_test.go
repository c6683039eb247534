package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/webhook"
	"github.com/understudy-dev/understudy/providers/webhook/signature"
)

var (
	secret  = []byte("webhook-secret-for-tests")
	testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	target  = providers.Target{Ref: "42", AccountID: "acct-1"}
)

// received is one request as the app saw it.
type received struct {
	path   string
	header http.Header
	body   []byte
}

// app is a small test server: answer decides each answer from the request
// and its number (1-based); every request is recorded.
type app struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
}

func newApp(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) *app {
	t.Helper()
	a := &app{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.reqs = append(a.reqs, received{r.URL.Path, r.Header.Clone(), body})
		n := len(a.reqs)
		a.mu.Unlock()
		answer(w, r, n)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *app) requests() []received {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.reqs)
}

func (a *app) paths() []string {
	var p []string
	for _, r := range a.requests() {
		p = append(p, r.path)
	}
	return p
}

// clock is the injected time: each reading is a second later, and Sleep
// records its waits without waiting.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

// newClient returns a client of baseURL with a fake clock; edit changes
// the config before New.
func newClient(t *testing.T, baseURL string, edit func(*webhook.Config)) (*webhook.Client, *clock) {
	t.Helper()
	clk := &clock{now: testNow}
	cfg := webhook.Config{App: "shop", BaseURL: baseURL, SigningSecret: secret, Now: clk.Now, Sleep: clk.Sleep}
	if edit != nil {
		edit(&cfg)
	}
	c, err := webhook.New(cfg)
	if err != nil {
		t.Fatalf("webhook.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, clk
}

func writeJSON(w http.ResponseWriter, status int, v string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, v)
}

func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "detail": detail})
}

func verified(w http.ResponseWriter) {
	writeJSON(w, 200, `{"ref":"42","synthetic":true,"account_id":"acct-1"}`)
}

func TestRetriesThenSucceeds(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "1")
			problem(w, http.StatusServiceUnavailable, "internal", "warming up")
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		default:
			writeJSON(w, 200, `{"ref":"7"}`)
		}
	})
	c, clk := newClient(t, a.URL+"/understudy/", nil)
	ctx := access.WithRequestID(t.Context(), "req-42")
	provisioned, err := c.Provision(ctx, providers.Account{ID: "acct-1", Email: "a@qa.example.test", Password: "pw-not-logged"})
	ref := provisioned.Ref
	if err != nil || ref != "7" {
		t.Fatalf("Provision = %q, %v; want \"7\" after two retries", ref, err)
	}
	reqs := a.requests()
	if len(reqs) != 3 {
		t.Fatalf("the app got %d requests, want 3", len(reqs))
	}
	waits := clk.Waits()
	if len(waits) != 2 || waits[0] != time.Second || waits[1] < 250*time.Millisecond || waits[1] > 500*time.Millisecond {
		t.Errorf("waits = %v, want [1s (Retry-After), 250ms..500ms (backoff with jitter)]", waits)
	}
	key := reqs[0].header.Get("Idempotency-Key")
	if len(key) < 16 {
		t.Errorf("Idempotency-Key = %q, want a random key", key)
	}
	for i, r := range reqs {
		if r.path != "/understudy/provision" {
			t.Errorf("request %d went to %s, want /understudy/provision", i+1, r.path)
		}
		if got := r.header.Get("Idempotency-Key"); got != key {
			t.Errorf("request %d: Idempotency-Key %q, want the first attempt's %q", i+1, got, key)
		}
		if got := r.header.Get("X-Request-ID"); got != "req-42" {
			t.Errorf("request %d: X-Request-ID %q, want req-42", i+1, got)
		}
		for h, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "understudy-webhook/1"} {
			if got := r.header.Get(h); got != want {
				t.Errorf("request %d: %s %q, want %q", i+1, h, got, want)
			}
		}
		if err := signature.Verify(secret, r.header.Get(signature.Header), r.body, testNow, time.Minute); err != nil {
			t.Errorf("request %d: the signature does not verify: %v", i+1, err)
		}
		var body struct {
			Account providers.Account `json:"account"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.Account.ID != "acct-1" {
			t.Errorf("request %d: body %s, want {\"account\": {\"id\": \"acct-1\", …}}", i+1, r.body)
		}
	}
	if reqs[0].header.Get(signature.Header) == reqs[2].header.Get(signature.Header) {
		t.Error("the retries carry the first attempt's signature, want each signed at its own time")
	}

	// Another call has another key.
	if _, err := c.Provision(ctx, providers.Account{ID: "acct-1"}); err != nil {
		t.Fatal(err)
	}
	if again := a.requests()[3].header.Get("Idempotency-Key"); again == key || again == "" {
		t.Errorf("a second call reused Idempotency-Key %q, want a new one", again)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds", "2", 2 * time.Second},
		// The clock reads testNow+1s when signing, testNow+2s when parsing.
		{"HTTP date", testNow.Add(4 * time.Second).Format(http.TimeFormat), 2 * time.Second},
		{"capped", "3600", 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					w.Header().Set("Retry-After", tc.header)
					problem(w, http.StatusTooManyRequests, "internal", "slow down")
					return
				}
				verified(w)
			})
			c, clk := newClient(t, a.URL, nil)
			if err := c.Verify(t.Context(), target); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if waits := clk.Waits(); !slices.Equal(waits, []time.Duration{tc.want}) {
				t.Errorf("waits = %v, want [%s]", waits, tc.want)
			}
			if got := a.requests()[0].header.Get("Idempotency-Key"); got != "" {
				t.Errorf("verify carries Idempotency-Key %q, want none on a read", got)
			}
		})
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
		problem(w, http.StatusServiceUnavailable, "internal", "database down")
	})
	c, clk := newClient(t, a.URL, func(c *webhook.Config) { c.MaxAttempts = 3 })
	err := c.Verify(t.Context(), target)
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Verify of a down app: %v, want ErrUnavailable", err)
	}
	for _, want := range []string{"shop", "verifying user 42", "HTTP 503", "after 3 attempts", "database down"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if n := len(a.requests()); n != 3 {
		t.Errorf("the app got %d requests, want 3 (max_attempts)", n)
	}
	if n := len(clk.Waits()); n != 2 {
		t.Errorf("%d waits, want 2", n)
	}
}

func TestNotRetried(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
		problem(w, http.StatusInternalServerError, "internal", "boom")
	})
	c, clk := newClient(t, a.URL, nil)
	if err := c.Verify(t.Context(), target); !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Verify answered 500: %v, want ErrUnavailable", err)
	}
	if n := len(a.requests()); n != 1 || len(clk.Waits()) != 0 {
		t.Errorf("a 500 was sent %d times, want once: only 429, 502, 503 and 504 are retried", n)
	}
}

func TestConnectionErrorsAreRetried(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {})
	url := a.URL
	a.Close() // nothing listens there any more
	c, clk := newClient(t, url, nil)
	err := c.Verify(t.Context(), target)
	if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("Verify of a closed port: %v, want ErrUnavailable after 4 attempts", err)
	}
	if n := len(clk.Waits()); n != 3 {
		t.Errorf("%d waits, want 3", n)
	}
}

func TestSlowApp(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	c, clk := newClient(t, a.URL, func(c *webhook.Config) { c.Timeout = 200 * time.Millisecond; c.MaxAttempts = 2 })
	start := time.Now()
	err := c.Verify(t.Context(), target)
	elapsed := time.Since(start)
	if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("Verify of a slow app: %v, want ErrUnavailable: no answer within 200ms", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Verify took %s, want about 2 × 200ms", elapsed)
	}
	if n := len(a.requests()); n != 2 || len(clk.Waits()) != 1 {
		t.Errorf("%d attempts, want 2: a timed-out attempt is retried", n)
	}
}

func TestCallerDeadline(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	c, _ := newClient(t, a.URL, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := c.Verify(ctx, target)
	if !errors.Is(err, providers.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify past the caller's deadline: %v, want ErrUnavailable and context.DeadlineExceeded", err)
	}
	if n := len(a.requests()); n != 1 {
		t.Errorf("%d attempts, want 1: the caller's deadline stops the retries", n)
	}
}
