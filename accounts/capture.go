package accounts

import (
	"time"

	"github.com/understudy-dev/understudy"
)

// The capture setting: how long an environment keeps the captured account
// states of its failed runs. Package run's retention job reads it through
// the environment_directory view and deletes the captures past it.

// Bounds and default of an environment's capture retention (the column's
// CHECK).
const (
	DefaultCaptureRetention = 30 * 24 * time.Hour
	MinCaptureRetention     = time.Hour
	MaxCaptureRetention     = 365 * 24 * time.Hour
)

// withCaptureDefaults gives an environment that sets no capture retention
// (a zero) the default.
func (e *Environment) withCaptureDefaults() {
	if e.CaptureRetentionSeconds == 0 {
		e.CaptureRetentionSeconds = int(DefaultCaptureRetention / time.Second)
	}
}

// captureErrors names the capture retention of e when it is out of bounds.
func (e *Environment) captureErrors() []understudy.FieldError {
	return retentionErrors("capture_retention_seconds", e.CaptureRetentionSeconds, MinCaptureRetention, MaxCaptureRetention)
}
