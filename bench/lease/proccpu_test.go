package main

import (
	"testing"
	"time"
)

// A phase's CPU per operation counts each process's time over the window:
// a backend that started meanwhile whole, one that exited not at all, and
// a slice whose processes could not be read makes the phase's unknown.
func TestCPUPerOperationCountsEachProcessOverTheWindow(t *testing.T) {
	ms := time.Millisecond
	start := procTimes{server: 100 * ms, driver: 50 * ms, own: map[int]time.Duration{1: 10 * ms, 2: 20 * ms}, chirp: map[int]time.Duration{3: 5 * ms}, ok: true}
	end := procTimes{server: 300 * ms, driver: 90 * ms, own: map[int]time.Duration{1: 60 * ms, 4: 30 * ms}, chirp: map[int]time.Duration{3: 45 * ms}, ok: true}
	slice := end.since(start) // backend 2 exited; 4 started
	if want := (procCPU{Server: 200 * ms, Driver: 40 * ms, Own: 80 * ms, Chirp: 40 * ms, ok: true}); slice != want {
		t.Fatalf("since: %+v, want %+v", slice, want)
	}
	got := slice.add(slice).perOperation(400)
	want := CPUPerOperation{Server: 1, UnderstudysDB: 0.4, ChirpsDB: 0.2, Driver: 0.2, UnderstudysTotal: 1.4}
	if got == nil || *got != want {
		t.Fatalf("per operation: %+v, want %+v", got, want)
	}
	if c := slice.add(end.since(procTimes{})).perOperation(400); c != nil {
		t.Errorf("a slice that could not be read: %+v, want unknown", c)
	}
	if c := slice.perOperation(0); c != nil {
		t.Errorf("no operation: %+v, want unknown", c)
	}
}
