package main

import (
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/exec"
	"github.com/understudy-dev/understudy/providers/fake"
	"github.com/understudy-dev/understudy/providers/postgres"
	"github.com/understudy-dev/understudy/providers/webhook"
)

// newRegistry is the explicit list of app providers this binary offers.
func newRegistry() *providers.Registry {
	r := providers.NewRegistry()
	r.Register("webhook", webhook.Factory)
	r.Register("postgres", postgres.Factory)
	r.Register("exec", exec.Factory)
	// fake keeps users in memory: for trying Understudy out and for
	// benchmarks that need an app that does nothing. It holds nothing real.
	r.Register("fake", fake.Factory)
	return r
}
