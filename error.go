// Package understudy holds what every part of Understudy shares: the error
// contract. Domain packages (accounts, access, snapshot, tagging) return
// *Error for everything a caller may be told; any other error is internal and
// is logged with the request id, never shown.
package understudy

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Error codes. Each maps to one HTTP status through codes (the REST API and
// the console answer it alike) and to one CLI exit code.
const (
	EINVALID       = "invalid"         // the input is well-formed but not acceptable (422)
	EMALFORMED     = "malformed"       // the input cannot be read (400)
	ENOTFOUND      = "not_found"       // the named thing does not exist (404)
	ECONFLICT      = "conflict"        // the write clashes with the current state (409)
	EUNAUTHORIZED  = "unauthorized"    // no or an unknown token (401)
	EFORBIDDEN     = "forbidden"       // the token's scope does not allow the call (403)
	ETOOLARGE      = "too_large"       // the request body is over the limit (413)
	ENOTACCEPTABLE = "not_acceptable"  // no representation the Accept header allows (406)
	EUNAVAILABLE   = "unavailable"     // a dependency (the database, an app) is down or slow; try again (503)
	EBADGATEWAY    = "bad_gateway"     // an app answered outside its provider's contract (502)
	ETIMEOUT       = "gateway_timeout" // a vendor or an app did not answer within the request's time (504)
	EINTERNAL      = "internal"        // anything else; details are logged, not shown (500)
)

// codes maps each error code to its HTTP status: the one table, read by the
// REST API's problem documents and the console's error pages alike. The
// statuses are those openapi/openapi.yaml's responses name for each code.
var codes = map[string]int{
	EINVALID:       http.StatusUnprocessableEntity,
	EMALFORMED:     http.StatusBadRequest,
	ENOTFOUND:      http.StatusNotFound,
	ECONFLICT:      http.StatusConflict,
	EUNAUTHORIZED:  http.StatusUnauthorized,
	EFORBIDDEN:     http.StatusForbidden,
	ETOOLARGE:      http.StatusRequestEntityTooLarge,
	ENOTACCEPTABLE: http.StatusNotAcceptable,
	EUNAVAILABLE:   http.StatusServiceUnavailable,
	EBADGATEWAY:    http.StatusBadGateway,
	ETIMEOUT:       http.StatusGatewayTimeout,
	EINTERNAL:      http.StatusInternalServerError,
}

// ErrorStatusCode returns the HTTP status of an error code; a code that is
// not in the table (an empty one included) answers 500.
func ErrorStatusCode(code string) int {
	if status, ok := codes[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// FieldError names one invalid field by its JSON name.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Error is the one error type that carries a message safe to show to a
// caller. Fields lists every invalid field at once for EINVALID/EMALFORMED.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	// RetryAfter, when set, tells the caller when trying again may work
	// (the Retry-After header of a 409 or 503).
	RetryAfter time.Duration
	// Type, when set, names the kind of problem more precisely than Code
	// (not-synthetic, not-owned…): the problem document's type is
	// ProblemTypePrefix + Type.
	Type string
}

// ProblemTypePrefix starts the type URI of a problem whose Error has a Type.
const ProblemTypePrefix = "urn:understudy:problem:"

// Error implements error.
func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Detail
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error listing fields, sorted by field name so
// that messages are stable.
func Invalid(message string, fields ...FieldError) *Error {
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].Field < fields[j].Field })
	return &Error{Code: EINVALID, Message: message, Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the safe message of err: the message of the first
// *Error in its chain, or a generic text for internal errors.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "internal error"
}
