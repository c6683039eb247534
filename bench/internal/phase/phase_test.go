package phase

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	sorted := make([]time.Duration, 100)
	for i := range sorted {
		sorted[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0.50, 50 * time.Millisecond}, {0.90, 90 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0.001, time.Millisecond}} {
		if got := Percentile(sorted, tc.p); time.Duration(got) != tc.want {
			t.Errorf("Percentile(1..100 ms, %g) = %s, want %s", tc.p, got, tc.want)
		}
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Errorf("Percentile(nil, 0.5) = %s, want 0", got)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	boom, later := errors.New("boom"), errors.New("later")
	ms := time.Millisecond
	t0 := time.Now()
	samples := []clientSamples{
		{latencies: []time.Duration{3 * ms, ms}, order: []string{"acquire"}, steps: map[string][]time.Duration{"acquire": {2 * ms, ms}},
			firstErr: later, firstAt: t0.Add(ms)}, // in the warm-up: no errors counted
		{latencies: []time.Duration{2 * ms, 4 * ms}, errors: 2, firstErr: boom, firstAt: t0,
			order: []string{"acquire", "release"}, steps: map[string][]time.Duration{"acquire": {3 * ms}, "release": {ms}}},
	}
	res, first := summarize("http", samples, 2*time.Second)
	if res.Requests != 4 || res.Errors != 2 || res.PerSecond != 2 {
		t.Errorf("requests, errors, req/s = %d, %d, %g; want 4, 2, 2", res.Requests, res.Errors, res.PerSecond)
	}
	if time.Duration(res.P50) != 2*ms || time.Duration(res.Max) != 4*ms {
		t.Errorf("p50, max = %s, %s; want 2 ms, 4 ms", res.P50, res.Max)
	}
	if first != boom || res.FirstError != boom {
		t.Errorf("first error = %v, %v; want boom, the earliest", first, res.FirstError)
	}
	if len(res.Steps) != 2 || res.Steps[0].Name != "acquire" || res.Steps[1].Name != "release" {
		t.Fatalf("steps = %+v, want acquire then release", res.Steps)
	}
	if acq, _ := res.Step("acquire"); acq.Requests != 3 || time.Duration(acq.P50) != 2*ms || time.Duration(acq.Max) != 3*ms {
		t.Errorf("acquire = %+v, want 3 requests, p50 2 ms, max 3 ms", acq)
	}
	if _, ok := res.Step("mutate"); ok {
		t.Error("Step(mutate) found a step no client recorded")
	}
}

// stepper records an acquire step of 1 ms, and fails every third request.
type stepper struct{ n int }

func (s *stepper) Do(_ context.Context, steps *Steps) error {
	s.n++
	steps.Record("acquire", time.Millisecond)
	steps.Record("acquire", time.Millisecond) // a step recorded twice adds up
	if s.n%3 == 0 {
		return errors.New("every third fails")
	}
	return nil
}

func TestRun(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	res, err := Run(ctx, Config{Duration: 300 * time.Millisecond}, "cycle", []Client{&stepper{}})
	if err == nil || !strings.Contains(err.Error(), "every third fails") {
		t.Errorf("Run with a third of requests failing = %v, want an error quoting the first failure", err)
	}
	if res.Requests == 0 || res.Errors == 0 || res.Requests < res.Errors {
		t.Errorf("requests, errors = %d, %d; want both counted, twice as many successes", res.Requests, res.Errors)
	}
	acq, ok := res.Step("acquire")
	if !ok || acq.Requests != res.Requests || time.Duration(acq.P50) != 2*time.Millisecond {
		t.Errorf("acquire step = %+v (found %v), want one 2 ms sample per successful request (%d)", acq, ok, res.Requests)
	}
	ok2, err := Run(ctx, Config{Warmup: 5 * time.Millisecond, Duration: 300 * time.Millisecond}, "plain",
		[]Client{ClientFunc(func(context.Context) error { return nil })})
	if err != nil || ok2.Requests == 0 || len(ok2.Steps) != 0 {
		t.Errorf("Run(plain) = %+v, %v; want requests, no steps, no error", ok2, err)
	}
}

func TestMergeSlices(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	a := Summarize("http", []time.Duration{4 * ms, ms}, time.Second)
	a.Errors = 1
	a.Steps = []Result{Summarize("acquire", []time.Duration{ms}, time.Second)}
	b := Summarize("http", []time.Duration{2 * ms, 3 * ms, 5 * ms, 6 * ms}, 2*time.Second)
	b.FirstError = errors.New("boom")
	m := Merge("http", a, b)
	if m.Requests != 6 || m.Errors != 1 || m.PerSecond != 2 {
		t.Errorf("requests, errors, req/s = %d, %d, %g; want 6, 1, 2 (6 over 3 s)", m.Requests, m.Errors, m.PerSecond)
	}
	if time.Duration(m.P50) != 3*ms || time.Duration(m.Max) != 6*ms {
		t.Errorf("p50, max = %s, %s; want 3 ms, 6 ms (over all six)", m.P50, m.Max)
	}
	if m.FirstError == nil || len(m.Steps) != 1 || m.Steps[0].Requests != 1 {
		t.Errorf("first error %v, steps %+v; want boom and one acquire", m.FirstError, m.Steps)
	}
	if one := Merge("http", a); one.Requests != a.Requests || one.P50 != a.P50 || one.PerSecond != a.PerSecond {
		t.Errorf("Merge of one part = %+v, want the part %+v", one, a)
	}
}
