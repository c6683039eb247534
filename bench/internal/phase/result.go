package phase

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// Latency is a duration reported in milliseconds: a number in JSON
// ("p50_ms": 0.412), "0.412 ms" in text.
type Latency time.Duration

// Millis returns l in milliseconds.
func (l Latency) Millis() float64 { return float64(l) / float64(time.Millisecond) }

// String formats l in milliseconds with three decimals.
func (l Latency) String() string { return strconv.FormatFloat(l.Millis(), 'f', 3, 64) + " ms" }

// MarshalJSON writes l as a number of milliseconds, to the microsecond.
func (l Latency) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, math.Round(l.Millis()*1000)/1000, 'f', -1, 64), nil
}

// Result is what one phase (or one step of its requests) measured.
type Result struct {
	// Name is the phase's name, or the step's.
	Name string `json:"name"`
	// Requests is the number of successful requests measured.
	Requests int `json:"requests"`
	// Errors is the number of failed requests measured (non-2xx, transport
	// or database errors). Always 0 for a step.
	Errors int `json:"errors"`
	// PerSecond is Requests over the measured duration.
	PerSecond float64 `json:"requests_per_second"`
	// P50, P90, P99 and Max are latency percentiles of the successful
	// requests (nearest rank).
	P50 Latency `json:"p50_ms"`
	P90 Latency `json:"p90_ms"`
	P99 Latency `json:"p99_ms"`
	Max Latency `json:"max_ms"`
	// Steps are the steps the clients recorded, in the order first
	// recorded; none for a phase whose requests have no steps.
	Steps []Result `json:"steps,omitempty"`
	// FirstError is the earliest error the clients saw, during the
	// warm-up or not; nil when none failed. (With fewer than MaxErrorRate
	// of failures, the phase still measured.)
	FirstError error `json:"-"`

	latencies []time.Duration // sorted, for Merge
	measured  time.Duration   // what PerSecond is over, for Merge
}

// Step returns the step called name, and whether there is one.
func (r Result) Step(name string) (Result, bool) {
	for _, s := range r.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return Result{}, false
}

// summarize merges the clients' samples of a phase measured for d. It also
// returns the earliest error any client saw, for the message when there
// are too many.
func summarize(name string, samples []clientSamples, d time.Duration) (Result, error) {
	var all []time.Duration
	steps := map[string][]time.Duration{}
	var order []string
	errs := 0
	var first error
	var firstAt time.Time
	for _, s := range samples {
		all = append(all, s.latencies...)
		errs += s.errors
		if s.firstErr != nil && (first == nil || s.firstAt.Before(firstAt)) {
			first, firstAt = s.firstErr, s.firstAt
		}
		for _, n := range s.order {
			if _, ok := steps[n]; !ok {
				order = append(order, n)
			}
			steps[n] = append(steps[n], s.steps[n]...)
		}
	}
	res := Summarize(name, all, d)
	res.Errors, res.FirstError = errs, first
	for _, n := range order {
		res.Steps = append(res.Steps, Summarize(n, steps[n], d))
	}
	return res, first
}

// Summarize sorts latencies (in place) and returns their count, rate over
// d and percentiles.
func Summarize(name string, latencies []time.Duration, d time.Duration) Result {
	slices.Sort(latencies)
	res := Result{Name: name, Requests: len(latencies), latencies: latencies, measured: d}
	if d > 0 {
		res.PerSecond = float64(len(latencies)) / d.Seconds()
	}
	res.P50, res.P90, res.P99 = Percentile(latencies, 0.50), Percentile(latencies, 0.90), Percentile(latencies, 0.99)
	res.Max = Percentile(latencies, 1)
	return res
}

// Merge returns the result of parts, slices of one phase run one after the
// other with the same clients: their requests and errors added, the rate
// over their measured durations added, exact percentiles over all their
// latencies, steps merged by name, and the first part's first error.
func Merge(name string, parts ...Result) Result {
	var all []time.Duration
	var d time.Duration
	errs := 0
	var first error
	steps := map[string][]Result{}
	var order []string
	for _, p := range parts {
		all = append(all, p.latencies...)
		d += p.measured
		errs += p.Errors
		if first == nil {
			first = p.FirstError
		}
		for _, st := range p.Steps {
			if _, ok := steps[st.Name]; !ok {
				order = append(order, st.Name)
			}
			steps[st.Name] = append(steps[st.Name], st)
		}
	}
	res := Summarize(name, all, d)
	res.Errors, res.FirstError = errs, first
	for _, n := range order {
		res.Steps = append(res.Steps, Merge(n, steps[n]...))
	}
	return res
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 1) of
// sorted, or 0 when it is empty.
func Percentile(sorted []time.Duration, p float64) Latency {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return Latency(sorted[min(max(i, 0), len(sorted)-1)])
}
