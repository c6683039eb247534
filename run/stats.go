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

func (s *stats) observe(o Observed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	flow := o.Flow
	if flow != "" && !s.flows[flow] {
		if len(s.flows) < s.maxFlows {
			s.flows[flow] = true
		} else {
			flow = OtherFlow
		}
	}
	k := statKey{environment: o.Environment, role: o.Role, flow: flow, outcome: o.Outcome}
	st := s.byKey[k]
	if st == nil {
		st = &Stat{Environment: o.Environment, Role: o.Role, Flow: flow, Outcome: o.Outcome, Buckets: make([]uint64, len(DurationBuckets))}
		s.byKey[k] = st
	}
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
