package main

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

// PhaseResult is what one phase measured.
type PhaseResult struct {
	// Name is http or select.
	Name string `json:"name"`
	// Requests is the number of successful requests measured.
	Requests int `json:"requests"`
	// Errors is the number of failed requests measured (non-200, transport
	// or database errors).
	Errors int `json:"errors"`
	// PerSecond is Requests over the measured duration.
	PerSecond float64 `json:"requests_per_second"`
	// P50, P90, P99 and Max are latency percentiles of the successful
	// requests (nearest rank).
	P50 Latency `json:"p50_ms"`
	P90 Latency `json:"p90_ms"`
	P99 Latency `json:"p99_ms"`
	Max Latency `json:"max_ms"`
}

// summarize merges the clients' samples of a phase measured for d. It also
// returns the first error any client saw, for the message when there are
// too many.
func summarize(name string, samples []clientSamples, d time.Duration) (PhaseResult, error) {
	var all []time.Duration
	res := PhaseResult{Name: name}
	var first error
	for _, s := range samples {
		all = append(all, s.latencies...)
		res.Errors += s.errors
		if first == nil {
			first = s.firstErr
		}
	}
	slices.Sort(all)
	res.Requests = len(all)
	res.PerSecond = float64(len(all)) / d.Seconds()
	res.P50, res.P90, res.P99 = percentile(all, 0.50), percentile(all, 0.90), percentile(all, 0.99)
	res.Max = percentile(all, 1)
	return res, first
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 1) of
// sorted, or 0 when it is empty.
func percentile(sorted []time.Duration, p float64) Latency {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return Latency(sorted[min(max(i, 0), len(sorted)-1)])
}
