package tagging_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/tagging"
)

// Classify sees the status and body of an answer that is not a 2xx and
// decides: an error at once, a retry after its own wait, or the default
// rules; what it returns is scrubbed like every error.
func TestSenderClassify(t *testing.T) {
	t.Parallel()
	const secret = "sender-secret-0123456789"
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"kind":"` + r.URL.Query().Get("kind") + `"}`))
	}))
	defer srv.Close()
	for _, c := range []struct {
		kind     string
		verdict  tagging.Verdict
		requests int32
		waits    []time.Duration
		is       error
		says     string
	}{
		{"quota", tagging.Verdict{Err: errors.New("over the quota with " + secret)}, 1, nil, nil, "over the quota with [redacted]"},
		{"throttled", tagging.Verdict{Err: tagging.ErrUnavailable, Retry: true, Wait: 3 * time.Second}, 3,
			[]time.Duration{3 * time.Second, 3 * time.Second}, tagging.ErrUnavailable, "unavailable"},
		{"other", tagging.Verdict{}, 3, nil, tagging.ErrUnavailable, "answered 429"},
	} {
		hits.Store(0)
		var waits []time.Duration
		var seen string
		s := tagging.Sender{Vendor: "Vendor", Client: srv.Client(), Attempts: 3, Secrets: []string{secret},
			Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
			Classify: func(status int, _ http.Header, body []byte) tagging.Verdict {
				seen = string(body)
				if status != http.StatusTooManyRequests {
					t.Errorf("%s: classified status %d", c.kind, status)
				}
				return c.verdict
			}}
		_, err := s.Do(t.Context(), func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"?kind="+c.kind, nil)
		})
		if err == nil || (c.is != nil && !errors.Is(err, c.is)) || !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error %v, want one saying %q", c.kind, err, c.says)
		}
		if hits.Load() != c.requests || seen != `{"kind":"`+c.kind+`"}` {
			t.Errorf("%s: %d requests (want %d), Classify saw %q", c.kind, hits.Load(), c.requests, seen)
		}
		if c.waits != nil && !slices.Equal(waits, c.waits) {
			t.Errorf("%s: waits %v, want %v", c.kind, waits, c.waits)
		}
	}
}
