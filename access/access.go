package access

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/understudy-dev/understudy"
)

// Scope is what a token may do. Scopes are ordered: admin allows all that
// runner allows, and runner all that reader allows. The analytics, app and
// inbound scopes stand apart: each allows only the calls that name it
// (reading exclusion lists; the isolation API; delivering mail over HTTPS).
type Scope string

// Scopes, from the most to the least powerful.
const (
	ScopeAdmin  Scope = "admin"  // everything
	ScopeRunner Scope = "runner" // read accounts; lease, and read the credentials of what it leases
	ScopeReader Scope = "reader" // read, never credentials
	// ScopeAnalytics reads exclusion lists, and nothing else.
	ScopeAnalytics Scope = "analytics"
	// ScopeApp calls the isolation API (check, list, keys), and nothing else.
	ScopeApp Scope = "app"
	// ScopeInbound delivers mail to synthetic accounts' inboxes over HTTPS
	// (a forwarder's token), and nothing else: it reads no message.
	ScopeInbound Scope = "inbound"
)

// scopeRank orders the scopes; analytics, app and inbound have no rank:
// each is allowed only where it is named.
var scopeRank = map[Scope]int{ScopeAnalytics: 0, ScopeApp: 0, ScopeInbound: 0, ScopeReader: 1, ScopeRunner: 2, ScopeAdmin: 3}

// Scopes lists the valid scopes.
func Scopes() []Scope {
	return []Scope{ScopeAdmin, ScopeRunner, ScopeReader, ScopeAnalytics, ScopeApp, ScopeInbound}
}

// ParseScope returns the scope named s, or an EINVALID error naming field.
func ParseScope(field, s string) (Scope, error) {
	sc := Scope(s)
	if _, ok := scopeRank[sc]; !ok {
		return "", understudy.Invalid("invalid token", understudy.FieldError{Field: field, Detail: fmt.Sprintf("must be one of admin, runner, reader, analytics, app, inbound; got %q", s)})
	}
	return sc, nil
}

// Allows reports whether a token of scope s may make a call that requires
// any of required. A call that requires nothing is allowed.
func (s Scope) Allows(required ...Scope) bool {
	if len(required) == 0 {
		return true
	}
	return slices.ContainsFunc(required, func(r Scope) bool { return s == r || (scopeRank[s] >= scopeRank[r] && scopeRank[r] > 0) })
}

// Caller is who is making the current call. The request id it runs under
// is carried by the context beside it (WithRequestID), and read by the log
// handler, the audit trail and every outgoing provider call.
type Caller struct {
	// Actor names the caller in the audit trail: a token's name, or
	// "cli:<user>" for commands that work on the database directly.
	Actor string
	// Scope is the caller's token scope.
	Scope Scope
	// TokenID is the id of the caller's token; empty for work that no token
	// asked for (background jobs, commands on the database).
	TokenID string
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller carried by ctx, or the zero Caller.
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the correlation id of the call: the
// REST API's and the console's X-Request-ID, or "job-<id>" for background
// work. Logs, audit events and the calls providers make to apps (the
// X-Request-ID header, the exec request) carry it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// ForJob returns ctx as a background job acts: as actor, under a request
// id that names job jobID, so each of its audit events says what did it.
func ForJob(ctx context.Context, actor string, jobID int64) context.Context {
	return WithRequestID(WithCaller(ctx, Caller{Actor: actor}), JobRequestID(jobID))
}

// JobRequestID is the request id ForJob gives job jobID's work, so what
// reports a job's failure names it as its audit events do.
func JobRequestID(jobID int64) string { return "job-" + strconv.FormatInt(jobID, 10) }

// RequestID returns the correlation id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
