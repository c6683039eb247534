package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// Config is what a run measures and how.
type Config struct {
	// DatabaseURL is a PostgreSQL server on which the driver may create and
	// drop databases (TEST_DATABASE_URL). Required.
	DatabaseURL string
	// Workers is the number of concurrent test runners in each phase, and
	// the pool size of each role. Defaults to 8.
	Workers int
	// Duration is how long each phase is measured. pgbench measures whole
	// seconds: it runs for Duration rounded up. Defaults to 10s.
	Duration time.Duration
	// Warmup runs before each phase's measurement and is not recorded.
	// Zero means none (the -warmup flag defaults to 2s).
	Warmup time.Duration
	// Rounds splits each phase into that many slices of Duration/Rounds,
	// run in turn ((a), (b), (c), (c), (d), then again), so that other work
	// on a shared machine weighs on each ratio's two sides alike; each
	// phase's first slice has the warm-up. Defaults to 1.
	Rounds int
	// Bin is the server binary, built by make build. Defaults to bin/understudy.
	Bin string
	// Pgbench is PostgreSQL's pgbench. Defaults to pgbench on PATH, else
	// the newest /usr/lib/postgresql/*/bin/pgbench.
	Pgbench string
	// Output is text or json. Defaults to text.
	Output string
	// PeerFollows makes the chirp users of the pool follow one another
	// instead of fixture users. Defaults to false.
	PeerFollows bool
}

// WithDefaults returns c with its zero fields filled.
func (c Config) WithDefaults() Config {
	c.Workers = cmp.Or(c.Workers, 8)
	c.Duration = cmp.Or(c.Duration, 10*time.Second)
	c.Rounds = cmp.Or(c.Rounds, 1)
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
	if c.Workers < 1 || c.Workers > maxWorkers {
		errs = append(errs, fmt.Errorf("-workers must be from 1 to %d, got %d", maxWorkers, c.Workers))
	}
	if c.Duration < time.Second || c.Warmup < 0 {
		errs = append(errs, fmt.Errorf("-duration must be at least 1s and -warmup not negative, got %s and %s", c.Duration, c.Warmup))
	}
	if c.Rounds < 1 || (c.Duration > 0 && c.Duration/time.Duration(max(c.Rounds, 1)) < time.Second) {
		errs = append(errs, fmt.Errorf("-rounds must be at least 1, with slices of -duration/-rounds of at least 1s (pgbench measures whole seconds), got %d rounds of %s", c.Rounds, c.Duration))
	}
	if c.Output != "text" && c.Output != "json" {
		errs = append(errs, fmt.Errorf("-o must be text or json, got %q", c.Output))
	}
	return errors.Join(errs...)
}

// maxWorkers bounds -workers: each phase opens that many connections on
// top of the server's, and a role's pool is at most that large here.
const maxWorkers = 32

// slice returns how long each phase runs in round i (from 0): its share
// of the duration, with the warm-up first.
func (c Config) slice(i int) phase.Config {
	s := phase.Config{Duration: c.Duration / time.Duration(c.Rounds)}
	if i == 0 {
		s.Warmup = c.Warmup
	}
	return s
}

// parseConfig reads the flags and TEST_DATABASE_URL.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("lease", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.Workers, "workers", 8, "concurrent test runners in each phase (and accounts per role)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured duration of each phase")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "unrecorded warm-up before each phase")
	fs.IntVar(&c.Rounds, "rounds", 1, "run the phases in turn in this many slices of -duration/-rounds each")
	fs.StringVar(&c.Bin, "bin", "bin/understudy", "server binary (make build)")
	fs.StringVar(&c.Pgbench, "pgbench", "", "pgbench binary (default: pgbench on PATH, else /usr/lib/postgresql/*/bin/pgbench)")
	fs.StringVar(&c.Output, "o", "text", "output format: text or json")
	fs.BoolVar(&c.PeerFollows, "peer-follows", false, "chirp users of the pool follow one another (concurrent resets then deadlock in the postgres provider)")
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
var driver = stack.Driver[Config, Report]{Name: "lease", Parse: parseConfig, Measure: measure,
	Format: func(c Config) string { return c.Output }}

func main() { driver.Main() }
