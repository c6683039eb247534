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
	// drop databases (TEST_DATABASE_URL). Required.
	DatabaseURL string
	// Clients is the number of concurrent clients in each phase. Defaults to 1.
	Clients int
	// Subjects is the number of subjects of each check, half of them on the
	// list. Defaults to 1,000.
	Subjects int
	// Accounts is the number of listed accounts (3 identifiers each).
	// Defaults to 1,000; at least Subjects/2.
	Accounts int
	// Duration is how long each phase is measured. Defaults to 10s.
	Duration time.Duration
	// Warmup runs before each phase's first slice and is not recorded.
	// Defaults to 2s.
	Warmup time.Duration
	// Rounds splits the two phases into that many alternating slices
	// (check, sql, check, sql, ...). Defaults to 5.
	Rounds int
	// Bin is the server binary, built by make build. Defaults to bin/understudy.
	Bin string
	// Output is text or json. Defaults to text.
	Output string
}

// WithDefaults returns c with its zero fields filled.
func (c Config) WithDefaults() Config {
	c.Clients = cmp.Or(c.Clients, 1)
	c.Subjects = cmp.Or(c.Subjects, 1000)
	c.Accounts = cmp.Or(c.Accounts, 1000)
	c.Duration = cmp.Or(c.Duration, 10*time.Second)
	c.Warmup = cmp.Or(c.Warmup, 2*time.Second)
	c.Rounds = cmp.Or(c.Rounds, 5)
	c.Bin = cmp.Or(c.Bin, "bin/understudy")
	c.Output = cmp.Or(c.Output, "text")
	return c
}

// Validate names every bad field.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("TEST_DATABASE_URL is required: a PostgreSQL server the driver may create databases on, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"))
	}
	if c.Clients < 1 {
		errs = append(errs, fmt.Errorf("-clients must be at least 1, got %d", c.Clients))
	}
	if c.Subjects < 2 || c.Subjects > 10_000 {
		errs = append(errs, fmt.Errorf("-subjects must be 2 to 10000 (a check's limit), got %d", c.Subjects))
	}
	if c.Accounts < c.Subjects/2 {
		errs = append(errs, fmt.Errorf("-accounts must be at least -subjects/2 (%d), got %d", c.Subjects/2, c.Accounts))
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

// Short run: what -short sets, unless the flag is given too.
const (
	shortDuration = 3 * time.Second
	shortWarmup   = time.Second
	shortRounds   = 3
)

// parseConfig reads the flags and TEST_DATABASE_URL.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	var short bool
	fs := flag.NewFlagSet("isolation", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.Clients, "clients", 1, "concurrent clients in each phase")
	fs.IntVar(&c.Subjects, "subjects", 1000, "subjects of each check (half on the list)")
	fs.IntVar(&c.Accounts, "accounts", 1000, "listed accounts, 3 identifiers each")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured duration of each phase")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "unrecorded warm-up before each phase")
	fs.IntVar(&c.Rounds, "rounds", 5, "alternate the check and sql phases in this many slices of -duration/-rounds")
	fs.StringVar(&c.Bin, "bin", "bin/understudy", "server binary (make build)")
	fs.StringVar(&c.Output, "o", "text", "output format: text or json")
	fs.BoolVar(&short, "short", false, fmt.Sprintf("a short run: -duration %s -warmup %s -rounds %d unless given", shortDuration, shortWarmup, shortRounds))
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if short {
		stack.Unset(fs, map[string]func(){"duration": func() { c.Duration = shortDuration },
			"warmup": func() { c.Warmup = shortWarmup }, "rounds": func() { c.Rounds = shortRounds }})
	}
	c.DatabaseURL = getenv("TEST_DATABASE_URL")
	c = c.WithDefaults()
	return c, c.Validate()
}

// driver is this load driver.
var driver = stack.Driver[Config, Report]{Name: "isolation", Parse: parseConfig, Measure: measure,
	Format: func(c Config) string { return c.Output }}

func main() { driver.Main() }
