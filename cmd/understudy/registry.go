package main

import (
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/exec"
	"github.com/understudy-dev/understudy/providers/fake"
	"github.com/understudy-dev/understudy/providers/postgres"
	"github.com/understudy-dev/understudy/providers/webhook"
	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/amplitude"
	"github.com/understudy-dev/understudy/tagging/mixpanel"
	"github.com/understudy-dev/understudy/tagging/posthog"
	"github.com/understudy-dev/understudy/tagging/segment"
	tagwebhook "github.com/understudy-dev/understudy/tagging/webhook"
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

// newDestinationRegistry is the explicit list of analytics destination
// kinds this binary publishes to.
func newDestinationRegistry() *tagging.Registry {
	r := tagging.NewRegistry()
	r.Register(posthog.Kind, posthog.New)
	r.Register(amplitude.Kind, amplitude.New)
	r.Register(mixpanel.Kind, mixpanel.New)
	r.Register(segment.Kind, segment.New)
	r.Register(tagwebhook.Kind, tagwebhook.New)
	return r
}
