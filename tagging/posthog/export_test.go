package posthog

// Build is New with the Sender's sleep injected, for the tests.
var Build = build
