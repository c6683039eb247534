package openapi

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/tagging"
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
	m := newMetrics(prometheus.NewRegistry(), nil, nil, nil, nil, nil)
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

func TestExclusionMetricsAreLeftOutWhenTheDatabaseFails(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1: every query fails at once.
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	reg := prometheus.NewRegistry()
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "still_here", Help: "A metric that does not need the database."})
	up.Set(1)
	reg.MustRegister(up, &exclusionsCollector{excl: tagging.NewExclusions(pool, nil)})
	// promhttp serves what Gather returned (ContinueOnError), so the scrape
	// goes on without the exclusion metrics.
	families, err := reg.Gather()
	if err == nil {
		t.Fatal("gathering reported no error for a failed query")
	}
	if len(families) != 1 || families[0].GetName() != "still_here" {
		t.Fatalf("families = %v, want only still_here", families)
	}
}

// BenchmarkMetricsObserve compares observe with looking the series up in
// the vectors on every request, as it did before it cached them.
func BenchmarkMetricsObserve(b *testing.B) {
	m := newMetrics(prometheus.NewRegistry(), nil, nil, nil, nil, nil)
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

// The runs' metrics are the outcomes the run service counted: a counter
// and a histogram of durations per environment, role, flow and outcome.
func TestRunMetricsReportTheCountedOutcomes(t *testing.T) {
	t.Parallel()
	// The counts are the process's: the database is never asked (nothing
	// listens on port 1).
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	runs, err := run.New(run.Config{DB: pool, MetricFlows: 1})
	if err != nil {
		t.Fatal(err)
	}
	runs.Observe(run.Observed{Environment: "production", Role: "buyer", Flow: "checkout", Outcome: run.Passed, Duration: 3 * time.Second})
	runs.Observe(run.Observed{Environment: "production", Role: "buyer", Flow: "checkout", Outcome: run.Passed, Duration: 90 * time.Second})
	runs.Observe(run.Observed{Environment: "production", Role: "buyer", Flow: "signup", Outcome: run.Failed, Duration: time.Second})
	reg := prometheus.NewRegistry()
	reg.MustRegister(&runsCollector{runs: runs})
	families, err := reg.Gather()
	if err != nil || len(families) != 2 {
		t.Fatalf("families = %v, %v; want the counter and the histogram", families, err)
	}
	labels := func(m *dto.Metric) string {
		var out []string
		for _, l := range m.GetLabel() {
			out = append(out, l.GetName()+"="+l.GetValue())
		}
		return strings.Join(out, ",")
	}
	for _, f := range families {
		got := map[string]*dto.Metric{}
		for _, m := range f.GetMetric() {
			got[labels(m)] = m
		}
		passed := got["environment=production,flow=checkout,outcome=passed,role=buyer"]
		other := got["environment=production,flow="+run.OtherFlow+",outcome=failed,role=buyer"] // past MetricFlows: 1
		if len(got) != 2 || passed == nil || other == nil {
			t.Fatalf("%s series = %v", f.GetName(), got)
		}
		switch f.GetName() {
		case "understudy_runs_total":
			if passed.GetCounter().GetValue() != 2 || other.GetCounter().GetValue() != 1 {
				t.Errorf("counts %v and %v, want 2 and 1", passed.GetCounter().GetValue(), other.GetCounter().GetValue())
			}
		case "understudy_run_duration_seconds":
			h := passed.GetHistogram()
			if h.GetSampleCount() != 2 || h.GetSampleSum() != 93 || h.GetBucket()[1].GetUpperBound() != 5 || h.GetBucket()[1].GetCumulativeCount() != 1 ||
				h.GetBucket()[5].GetUpperBound() != 120 || h.GetBucket()[5].GetCumulativeCount() != 2 {
				t.Errorf("histogram = %v", h)
			}
		default:
			t.Errorf("unexpected family %s", f.GetName())
		}
	}
	// Without a run service (a test's server), nothing is reported.
	empty := prometheus.NewRegistry()
	empty.MustRegister(&runsCollector{})
	if families, err := empty.Gather(); err != nil || len(families) != 0 {
		t.Errorf("without a run service: %v, %v", families, err)
	}
}
