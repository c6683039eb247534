// Package phase runs one measured phase of a load driver: N clients, each
// from its own goroutine in a closed loop (a client sends its next request
// when the last one has answered), for an unrecorded warm-up and then a
// measured duration. Latencies are kept in full and sorted, so percentiles
// are exact (nearest rank).
//
// A request may be made of steps (acquire, then release): the client
// records each with Steps.Record, and the phase reports each step's
// percentiles beside those of the whole request.
package phase

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Client makes one request at a time, from one goroutine. Do returns nil
// when the request succeeded; it may record the duration of each of its
// steps in steps, which are kept only when Do succeeds.
type Client interface {
	Do(ctx context.Context, steps *Steps) error
}

// ClientFunc adapts a function without steps to Client.
type ClientFunc func(ctx context.Context) error

// Do calls f.
func (f ClientFunc) Do(ctx context.Context, _ *Steps) error { return f(ctx) }

// Config is how long a phase runs.
type Config struct {
	// Warmup runs first and is not recorded.
	Warmup time.Duration
	// Duration is measured.
	Duration time.Duration
}

// MaxErrorRate is the share of failed requests above which a phase is an
// error rather than a measurement.
const MaxErrorRate = 0.01

// Run drives every client from its own goroutine for the warm-up then the
// duration, and summarizes the measured requests. It fails when ctx ends or
// more than MaxErrorRate of the requests failed (the result is returned
// too, with the counts).
func Run(ctx context.Context, cfg Config, name string, clients []Client) (Result, error) {
	from := time.Now().Add(cfg.Warmup)
	end := from.Add(cfg.Duration)
	samples := make([]clientSamples, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { samples[i] = drive(ctx, c, from, end) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("phase %s: %w", name, err)
	}
	res, first := summarize(name, samples, cfg.Duration)
	if total := res.Requests + res.Errors; float64(res.Errors) > MaxErrorRate*float64(total) {
		return res, fmt.Errorf("phase %s: %d of %d requests failed (more than %.0f%%); first: %v",
			name, res.Errors, total, 100*MaxErrorRate, first)
	}
	return res, nil
}

// Steps are the durations of the named steps of one request, in the order
// they were first recorded.
type Steps struct {
	names []string
	took  []time.Duration
}

// Record adds d to the step name.
func (s *Steps) Record(name string, d time.Duration) {
	for i, n := range s.names {
		if n == name {
			s.took[i] += d
			return
		}
	}
	s.names = append(s.names, name)
	s.took = append(s.took, d)
}

// Time runs f and records its duration as the step name, whether it
// fails or not (a failed request's steps are dropped anyway).
func (s *Steps) Time(name string, f func() error) error {
	t0 := time.Now()
	err := f()
	s.Record(name, time.Since(t0))
	return err
}

func (s *Steps) reset() {
	s.names, s.took = s.names[:0], s.took[:0]
}

// clientSamples is what one client measured.
type clientSamples struct {
	latencies []time.Duration // of the successful requests
	steps     map[string][]time.Duration
	order     []string // step names, first recorded first
	errors    int      // measured
	firstErr  error    // the first, measured or not
	firstAt   time.Time
}

func (s *clientSamples) addSteps(st *Steps) {
	for i, name := range st.names {
		if _, ok := s.steps[name]; !ok {
			s.order = append(s.order, name)
		}
		s.steps[name] = append(s.steps[name], st.took[i])
	}
}

// drive loops c.Do until end, recording the requests started at or after
// from. A request started before end is finished and counted.
func drive(ctx context.Context, c Client, from, end time.Time) clientSamples {
	s := clientSamples{latencies: make([]time.Duration, 0, 1<<14), steps: map[string][]time.Duration{}}
	var steps Steps
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(end) {
			break
		}
		steps.reset()
		err := c.Do(ctx, &steps)
		elapsed := time.Since(t0)
		if err != nil && s.firstErr == nil {
			s.firstErr, s.firstAt = err, t0 // a warm-up error too: it often explains the later ones
		}
		switch {
		case t0.Before(from):
		case err != nil:
			s.errors++
		default:
			s.latencies = append(s.latencies, elapsed)
			s.addSteps(&steps)
		}
	}
	return s
}
