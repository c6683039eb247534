package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// serverName is the server binary's name in the build directory.
const serverName = "understudy"

// built is what the build step made: each driver's executable by name, or
// why it could not be built.
type built struct {
	Server string
	Paths  map[string]string
	Errs   map[string]error
}

// build builds the server and each driver into dir, one after the other.
// A driver that does not build is recorded in Errs (it fails, the others
// run); a server that does not build is an error.
func build(ctx context.Context, root, dir string, ds []driver, progress io.Writer) (built, error) {
	b := built{Server: filepath.Join(dir, serverName), Paths: map[string]string{}, Errs: map[string]error{}}
	fmt.Fprintf(progress, "all: building the server and %d drivers into %s\n", len(ds), dir)
	if err := goTool(ctx, root, "build", "-o", b.Server, "./cmd/understudy"); err != nil {
		return b, fmt.Errorf("building the server: %w", err)
	}
	for _, d := range ds {
		path := filepath.Join(dir, d.Name)
		var err error
		if d.Test {
			path += ".test"
			err = goTool(ctx, root, "test", "-c", "-o", path, d.Package)
		} else {
			err = goTool(ctx, root, "build", "-o", path, d.Package)
		}
		if err != nil {
			b.Errs[d.Name] = fmt.Errorf("building %s: %w", d.Package, err)
			continue
		}
		b.Paths[d.Name] = path
	}
	return b, nil
}

// goTool runs the go command in root; its error carries the command's
// output.
func goTool(ctx context.Context, root string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// execFunc runs the driver d's executable path with args and returns
// what it printed.
type execFunc func(ctx context.Context, d driver, path string, args []string) (stdout, stderr []byte, err error)

// runAll runs each driver in turn, never two at once, and collects its
// targets. A driver that could not be built fails without running.
func runAll(ctx context.Context, cfg Config, ds []driver, b built, run execFunc, progress io.Writer) []result {
	var out []result
	for _, d := range ds {
		if err := b.Errs[d.Name]; err != nil {
			out = append(out, result{Driver: d.Name, Failure: "it was not built", StderrTail: tail([]byte(err.Error()), stderrTailLines)})
			continue
		}
		args := d.args(cfg.Full, b.Server)
		fmt.Fprintf(progress, "all: %s %s\n", d.Name, strings.Join(args, " "))
		dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		start := time.Now()
		stdout, stderr, err := run(dctx, d, b.Paths[d.Name], args)
		elapsed := time.Since(start)
		if err != nil && errors.Is(dctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s (-timeout): %w", cfg.Timeout, err)
		}
		cancel()
		res := collect(d.Name, stdout, stderr, err, elapsed)
		fmt.Fprintf(progress, "all: %s done in %s: %d targets%s\n", d.Name, elapsed.Round(time.Second), len(res.Ratios), failedText(res))
		out = append(out, res)
		if ctx.Err() != nil {
			break // interrupted: the drivers after it do not run
		}
	}
	return out
}

func failedText(r result) string {
	if r.Failure == "" {
		return ""
	}
	return ", FAILED: " + r.Failure
}

// execDriver runs a driver as a subprocess: in the module's root, or in
// its package's directory for a test binary (as go test runs it). Its
// stderr (progress) is shown as it comes and kept; its stdout is kept. A
// driver past its time is sent SIGTERM, so it tears down what it set up,
// and killed 30 s later.
func execDriver(root string, progress io.Writer) execFunc {
	return func(ctx context.Context, d driver, path string, args []string) ([]byte, []byte, error) {
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Dir = root
		if d.Test {
			cmd.Dir = filepath.Join(root, d.Package)
		}
		cmd.Stdout = &stdout
		cmd.Stderr = io.MultiWriter(&stderr, progress)
		cmd.Env = os.Environ()
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 30 * time.Second
		err := cmd.Run()
		return stdout.Bytes(), stderr.Bytes(), err
	}
}
