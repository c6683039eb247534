package openapi

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// requestCount reads understudy_http_requests_total for the labels.
func requestCount(t *testing.T, m *metrics, route, method, status string) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.requests.WithLabelValues(route, method, status).Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetCounter().GetValue()
}

func TestMetricsObserveCountsEachSeries(t *testing.T) {
	t.Parallel()
	m := newMetrics(prometheus.NewRegistry(), nil, nil)
	for range 3 {
		m.observe("GET", "/v1/accounts/:id", 200, time.Millisecond)
	}
	m.observe("GET", "/v1/accounts/:id", 404, time.Millisecond)
	if got := requestCount(t, m, "/v1/accounts/:id", "GET", "200"); got != 3 {
		t.Errorf("requests{200} = %v, want 3", got)
	}
	if got := requestCount(t, m, "/v1/accounts/:id", "GET", "404"); got != 1 {
		t.Errorf("requests{404} = %v, want 1", got)
	}
	var h dto.Metric
	if err := m.latency.WithLabelValues("/v1/accounts/:id", "GET", "200").(prometheus.Metric).Write(&h); err != nil || h.GetHistogram().GetSampleCount() != 3 {
		t.Errorf("latency{200} count = %d (%v), want 3", h.GetHistogram().GetSampleCount(), err)
	}
	// Past the cache's bound, requests still count.
	for i := range maxCachedSeries + 10 {
		m.observe("GET", "/r"+strconv.Itoa(i), 200, time.Millisecond)
	}
	m.observe("GET", "/r"+strconv.Itoa(maxCachedSeries+5), 200, time.Millisecond)
	if got := requestCount(t, m, "/r"+strconv.Itoa(maxCachedSeries+5), "GET", "200"); got != 2 {
		t.Errorf("an uncached series counted %v, want 2", got)
	}
	if n := m.nseries.Load(); n != maxCachedSeries {
		t.Errorf("cached series = %d, want the bound %d", n, maxCachedSeries)
	}
}

// BenchmarkMetricsObserve compares observe with looking the series up in
// the vectors on every request, as it did before it cached them.
func BenchmarkMetricsObserve(b *testing.B) {
	m := newMetrics(prometheus.NewRegistry(), nil, nil)
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.observe("GET", "/v1/accounts/:id", 200, time.Millisecond)
			}
		})
	})
	b.Run("vectors", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				st := strconv.Itoa(200)
				m.requests.WithLabelValues("/v1/accounts/:id", "GET", st).Inc()
				m.latency.WithLabelValues("/v1/accounts/:id", "GET", st).Observe(time.Millisecond.Seconds())
			}
		})
	})
}
