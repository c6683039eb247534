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
	// Accounts is how many retired accounts the fixture puts on the
	// environment's exclusion list, 3 identifiers each (id, email,
	// username); each is one identity of the destination (its email).
	// Defaults to 333,334 (1,000,002 identifiers).
	Accounts int
	// Bin is the server binary, built by make build. Defaults to bin/understudy.
	Bin string
	// SyncTimeout bounds each sync run: the server's request timeout
	// (UNDERSTUDY_REQUEST_TIMEOUT) and the driver's wait. Defaults to 30m.
	SyncTimeout time.Duration
	// Again is how many more syncs with no difference follow the second
	// one, for the spread of its duration on a noisy machine (not checked).
	// Zero means none (the -again flag defaults to 2).
	Again int
	// Cohort gives the destination a personal API key, so the first sync
	// also keeps the static cohort, installs the filter and verifies,
	// through the fake's rate-limited private API. Defaults to false
	// (mark only).
	Cohort bool
	// QueryPerMinute and CRUDPerMinute are the fake's rate limits. Default
	// to PostHog's documented 240 and 480; lower them with -cohort and a
	// small -accounts to see a sync held to them in minutes.
	QueryPerMinute, CRUDPerMinute int
	// Output is text or json. Defaults to text.
	Output string
}

// WithDefaults returns c with its zero fields filled.
func (c Config) WithDefaults() Config {
	c.Accounts = cmp.Or(c.Accounts, 333_334)
	c.Bin = cmp.Or(c.Bin, "bin/understudy")
	c.SyncTimeout = cmp.Or(c.SyncTimeout, 30*time.Minute)
	c.QueryPerMinute = cmp.Or(c.QueryPerMinute, queryPerMinute)
	c.CRUDPerMinute = cmp.Or(c.CRUDPerMinute, crudPerMinute)
	c.Output = cmp.Or(c.Output, "text")
	return c
}

// Validate names every bad field.
func (c Config) Validate() error {
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("TEST_DATABASE_URL is required: a PostgreSQL server the driver may create databases on, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"))
	}
	if c.Accounts < 1 || c.Accounts > 10_000_000 {
		errs = append(errs, fmt.Errorf("-accounts must be from 1 to 10000000, got %d", c.Accounts))
	}
	if c.SyncTimeout < time.Second {
		errs = append(errs, fmt.Errorf("-sync-timeout must be at least 1s, got %s", c.SyncTimeout))
	}
	if c.Again < 0 || c.Again > 100 {
		errs = append(errs, fmt.Errorf("-again must be from 0 to 100, got %d", c.Again))
	}
	if c.QueryPerMinute < 1 || c.CRUDPerMinute < 1 {
		errs = append(errs, fmt.Errorf("-query-per-minute and -crud-per-minute must be at least 1, got %d and %d", c.QueryPerMinute, c.CRUDPerMinute))
	}
	if c.Output != "text" && c.Output != "json" {
		errs = append(errs, fmt.Errorf("-o must be text or json, got %q", c.Output))
	}
	return errors.Join(errs...)
}

// parseConfig reads the flags and TEST_DATABASE_URL.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.Accounts, "accounts", 333_334, "retired accounts on the exclusion list (3 identifiers and 1 distinct id each)")
	fs.StringVar(&c.Bin, "bin", "bin/understudy", "server binary (make build)")
	fs.DurationVar(&c.SyncTimeout, "sync-timeout", 30*time.Minute, "bound of each sync run (the server's request timeout)")
	fs.IntVar(&c.Again, "again", 2, "further syncs with no difference after the second, for the spread (not checked)")
	fs.BoolVar(&c.Cohort, "cohort", false, "give the destination a personal API key: cohort, filter and verification through the rate-limited private API")
	fs.IntVar(&c.QueryPerMinute, "query-per-minute", queryPerMinute, "the fake's limit of query requests per minute")
	fs.IntVar(&c.CRUDPerMinute, "crud-per-minute", crudPerMinute, "the fake's limit of CRUD requests per minute")
	fs.StringVar(&c.Output, "o", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c.DatabaseURL = getenv("TEST_DATABASE_URL")
	c = c.WithDefaults()
	return c, c.Validate()
}

// driver is this load driver.
var driver = stack.Driver[Config, Report]{Name: "sync", Parse: parseConfig, Measure: measure,
	Format: func(c Config) string { return c.Output }}

func main() { driver.Main() }
