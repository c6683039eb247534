package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// Config is what a run measures and how.
type Config struct {
	// DatabaseURL is a PostgreSQL server on which the driver may create and
	// drop databases (TEST_DATABASE_URL). Required unless SkipUnderstudy.
	DatabaseURL string
	// Clients is the number of concurrent SMTP clients of each ingest
	// phase. Defaults to 8.
	Clients int
	// Duration is how long each phase is measured. Defaults to 10s.
	Duration time.Duration
	// Warmup runs before each phase's measurement and is not recorded.
	// Defaults to 2s.
	Warmup time.Duration
	// Rounds splits the ingest phases into that many alternating slices
	// (Understudy, Mailpit, Understudy, ...) of Duration/Rounds each, so
	// that other work on a shared machine weighs on both alike. Defaults
	// to 1.
	Rounds int
	// Bin is the server binary, built by make build. Defaults to bin/understudy.
	Bin string
	// MailpitBin is a Mailpit binary. Defaults to the version
	// tools/mailpit pins, built once into the system's temporary directory.
	MailpitBin string
	// SkipMailpit measures Understudy alone (no ingest ratio).
	SkipMailpit bool
	// SkipUnderstudy measures Mailpit alone (no database, no ratio, no
	// delivery phase): for a server built without the SMTP receiver.
	SkipUnderstudy bool
	// Output is text or json. Defaults to text.
	Output string
}

// WithDefaults returns c with its zero fields filled.
func (c Config) WithDefaults() Config {
	c.Clients = cmp.Or(c.Clients, 8)
	c.Duration = cmp.Or(c.Duration, 10*time.Second)
	c.Warmup = cmp.Or(c.Warmup, 2*time.Second)
	c.Rounds = cmp.Or(c.Rounds, 1)
	c.Bin = cmp.Or(c.Bin, "bin/understudy")
	c.Output = cmp.Or(c.Output, "text")
	return c
}

// maxClients bounds -clients: each holds an SMTP connection.
const maxClients = 256

// Validate names every bad field.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" && !c.SkipUnderstudy {
		errs = append(errs, errors.New("TEST_DATABASE_URL is required: a PostgreSQL server the driver may create databases on, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"))
	}
	if c.SkipMailpit && c.SkipUnderstudy {
		errs = append(errs, errors.New("-skip-mailpit and -skip-understudy leave nothing to measure"))
	}
	if c.Clients < 1 || c.Clients > maxClients {
		errs = append(errs, fmt.Errorf("-clients must be from 1 to %d, got %d", maxClients, c.Clients))
	}
	if c.Duration <= 0 || c.Warmup < 0 {
		errs = append(errs, fmt.Errorf("-duration must be positive and -warmup not negative, got %s and %s", c.Duration, c.Warmup))
	}
	if c.Rounds < 1 || (c.Duration > 0 && c.Duration/time.Duration(max(c.Rounds, 1)) < 100*time.Millisecond) {
		errs = append(errs, fmt.Errorf("-rounds must be at least 1, with slices of -duration/-rounds of at least 100ms, got %d rounds of %s", c.Rounds, c.Duration))
	}
	if c.Output != "text" && c.Output != "json" {
		errs = append(errs, fmt.Errorf("-o must be text or json, got %q", c.Output))
	}
	return errors.Join(errs...)
}

// parseConfig reads the flags and TEST_DATABASE_URL.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("inbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.Clients, "clients", 8, "concurrent SMTP clients of each ingest phase")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured duration of each phase")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "unrecorded warm-up before each phase")
	fs.IntVar(&c.Rounds, "rounds", 1, "alternate the ingest phases in this many slices of -duration/-rounds")
	fs.StringVar(&c.Bin, "bin", "bin/understudy", "server binary (make build)")
	fs.StringVar(&c.MailpitBin, "mailpit-bin", "", "Mailpit binary (default: go build in tools/mailpit, cached in the temporary directory)")
	fs.BoolVar(&c.SkipMailpit, "skip-mailpit", false, "measure Understudy alone")
	fs.BoolVar(&c.SkipUnderstudy, "skip-understudy", false, "measure Mailpit alone (a server without the SMTP receiver)")
	fs.StringVar(&c.Output, "o", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	// The flags carry the defaults; WithDefaults would turn -warmup 0s
	// into 2s.
	c.DatabaseURL = getenv("TEST_DATABASE_URL")
	return c, c.Validate()
}

// driver is this load driver.
var driver = stack.Driver[Config, Report]{Name: "inbox", Parse: parseConfig, Measure: measure,
	Format: func(c Config) string { return c.Output }}

func main() { driver.Main() }
