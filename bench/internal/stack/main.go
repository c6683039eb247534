package stack

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes of the load drivers.
const (
	ExitOK    = 0 // measured, whether the targets were met or not
	ExitError = 1 // the run failed
	ExitUsage = 2 // bad command line or missing TEST_DATABASE_URL
)

// Report is what a driver prints: text for people, json for machines.
type Report interface {
	Write(w io.Writer, format string) error
}

// Driver is one load driver: how it reads its command line, how it
// measures, and the output format its config asks for.
type Driver[C any, R Report] struct {
	Name    string
	Parse   func(args []string, getenv func(string) string, stderr io.Writer) (C, error)
	Measure func(ctx context.Context, cfg C, progress io.Writer) (R, error)
	Format  func(cfg C) string
}

// Run measures and prints the report; it returns the exit code. Progress
// goes to stderr, the report to stdout.
func (d Driver[C, R]) Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := d.Parse(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", d.Name, err)
		return ExitUsage
	}
	rep, err := d.Measure(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", d.Name, err)
		return ExitError
	}
	if err := rep.Write(stdout, d.Format(cfg)); err != nil {
		fmt.Fprintf(stderr, "%s: writing the report: %v\n", d.Name, err)
		return ExitError
	}
	return ExitOK
}

// Main runs the driver on the process's arguments and environment, stops
// it on SIGINT or SIGTERM, and exits with its code.
func (d Driver[C, R]) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := d.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Unset calls defaults[name] for each flag of fs that the command line did
// not give: a driver's -short mode sets its shorter durations this way,
// leaving alone those given explicitly. Call it after fs.Parse.
func Unset(fs *flag.FlagSet, defaults map[string]func()) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, set := range defaults {
		if !given[name] {
			set()
		}
	}
}
