package openapi

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/tagging"
)

// metrics are the server's Prometheus metrics.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// series remembers the counter and histogram of each (route, method,
	// status) seen, up to maxCachedSeries of them, so that a request does
	// not format its status and hash its labels twice to find them again.
	series  sync.Map // seriesKey → *series
	nseries atomic.Int64
}

// maxCachedSeries bounds metrics.series; past it, requests look their
// series up in the vectors as before.
const maxCachedSeries = 1024

type seriesKey struct {
	route, method string
	status        int
}

type series struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func newMetrics(reg *prometheus.Registry, acc *accounts.Service, dest *tagging.Service, excl *tagging.Exclusions, iso *isolation.Service, runs *run.Service) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "understudy_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "understudy_http_request_duration_seconds", Help: "HTTP request latency by route, method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(m.requests, m.latency, &accountsCollector{acc: acc}, &syncCollector{dest: dest},
		&exclusionsCollector{excl: excl}, &violationsCollector{iso: iso}, &runsCollector{runs: runs},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	s := m.seriesOf(route, method, status)
	s.requests.Inc()
	s.latency.Observe(d.Seconds())
}

// seriesOf returns the counter and histogram labelled route, method, status.
func (m *metrics) seriesOf(route, method string, status int) *series {
	k := seriesKey{route: route, method: method, status: status}
	if v, ok := m.series.Load(k); ok {
		return v.(*series)
	}
	st := strconv.Itoa(status)
	s := &series{requests: m.requests.WithLabelValues(route, method, st), latency: m.latency.WithLabelValues(route, method, st)}
	if m.nseries.Load() < maxCachedSeries {
		if _, loaded := m.series.LoadOrStore(k, s); !loaded {
			m.nseries.Add(1)
		}
	}
	return s
}

var accountsDesc = prometheus.NewDesc("understudy_accounts", "Accounts by status.", []string{"status"}, nil)

// accountsCollector counts accounts by status at scrape time. When the
// database does not answer, the metric is left out of that scrape.
type accountsCollector struct{ acc *accounts.Service }

func (c *accountsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- accountsDesc }

func (c *accountsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.acc.CountByStatus(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(accountsDesc, err)
		return
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(accountsDesc, prometheus.GaugeValue, float64(n), string(st))
	}
}

var (
	syncRunsDesc = prometheus.NewDesc("understudy_sync_runs_total", "Finished sync runs by destination (environment/name) and outcome.",
		[]string{"destination", "outcome"}, nil)
	syncItemsDesc = prometheus.NewDesc("understudy_sync_items_total", "Distinct ids sent by sync runs, by destination and action (add, remove).",
		[]string{"destination", "action"}, nil)
	syncLastSuccessDesc = prometheus.NewDesc("understudy_sync_last_success_timestamp_seconds", "When the last successful sync run of a destination ended.",
		[]string{"destination"}, nil)
)

// syncCollector reports the sync runs recorded in the database at scrape
// time, so that every replica reports the same totals. When the database
// does not answer, the metrics are left out of that scrape.
type syncCollector struct{ dest *tagging.Service }

func (c *syncCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- syncRunsDesc
	ch <- syncItemsDesc
	ch <- syncLastSuccessDesc
}

func (c *syncCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stats, err := c.dest.RunStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(syncRunsDesc, err)
		return
	}
	added, removed := map[string]int64{}, map[string]int64{}
	for _, st := range stats {
		ch <- prometheus.MustNewConstMetric(syncRunsDesc, prometheus.CounterValue, float64(st.Runs), st.Destination, st.Outcome)
		added[st.Destination] += st.Added
		removed[st.Destination] += st.Removed
		if st.Outcome == tagging.RunOK {
			ch <- prometheus.MustNewConstMetric(syncLastSuccessDesc, prometheus.GaugeValue, float64(st.LastEnded.UnixNano())/1e9, st.Destination)
		}
	}
	for d, n := range added {
		ch <- prometheus.MustNewConstMetric(syncItemsDesc, prometheus.CounterValue, float64(n), d, "add")
		ch <- prometheus.MustNewConstMetric(syncItemsDesc, prometheus.CounterValue, float64(removed[d]), d, "remove")
	}
}

var (
	exclusionSizeDesc = prometheus.NewDesc("understudy_exclusion_list_size", "Identifiers on the exclusion list of an environment.",
		[]string{"environment"}, nil)
	exclusionVersionDesc = prometheus.NewDesc("understudy_exclusion_list_version", "Version of the exclusion list of an environment (bumped by every change).",
		[]string{"environment"}, nil)
)

// exclusionsCollector reports the size and version of every environment's
// exclusion list, read from the database at scrape time in one query. When
// the database does not answer, the metrics are left out of that scrape.
type exclusionsCollector struct{ excl *tagging.Exclusions }

func (c *exclusionsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- exclusionSizeDesc
	ch <- exclusionVersionDesc
}

func (c *exclusionsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lists, err := c.excl.Lists(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(exclusionSizeDesc, err)
		return
	}
	for _, l := range lists {
		ch <- prometheus.MustNewConstMetric(exclusionSizeDesc, prometheus.GaugeValue, float64(l.Size), l.Environment)
		ch <- prometheus.MustNewConstMetric(exclusionVersionDesc, prometheus.GaugeValue, float64(l.Version), l.Environment)
	}
}

var violationsOpenDesc = prometheus.NewDesc("understudy_isolation_violations_open",
	"Open isolation violations (synthetic accounts seen by real viewers) by environment and surface.", []string{"environment", "surface"}, nil)

// violationsCollector counts the open isolation violations at scrape time.
// When the database does not answer, the metric is left out of that scrape.
type violationsCollector struct{ iso *isolation.Service }

func (c *violationsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- violationsOpenDesc }

func (c *violationsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.iso.OpenCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(violationsOpenDesc, err)
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(violationsOpenDesc, prometheus.GaugeValue, float64(n.Open), n.Environment, n.Surface)
	}
}

var (
	runsDesc = prometheus.NewDesc("understudy_runs_total",
		"Runs whose outcome this replica recorded (passed, failed, errored at release; abandoned at expiry), by environment, role, flow and outcome.",
		[]string{"environment", "role", "flow", "outcome"}, nil)
	runDurationDesc = prometheus.NewDesc("understudy_run_duration_seconds",
		"How long the runs whose outcome this replica recorded took, from their lease's acquisition to its end, by environment, role, flow and outcome.",
		[]string{"environment", "role", "flow", "outcome"}, nil)
)

// runsCollector reports the outcomes this replica recorded since it
// started (run.Service.Stats), as a counter and a histogram of their
// durations. Summed over the replicas they count every run. The flow
// label is bounded: past run.Config.MetricFlows distinct names, flows are
// counted as run.OtherFlow.
type runsCollector struct{ runs *run.Service }

func (c *runsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- runsDesc
	ch <- runDurationDesc
}

func (c *runsCollector) Collect(ch chan<- prometheus.Metric) {
	if c.runs == nil {
		return
	}
	for _, st := range c.runs.Stats() {
		labels := []string{st.Environment, st.Role, st.Flow, string(st.Outcome)}
		ch <- prometheus.MustNewConstMetric(runsDesc, prometheus.CounterValue, float64(st.Count), labels...)
		buckets := make(map[float64]uint64, len(run.DurationBuckets))
		for i, le := range run.DurationBuckets {
			buckets[le] = st.Buckets[i]
		}
		ch <- prometheus.MustNewConstHistogram(runDurationDesc, st.Count, st.Sum, buckets, labels...)
	}
}
