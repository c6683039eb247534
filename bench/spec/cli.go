package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/understudy-dev/understudy/bench/internal/phase"
)

// Timed is one measured command or sequence of requests.
type Timed struct {
	// Wall is its wall-clock time: for a CLI command, from the process's
	// start to its exit.
	Wall phase.Latency `json:"wall_ms"`
	// CPU is the CLI process's user+system CPU time; 0 for requests the
	// driver sends itself.
	CPU phase.Latency `json:"cli_cpu_ms"`
	// ServerCPU is the server process's user+system CPU time meanwhile.
	ServerCPU phase.Latency `json:"server_cpu_ms"`
	// PostgresCPU is the CPU time of PostgreSQL's backends on the scratch
	// database meanwhile; -1 when unknown (PostgreSQL on another machine).
	PostgresCPU phase.Latency `json:"postgres_cpu_ms"`
}

// cli runs the understudy binary as a user would, against the server at
// url with token. Its environment is the driver's without any UNDERSTUDY_
// variable, plus UNDERSTUDY_URL and UNDERSTUDY_TOKEN.
type cli struct {
	bin, url, token string
	meter           meter
}

// run runs the binary with args and times it. It fails when the process
// cannot run or exits with a code other than want, with the end of its
// output.
func (c cli) run(ctx context.Context, want int, args ...string) (Timed, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env(os.Environ())
	cmd.Stdout, cmd.Stderr = &out, &out
	t, err := c.meter.time(ctx, cmd.Run)
	if _, isExit := errors.AsType[*exec.ExitError](err); err != nil && !isExit {
		return t, fmt.Errorf("running %s %s: %w", c.bin, args[0], err)
	}
	st := cmd.ProcessState
	t.CPU = phase.Latency(st.UserTime() + st.SystemTime())
	if code := st.ExitCode(); code != want {
		return t, fmt.Errorf("%s %s exited %d, want %d; its output ends:\n%s", c.bin, strings.Join(args, " "), code, want, tail(out.String(), 40))
	}
	return t, nil
}

// env returns environ without its UNDERSTUDY_ variables (a workspace, a
// variable of the spec), plus the server's URL and token.
func (c cli) env(environ []string) []string {
	var env []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "UNDERSTUDY_") {
			env = append(env, kv)
		}
	}
	return append(env, "UNDERSTUDY_URL="+c.url, "UNDERSTUDY_TOKEN="+c.token)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
