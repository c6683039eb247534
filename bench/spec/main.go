package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// Config is what a run measures and how.
type Config struct {
	// DatabaseURL is a PostgreSQL server on which the driver may create and
	// drop databases (TEST_DATABASE_URL). Required; left out of the JSON
	// report, as it may hold a password.
	DatabaseURL string `json:"-"`
	// Roles is the number of roles of the spec, r001, r002, …, all in
	// environment bench. Defaults to 100.
	Roles int `json:"roles"`
	// Pool is each role's pool_size. The server refuses more than 100.
	// Defaults to 100.
	Pool int `json:"pool"`
	// Plans is how many no-change plans are timed, each beside one
	// roles list (the baseline); as many for the for_each spec. Defaults
	// to 7.
	Plans int `json:"plans"`
	// ForEach is the objects of the second spec, made with for_each:
	// environment fe and ForEach-1 roles f001, f002, … of one account
	// each, from one role block, applied in workspace foreach. Defaults to
	// 500.
	ForEach int `json:"for_each_objects"`
	// CopyRounds is how many times the COPY baseline copies the first
	// apply's rows; its median is the baseline. Defaults to 3.
	CopyRounds int `json:"copy_rounds"`
	// Short is the short run (-short): unless set by their own flag,
	// 25 roles (2,500 accounts, each role's pool still 100), 3 plans and
	// a for_each spec of 100 objects. What go run ./bench/all runs by
	// default.
	Short bool `json:"short"`
	// Bin is the understudy binary, built by make build: the server and
	// the CLI under measurement. Defaults to bin/understudy.
	Bin string `json:"bin"`
	// Output is text or json. Defaults to text.
	Output string `json:"-"`
}

// Bounds of the flags.
const (
	maxRoles = 999 // the names r001…r999
	maxPool  = 100 // the server's bound of pool_size
	maxPlans = 100
	// maxCopyRounds bounds the COPY baseline's rounds.
	maxCopyRounds = 20
	// maxForEach keeps the names f001…f999.
	maxForEach = 1000
)

// shortDefaults are the flags' values in a short run (-short).
var shortDefaults = map[string]int{"roles": 25, "plans": 3, "for-each": 100}

// WithDefaults returns c with its zero fields filled.
func (c Config) WithDefaults() Config {
	c.Roles = cmp.Or(c.Roles, 100)
	c.Pool = cmp.Or(c.Pool, 100)
	c.Plans = cmp.Or(c.Plans, 7)
	c.ForEach = cmp.Or(c.ForEach, 500)
	c.CopyRounds = cmp.Or(c.CopyRounds, 3)
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
	if c.Roles < 1 || c.Roles > maxRoles {
		errs = append(errs, fmt.Errorf("-roles must be from 1 to %d, got %d", maxRoles, c.Roles))
	}
	if c.Pool < 1 || c.Pool > maxPool {
		errs = append(errs, fmt.Errorf("-pool must be from 1 to %d (the server refuses larger pools), got %d", maxPool, c.Pool))
	}
	if c.Plans < 1 || c.Plans > maxPlans {
		errs = append(errs, fmt.Errorf("-plans must be from 1 to %d, got %d", maxPlans, c.Plans))
	}
	if c.ForEach < 2 || c.ForEach > maxForEach {
		errs = append(errs, fmt.Errorf("-for-each must be from 2 to %d (the environment and at least one role), got %d", maxForEach, c.ForEach))
	}
	if c.CopyRounds < 1 || c.CopyRounds > maxCopyRounds {
		errs = append(errs, fmt.Errorf("-copy-rounds must be from 1 to %d, got %d", maxCopyRounds, c.CopyRounds))
	}
	if c.Output != "text" && c.Output != "json" {
		errs = append(errs, fmt.Errorf("-o must be text or json, got %q", c.Output))
	}
	return errors.Join(errs...)
}

// parseConfig reads the flags and TEST_DATABASE_URL.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("spec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.Roles, "roles", 100, "roles in the spec (r001, r002, …), all in environment bench")
	fs.IntVar(&c.Pool, "pool", 100, "pool_size of each role (at most 100)")
	fs.IntVar(&c.Plans, "plans", 7, "no-change plans to time, each beside one roles list")
	fs.IntVar(&c.ForEach, "for-each", 500, "objects of the for_each spec: environment fe and its roles, from one role block with for_each")
	fs.IntVar(&c.CopyRounds, "copy-rounds", 3, "rounds of the COPY baseline (its median is the baseline)")
	fs.BoolVar(&c.Short, "short", false, "short run: 25 roles, 3 plans, a for_each spec of 100 objects, unless set by their flags")
	fs.StringVar(&c.Bin, "bin", "bin/understudy", "understudy binary, server and CLI (make build)")
	fs.StringVar(&c.Output, "o", "text", "output format: text or json")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.Short {
		stack.Unset(fs, map[string]func(){"roles": func() { c.Roles = shortDefaults["roles"] },
			"plans": func() { c.Plans = shortDefaults["plans"] }, "for-each": func() { c.ForEach = shortDefaults["for-each"] }})
	}
	c.DatabaseURL = getenv("TEST_DATABASE_URL")
	c = c.WithDefaults()
	return c, c.Validate()
}

// driver is this load driver.
var driver = stack.Driver[Config, Report]{Name: "spec", Parse: parseConfig, Measure: measure,
	Format: func(c Config) string { return c.Output }}

func main() { driver.Main() }
