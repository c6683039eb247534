package snapshot

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy/providers"
)

// The attributes of a reset's spans: ids and names, never a state.
const (
	attrAccount = attribute.Key("understudy.account.id")
	attrState   = attribute.Key("understudy.state")
	attrApp     = attribute.Key("understudy.app")
)

// appFailures are what a failed call to an app says in its span's status:
// the contract's sentinel it failed with, never the app's own words.
var appFailures = []error{providers.ErrNotFound, providers.ErrNotSynthetic, providers.ErrNotOwned, providers.ErrUnavailable,
	providers.ErrProtocol, providers.ErrRefused, context.DeadlineExceeded, context.Canceled}

// failSpan marks the span of one app's part failed with the contract's
// name for err, when err is not nil.
func failSpan(span trace.Span, err error) {
	if err == nil {
		return
	}
	what := "the state after the restore is not the state restored"
	if _, ok := errors.AsType[*providers.ConfigError](err); ok {
		what = "the app's settings cannot work"
	}
	for _, sentinel := range appFailures {
		if errors.Is(err, sentinel) {
			what = sentinel.Error()
			break
		}
	}
	span.SetStatus(codes.Error, what)
}
