package run_test

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/run"
)

func newService(t *testing.T, flows int) *run.Service {
	t.Helper()
	s, err := run.New(run.Config{DB: dbtest.Tx(t), MetricFlows: flows})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStatsCountEachOutcomeAndItsDuration(t *testing.T) {
	t.Parallel()
	s := newService(t, 0)
	for _, d := range []time.Duration{500 * time.Millisecond, 7 * time.Second, 2 * time.Hour} {
		s.Observe(run.Observed{Environment: "production", Role: "buyer", Flow: "checkout", Outcome: run.Passed, Duration: d})
	}
	s.Observe(run.Observed{Environment: "production", Role: "buyer", Flow: "checkout", Outcome: run.Failed, Duration: time.Minute})
	s.Observe(run.Observed{Environment: "production", Role: "buyer", Outcome: run.Abandoned, Duration: -time.Second})
	st := s.Stats()
	if len(st) != 3 {
		t.Fatalf("stats = %+v, want 3 series", st)
	}
	abandoned, failed, passed := st[0], st[1], st[2] // sorted by flow, then outcome
	if abandoned.Flow != "" || abandoned.Outcome != run.Abandoned || abandoned.Count != 1 || abandoned.Sum != 0 || abandoned.Buckets[0] != 1 {
		t.Errorf("abandoned = %+v (a negative duration counts as 0)", abandoned)
	}
	if failed.Outcome != run.Failed || failed.Count != 1 || failed.Buckets[3] != 0 || failed.Buckets[4] != 1 {
		t.Errorf("failed = %+v, want 60s in the 60s bucket", failed)
	}
	if passed.Count != 3 || passed.Sum != 0.5+7+7200 {
		t.Errorf("passed = %+v", passed)
	}
	// Cumulative: 0.5s ≤ 1, 7s ≤ 10, 2h in none.
	if want := []uint64{1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2}; !slices.Equal(passed.Buckets, want) {
		t.Errorf("passed buckets = %v, want %v", passed.Buckets, want)
	}
	// A snapshot does not change with later outcomes.
	s.Observe(run.Observed{Environment: "production", Role: "buyer", Flow: "checkout", Outcome: run.Passed, Duration: time.Second})
	if passed.Count != 3 || passed.Buckets[0] != 1 {
		t.Errorf("the snapshot changed: %+v", passed)
	}
}

// A runner that names a new flow on every run does not grow the metrics:
// past MetricFlows names, flows are counted as OtherFlow.
func TestStatsBoundTheFlows(t *testing.T) {
	t.Parallel()
	s := newService(t, 3)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			flow := "flow-" + strconv.Itoa(i%10)
			if i < 30 { // the first three flows are seen first
				flow = "flow-" + strconv.Itoa(i%3)
			}
			s.Observe(run.Observed{Environment: "production", Role: "buyer", Flow: flow, Outcome: run.Passed, Duration: time.Second})
		})
		if i == 29 {
			wg.Wait()
		}
	}
	wg.Wait()
	st := s.Stats()
	var total uint64
	flows := map[string]uint64{}
	for _, x := range st {
		flows[x.Flow] += x.Count
		total += x.Count
	}
	if len(flows) != 4 || total != 100 || flows[run.OtherFlow] != 49 || flows["flow-0"] != 17 {
		t.Fatalf("flows = %v (total %d), want flow-0..2 and %s", flows, total, run.OtherFlow)
	}
	// An outcome without a flow is not one of the flows.
	s.Observe(run.Observed{Environment: "production", Role: "buyer", Outcome: run.Passed})
	if st := s.Stats(); st[0].Flow != "" || st[0].Count != 1 {
		t.Errorf("an outcome without a flow: %+v", st[0])
	}
}

// A primed flow has its four outcomes counted at zero, so that its first
// failure moves a series already scraped; priming keeps the flows' bound
// and counts nothing.
func TestPrimeCountsEachOutcomeAtZero(t *testing.T) {
	t.Parallel()
	s := newService(t, 1)
	s.Prime("production", "buyer", "checkout")
	s.Prime("production", "buyer", "signup") // past the bound: counted as _other
	s.Observe(run.Observed{Environment: "production", Role: "buyer", Flow: "checkout", Outcome: run.Failed, Duration: time.Second})
	got := map[string]uint64{}
	for _, st := range s.Stats() {
		got[st.Flow+"/"+string(st.Outcome)] = st.Count
	}
	want := map[string]uint64{"checkout/passed": 0, "checkout/failed": 1, "checkout/errored": 0, "checkout/abandoned": 0,
		"_other/passed": 0, "_other/failed": 0, "_other/errored": 0, "_other/abandoned": 0}
	if len(got) != len(want) {
		t.Fatalf("stats %v, want %v", got, want)
	}
	for k, v := range want {
		if n, ok := got[k]; !ok || n != v {
			t.Errorf("%s = %d (present %v), want %d", k, n, ok, v)
		}
	}
}
