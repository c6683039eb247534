package main

import (
	"bytes"
	"math"
	"os"
	"strconv"
	"time"
)

// cpuWindow measures the whole machine's CPU use (every process, not only
// the run's) from a start to when busy is called, from /proc/stat. Off
// Linux it measures nothing.
type cpuWindow struct {
	done  chan struct{} // closed when start is read
	start cpuTimes
}

// cpuTimes are the jiffies of the "cpu" line of /proc/stat: in total, and
// idle (idle plus iowait). ok is false when it could not be read.
type cpuTimes struct {
	total, idle uint64
	ok          bool
}

// startCPU starts a window now.
func startCPU() *cpuWindow { return startCPUAfter(0, nil) }

// startCPUAfter starts a window after d: the warm-up of a phase is left
// out. also, when not nil, runs at the window's start, after its read:
// what else is read then (the processes' own CPU times) is done once busy
// returns.
func startCPUAfter(d time.Duration, also func()) *cpuWindow {
	w := &cpuWindow{done: make(chan struct{})}
	begin := func() {
		w.start = readCPU()
		if also != nil {
			also()
		}
		close(w.done)
	}
	if d <= 0 {
		begin()
		return w
	}
	time.AfterFunc(d, begin)
	return w
}

// busy returns the share of the CPUs' time that was not idle since the
// window started, in percent (one decimal), or -1 when unknown.
func (w *cpuWindow) busy() float64 {
	<-w.done
	end := readCPU()
	total := end.total - w.start.total
	if !w.start.ok || !end.ok || total == 0 {
		return -1
	}
	busy := 100 * float64(total-(end.idle-w.start.idle)) / float64(total)
	return math.Round(busy*10) / 10
}

// readCPU reads the first line of /proc/stat:
// cpu user nice system idle iowait irq softirq steal guest guest_nice.
// guest time is already counted in user, so the sum stops at steal.
func readCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) < 9 || string(fields[0]) != "cpu" {
		return cpuTimes{}
	}
	var t cpuTimes
	for i, f := range fields[1:9] {
		n, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil {
			return cpuTimes{}
		}
		t.total += n
		if i == 3 || i == 4 { // idle, iowait
			t.idle += n
		}
	}
	t.ok = true
	return t
}
