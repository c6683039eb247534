package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Exit codes.
const (
	exitOK     = 0 // every driver ran and printed its targets (MISS included)
	exitFailed = 1 // a driver failed, or could not be built
	exitUsage  = 2 // bad command line or missing TEST_DATABASE_URL
)

// Config is what all runs.
type Config struct {
	// Full runs each driver as bench/README.md measures it. Defaults to
	// false: the short mode.
	Full bool
	// Only names the drivers to run. Defaults to every driver.
	Only []string
	// Timeout bounds each driver's run. Defaults to 1h.
	Timeout time.Duration
	// Output is text or json. Defaults to text.
	Output string
}

// parseConfig reads the command line; TEST_DATABASE_URL must be set, as
// every driver needs it.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	var only string
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&c.Full, "full", false, "run each driver as bench/README.md measures it (default: the short mode)")
	fs.StringVar(&only, "only", "", "comma-separated drivers to run (default: all of "+strings.Join(names(drivers), ",")+")")
	fs.DurationVar(&c.Timeout, "timeout", time.Hour, "bound of each driver's run")
	fs.StringVar(&c.Output, "o", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %v", fs.Args()))
	}
	if getenv("TEST_DATABASE_URL") == "" {
		errs = append(errs, errors.New("TEST_DATABASE_URL is required: a PostgreSQL server the drivers may create databases on, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"))
	}
	if only != "" {
		for n := range strings.SplitSeq(only, ",") {
			if !slices.Contains(names(drivers), n) {
				errs = append(errs, fmt.Errorf("-only: no driver %q (drivers: %s)", n, strings.Join(names(drivers), ", ")))
			}
			c.Only = append(c.Only, n)
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("-timeout must be positive, got %s", c.Timeout))
	}
	if c.Output != "text" && c.Output != "json" {
		errs = append(errs, fmt.Errorf("-o must be text or json, got %q", c.Output))
	}
	return c, errors.Join(errs...)
}

func names(ds []driver) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name
	}
	return out
}

// selected are the drivers of the table that cfg runs, in its order.
func (c Config) selected() []driver {
	if len(c.Only) == 0 {
		return drivers
	}
	var out []driver
	for _, d := range drivers {
		if slices.Contains(c.Only, d.Name) {
			out = append(out, d)
		}
	}
	return out
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run it inside the repository (go env GOMOD: %q, %v)", gomod, err)
	}
	return filepath.Dir(gomod), nil
}

// run builds and runs the drivers and prints the report; it returns the
// exit code. Progress (the builds, each driver's stderr) goes to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "all: %v\n", err)
		return exitUsage
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "all: %v\n", err)
		return exitUsage
	}
	dir, err := os.MkdirTemp("", "understudy-bench-all-")
	if err != nil {
		fmt.Fprintf(stderr, "all: %v\n", err)
		return exitFailed
	}
	defer os.RemoveAll(dir)
	ds := cfg.selected()
	b, err := build(ctx, root, dir, ds, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "all: %v\n", err)
		return exitFailed
	}
	rep := Report{Full: cfg.Full, Results: runAll(ctx, cfg, ds, b, execDriver(root, stderr), stderr)}
	if err := rep.Write(stdout, cfg.Output); err != nil {
		fmt.Fprintf(stderr, "all: writing the report: %v\n", err)
		return exitFailed
	}
	if rep.Failed() || ctx.Err() != nil {
		return exitFailed
	}
	return exitOK
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
