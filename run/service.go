package run

import (
	"errors"

	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Config configures a Service.
type Config struct {
	// DB is the pool (or, in tests, a transaction). Required.
	DB pgdb.DB
	// MetricFlows is how many distinct flow names the outcome statistics
	// (Stats) keep apart; the outcomes of any further flow are counted
	// under OtherFlow. Defaults to 200.
	MetricFlows int
}

// WithDefaults returns c with its unset optional fields filled.
func (c Config) WithDefaults() Config {
	if c.MetricFlows <= 0 {
		c.MetricFlows = 200
	}
	return c
}

// Validate names the first missing field of c.
func (c Config) Validate() error {
	if c.DB == nil {
		return errors.New("run: Config.DB is required")
	}
	return nil
}

// Service reads the runs and counts their outcomes.
type Service struct {
	db    pgdb.DB
	stats *stats
}

// New returns a Service, or an error naming the bad field of cfg.
func New(cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{db: cfg.DB, stats: newStats(cfg.MetricFlows)}, nil
}
