package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// Memory is a process's resident set, in KiB, as /proc/<pid>/status says.
type Memory struct {
	// RSS is VmRSS: resident now.
	RSS int64 `json:"rss_kib"`
	// HWM is VmHWM: the peak resident set since start, or since the last
	// reset (resetPeak).
	HWM int64 `json:"hwm_kib"`
}

// readMemory reads VmRSS and VmHWM of pid.
func readMemory(pid int) (Memory, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("reading the server's memory: %w", err)
	}
	return parseStatus(raw)
}

// parseStatus reads VmRSS and VmHWM from a /proc/<pid>/status document.
func parseStatus(raw []byte) (Memory, error) {
	var m Memory
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		key, val, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		f := bytes.Fields(val)
		if len(f) != 2 || string(f[1]) != "kB" {
			continue
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return m, fmt.Errorf("/proc status %s: %w", key, err)
		}
		switch string(key) {
		case "VmRSS":
			m.RSS = n
		case "VmHWM":
			m.HWM = n
		}
	}
	if m.RSS == 0 || m.HWM == 0 {
		return m, fmt.Errorf("/proc status has no VmRSS or VmHWM")
	}
	return m, nil
}

// resetPeak resets pid's VmHWM to its current RSS (Linux 4.0+: writing 5
// to clear_refs), so the next reading is the peak of what follows.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// sampler reads pid's memory every interval until stopped, keeping the
// largest RSS it saw (a check of VmHWM that does not rely on the reset).
type sampler struct {
	stop    chan struct{}
	done    sync.WaitGroup
	maxRSS  int64
	samples int
}

func sample(pid int, every time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{})}
	s.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if m, err := readMemory(pid); err == nil {
				s.maxRSS, s.samples = max(s.maxRSS, m.RSS), s.samples+1
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	})
	return s
}

// Stop ends the sampling and returns the largest RSS seen, in KiB.
func (s *sampler) Stop() int64 {
	close(s.stop)
	s.done.Wait()
	return s.maxRSS
}
