package run

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// The outcome statistics: how many runs of each (environment, role, flow,
// outcome) this process recorded, and how long they took, which the
// server serves as the metrics understudy_runs_total and
// understudy_run_duration_seconds. Each replica counts the outcomes it
// records (at release, or in the expiry job it runs), from its start, as
// a Prometheus counter does; summed over the replicas they count every
// run.

// OtherFlow is the flow the statistics count a run under when its own is
// past Config.MetricFlows distinct names: a runner that names a new flow
// on every run cannot grow the metrics without bound. A flow's name never
// starts with "_" (FlowPattern), so no flow is mistaken for it.
const OtherFlow = "_other"

// DurationBuckets are the upper bounds, in seconds, of the duration
// histogram: a run takes from seconds (an API check) to an hour (a long
// end-to-end suite).
var DurationBuckets = []float64{1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600}

// Observed is an outcome just recorded.
type Observed struct {
	Environment, Role, Flow string
	Outcome                 Outcome
	// Duration is from the lease's acquisition to the outcome.
	Duration time.Duration
}

// Stat is the runs of one (environment, role, flow, outcome).
type Stat struct {
	Environment, Role, Flow string
	Outcome                 Outcome
	// Count is how many; Sum their durations in seconds.
	Count uint64
	Sum   float64
	// Buckets counts the runs that took at most each of DurationBuckets,
	// cumulatively, as a Prometheus histogram's buckets.
	Buckets []uint64
}

type statKey struct {
	environment, role, flow string
	outcome                 Outcome
}

// stats counts outcomes, keeping at most maxFlows flow names apart.
type stats struct {
	mu       sync.Mutex
	maxFlows int
	flows    map[string]bool
	byKey    map[statKey]*Stat
}

func newStats(maxFlows int) *stats {
	return &stats{maxFlows: maxFlows, flows: map[string]bool{}, byKey: map[statKey]*Stat{}}
}

// Observe counts an outcome just recorded. Package lease calls it once the
// transaction that recorded it has committed.
func (s *Service) Observe(o Observed) { s.stats.observe(o) }

// Stats returns the outcomes counted so far, sorted by environment, role,
// flow and outcome.
func (s *Service) Stats() []Stat { return s.stats.snapshot() }

// Prime makes the four outcomes of (environment, role, flow) counted, at
// zero until a run records one: the server primes each declared flow, so
// that its first failure or abandonment moves a series Prometheus has
// already scraped (increase() sees no change in a series' first sample).
func (s *Service) Prime(environment, role, flow string) { s.stats.prime(environment, role, flow) }

func (s *stats) prime(environment, role, flow string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	flow = s.flowLabel(flow)
	for _, o := range []Outcome{Passed, Failed, Errored, Abandoned} {
		s.stat(statKey{environment: environment, role: role, flow: flow, outcome: o})
	}
}

// flowLabel is the flow a run is counted under: its own, or OtherFlow once
// maxFlows names are kept apart. s.mu is held.
func (s *stats) flowLabel(flow string) string {
	if flow != "" && !s.flows[flow] {
		if len(s.flows) >= s.maxFlows {
			return OtherFlow
		}
		s.flows[flow] = true
	}
	return flow
}

// stat is the Stat of k, made at zero if there is none. s.mu is held.
func (s *stats) stat(k statKey) *Stat {
	st := s.byKey[k]
	if st == nil {
		st = &Stat{Environment: k.environment, Role: k.role, Flow: k.flow, Outcome: k.outcome, Buckets: make([]uint64, len(DurationBuckets))}
		s.byKey[k] = st
	}
	return st
}

func (s *stats) observe(o Observed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stat(statKey{environment: o.Environment, role: o.Role, flow: s.flowLabel(o.Flow), outcome: o.Outcome})
	secs := max(o.Duration.Seconds(), 0)
	st.Count++
	st.Sum += secs
	for i, le := range DurationBuckets {
		if secs <= le {
			st.Buckets[i]++
		}
	}
}

func (s *stats) snapshot() []Stat {
	s.mu.Lock()
	out := make([]Stat, 0, len(s.byKey))
	for _, st := range s.byKey {
		c := *st
		c.Buckets = slices.Clone(st.Buckets)
		out = append(out, c)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Stat) int {
		return cmp.Or(cmp.Compare(a.Environment, b.Environment), cmp.Compare(a.Role, b.Role), cmp.Compare(a.Flow, b.Flow), cmp.Compare(a.Outcome, b.Outcome))
	})
	return out
}
