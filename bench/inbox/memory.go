package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// memLoad is what a memory phase sends: Messages messages of Size bytes,
// Clients at a time.
type memLoad struct{ Messages, Size, Clients int }

// The memory phase of the issue: 20 messages of 10 MiB, 4 at a time.
const (
	memMessages = 20
	memSize     = 10 << 20
	memClients  = 4
	memSubject  = "Your Example Shop invoice"
)

// issueLoad is the memory phase's load.
var issueLoad = memLoad{Messages: memMessages, Size: memSize, Clients: memClients}

// Memory is what the memory phase measured of one receiver.
type Memory struct {
	// Name is the phase: memory-understudy, memory-mailpit.
	Name string `json:"name"`
	// Messages and MessageBytes are what was sent: that many messages of
	// that size, Clients at a time.
	Messages     int   `json:"messages"`
	MessageBytes int64 `json:"message_bytes"`
	Clients      int   `json:"clients"`
	// InFlightBytes is Clients × MessageBytes: the most the clients had
	// sent and the receiver had not yet acknowledged.
	InFlightBytes int64 `json:"in_flight_bytes"`
	// BeforeRSS is the receiver's resident set before the phase, PeakRSS
	// its peak during the phase (VmHWM after resetting it, or the largest
	// VmRSS sampled every 10 ms when the reset is not allowed).
	BeforeRSS int64 `json:"before_rss_bytes"`
	PeakRSS   int64 `json:"peak_rss_bytes"`
	// PeakFrom says which: vmhwm or sampled.
	PeakFrom string `json:"peak_from"`
	// Seconds is how long the sending took.
	Seconds float64 `json:"seconds"`
	// Error is why the phase stopped early (a receiver that refuses a
	// 10 MiB message); the figures are then of the messages sent before.
	Error string `json:"error,omitempty"`
}

// PeakRatio is the peak resident set over the bytes in flight.
func (m Memory) PeakRatio() float64 { return ratio(float64(m.PeakRSS), float64(m.InFlightBytes)) }

// GrowthRatio is the peak's growth above the resident set before, over
// the bytes in flight.
func (m Memory) GrowthRatio() float64 {
	return ratio(float64(m.PeakRSS-m.BeforeRSS), float64(m.InFlightBytes))
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// memoryPhase sends load's big messages to t, each client on its own
// connection, and samples the peak resident set of the receiver's process
// pid meanwhile.
func memoryPhase(ctx context.Context, name string, t target, pid int, load memLoad) (Memory, error) {
	msg := bigMessage(load.Size)
	size := int64(len(msg.render(t.addrs[0], memSubject, 0)))
	m := Memory{Name: name, Messages: load.Messages, MessageBytes: size, Clients: load.Clients,
		InFlightBytes: int64(load.Clients) * size, PeakFrom: "vmhwm"}
	before, err := stack.ProcessMemory(pid)
	if err != nil {
		return m, err
	}
	m.BeforeRSS = before.RSS
	if stack.ResetPeak(pid) != nil {
		m.PeakFrom = "sampled"
	}
	stopSampling := sampleRSS(pid)
	t0 := time.Now()
	err = sendAll(ctx, t, msg, load)
	m.Seconds = time.Since(t0).Seconds()
	m.PeakRSS = stopSampling()
	if m.PeakFrom == "vmhwm" {
		after, herr := stack.ProcessMemory(pid)
		if herr != nil {
			return m, herr
		}
		m.PeakRSS = max(after.Peak, m.PeakRSS)
	}
	if err != nil {
		return m, fmt.Errorf("phase %s: %w", name, err)
	}
	return m, nil
}

// sendAll sends load.Messages copies of msg to t's addresses in turn, from
// load.Clients clients at a time; it stops at the first failure.
func sendAll(ctx context.Context, t target, msg message, load memLoad) error {
	var next atomic.Int64
	errs := make([]error, load.Clients)
	var wg sync.WaitGroup
	for c := range load.Clients {
		wg.Go(func() {
			s := newSender(t.smtp)
			defer s.Close()
			for {
				n := int(next.Add(1)) - 1
				if n >= load.Messages || ctx.Err() != nil {
					return
				}
				rcpt := t.addrs[n%len(t.addrs)]
				if _, err := s.send(ctx, rcpt, msg.render(rcpt, memSubject, seq.Add(1))); err != nil {
					errs[c] = err
					next.Store(int64(load.Messages)) // the others stop after their message
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

// sampleRSS reads pid's VmRSS every 10 ms until the returned stop is
// called, which returns the largest seen.
func sampleRSS(pid int) (stop func() int64) {
	var peak atomic.Int64
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if m, err := stack.ProcessMemory(pid); err == nil {
				if m.RSS > peak.Load() {
					peak.Store(m.RSS)
				}
			}
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 { close(quit); <-done; return peak.Load() }
}
