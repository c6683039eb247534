package stack

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Memory is a process's resident set, from /proc/<pid>/status.
type Memory struct {
	// RSS is the resident set now (VmRSS), in bytes.
	RSS int64
	// Peak is the largest resident set since the process started, or since
	// ResetPeak (VmHWM), in bytes.
	Peak int64
}

// ProcessMemory reads VmRSS and VmHWM of process pid (Linux only).
func ProcessMemory(pid int) (Memory, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("reading the memory of process %d: %w", pid, err)
	}
	return ParseStatus(raw)
}

// ParseStatus reads VmRSS and VmHWM (in kB) of a /proc/<pid>/status file.
func ParseStatus(raw []byte) (Memory, error) {
	var m Memory
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(value)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("/proc status: %s is %q, not a size in kB", name, strings.TrimSpace(value))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("/proc status: %s: %w", name, err)
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
		found++
	}
	if found != 2 {
		return m, fmt.Errorf("/proc status has no VmRSS and VmHWM (a kernel thread, or not Linux)")
	}
	return m, nil
}

// ResetPeak sets process pid's VmHWM back to its resident set now (writing
// 5 to /proc/<pid>/clear_refs; Linux 4.0 or later, and the right to trace
// the process), so that a later ProcessMemory reads the peak since then.
func ResetPeak(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the peak memory of process %d: %w", pid, err)
	}
	return nil
}
