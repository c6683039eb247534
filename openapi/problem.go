package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/errtrack"
)

// codeOfStatus maps the statuses echo itself produces (unknown route, wrong
// method) back to codes.
var codeOfStatus = map[int]string{
	http.StatusNotFound:              understudy.ENOTFOUND,
	http.StatusMethodNotAllowed:      understudy.EMALFORMED,
	http.StatusBadRequest:            understudy.EMALFORMED,
	http.StatusRequestEntityTooLarge: understudy.ETOOLARGE,
	http.StatusUnsupportedMediaType:  understudy.EMALFORMED,
}

// ProblemContentType is the media type of error responses (RFC 9457).
const ProblemContentType = "application/problem+json"

// handleError is echo's HTTPErrorHandler: the one place where an error
// becomes an HTTP response. Only *understudy.Error messages reach the client;
// anything else is logged with the request id and answered with a generic 500.
func (s *Server) handleError(err error, c echo.Context) {
	if s.errors != nil && isInternal(err) {
		s.report(c, err)
	}
	if c.Response().Committed {
		return
	}
	ctx := c.Request().Context()
	p := Problem{Type: "about:blank"}
	var code string
	var members map[string]any
	if he, ok := errors.AsType[*echo.HTTPError](err); ok {
		code = codeOfStatus[he.Code]
		if code == "" {
			code = understudy.EINTERNAL
		}
		p.Status, p.Detail = he.Code, http.StatusText(he.Code)
		if msg, ok := he.Message.(string); ok && he.Code < 500 {
			p.Detail = msg
		}
	} else {
		code = understudy.ErrorCode(err)
		p.Status, p.Detail = understudy.ErrorStatusCode(code), understudy.ErrorMessage(err)
		if ue, ok := errors.AsType[*understudy.Error](err); ok {
			if ue.Type != "" {
				p.Type = understudy.ProblemTypePrefix + ue.Type
			}
			if ue.RetryAfter > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ue.RetryAfter.Seconds()))))
			}
			if len(ue.Fields) > 0 {
				fields := make([]FieldError, len(ue.Fields))
				for i, f := range ue.Fields {
					fields[i] = FieldError{Field: f.Field, Detail: f.Detail}
				}
				p.Errors = &fields
			}
		}
		if xe, ok := errors.AsType[*extendedError](err); ok {
			members = xe.members
		}
	}
	if p.Status >= 500 {
		s.logger.ErrorContext(ctx, "request failed", slog.String("code", code), slog.Any("error", err))
	}
	p.Title = http.StatusText(p.Status)
	p.Code = new(ProblemCode(code))
	p.Instance = new(c.Request().URL.Path)
	p.RequestId = new(access.RequestID(ctx))
	c.Response().Header().Set(echo.HeaderContentType, ProblemContentType)
	if p.Status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="understudy"`)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	body, err := problemBody(p, members)
	if err != nil {
		s.logger.ErrorContext(ctx, "encoding a problem's members", slog.Any("error", err))
	}
	c.Response().WriteHeader(p.Status)
	_ = jsonEncode(c.Response(), body)
}

// isInternal reports whether err is answered 500: an unexpected error,
// which is reported (Config.Errors), unlike every error with a status of
// its own.
func isInternal(err error) bool {
	if he, ok := errors.AsType[*echo.HTTPError](err); ok {
		return he.Code == http.StatusInternalServerError
	}
	return understudy.ErrorStatusCode(understudy.ErrorCode(err)) == http.StatusInternalServerError
}

// report sends err, a request's unexpected error, to error tracking with
// the request, its id, its route and the lease it concerns.
func (s *Server) report(c echo.Context, err error) {
	req := c.Request()
	s.errors.Report(req.Context(), err, errtrack.Scope{Source: "api", Route: req.Method + " " + c.Path(),
		RequestID: access.RequestID(req.Context()), LeaseID: c.Param("lease_id"), Request: req})
}

// extendedError is an error answered with extension members (RFC 9457
// section 3.2) beside the standard members of its problem document.
// openapi.yaml's Problem schema describes each member a handler may add.
type extendedError struct {
	error
	members map[string]any
}

func (e *extendedError) Unwrap() error { return e.error }

// withMembers returns err to be answered with members added to its problem
// document (encoded with encoding/json). A member never replaces a
// standard one of the same name.
func withMembers(err error, members map[string]any) error {
	return &extendedError{error: err, members: members}
}

// problemBody is p with members added, as one JSON object; p alone when
// there are none, or when a member cannot be encoded (the error says which).
func problemBody(p Problem, members map[string]any) (any, error) {
	if len(members) == 0 {
		return p, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return p, err
	}
	doc := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &doc); err != nil {
		return p, err
	}
	for name, v := range members {
		if _, standard := doc[name]; standard {
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return p, fmt.Errorf("problem member %s: %w", name, err)
		}
		doc[name] = raw
	}
	return doc, nil
}

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }
