package webhook

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"2", 2 * time.Second, true},
		{"0", 0, true},
		{"3600", 30 * time.Second, true},
		{"99999999999999999999", 0, false}, // overflows: not a number of seconds
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{now.Add(time.Hour).Format(http.TimeFormat), 30 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
	}
	for _, tc := range cases {
		got, ok := retryAfter(tc.header, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffIsExponentialWithJitter(t *testing.T) {
	t.Parallel()
	c := &Client{cfg: Config{Now: time.Now}}
	for attempt, want := range map[int]time.Duration{1: 250 * time.Millisecond, 2: 500 * time.Millisecond, 3: time.Second, 5: 4 * time.Second, 9: 5 * time.Second} {
		for range 50 {
			d, retry := c.backoff(t.Context(), attempt, reply{status: http.StatusServiceUnavailable}, nil)
			if !retry || d < want/2 || d > want {
				t.Fatalf("backoff after attempt %d = %s, %v; want a retry after %s to %s", attempt, d, retry, want/2, want)
			}
		}
	}
	for _, status := range []int{http.StatusOK, http.StatusInternalServerError, http.StatusNotFound, http.StatusUnauthorized} {
		if _, retry := c.backoff(t.Context(), 1, reply{status: status}, nil); retry {
			t.Errorf("HTTP %d is retried, want not", status)
		}
	}
}
