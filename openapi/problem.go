package openapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/providers"
)

// statusOf maps each error code to its HTTP status: the one table.
var statusOf = map[string]int{
	understudy.EINVALID:       http.StatusUnprocessableEntity,
	understudy.EMALFORMED:     http.StatusBadRequest,
	understudy.ENOTFOUND:      http.StatusNotFound,
	understudy.ECONFLICT:      http.StatusConflict,
	understudy.EUNAUTHORIZED:  http.StatusUnauthorized,
	understudy.EFORBIDDEN:     http.StatusForbidden,
	understudy.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	understudy.ENOTACCEPTABLE: http.StatusNotAcceptable,
	understudy.EUNAVAILABLE:   http.StatusServiceUnavailable,
	understudy.EBADGATEWAY:    http.StatusBadGateway,
	understudy.EINTERNAL:      http.StatusInternalServerError,
}

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
	if c.Response().Committed {
		return
	}
	ctx := c.Request().Context()
	p := Problem{Type: "about:blank"}
	var code string
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
		p.Status, p.Detail = statusOf[code], understudy.ErrorMessage(err)
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
	}
	if p.Status >= 500 {
		s.logger.ErrorContext(ctx, "request failed", slog.String("code", code), slog.Any("error", err))
	}
	p.Title = http.StatusText(p.Status)
	p.Code = new(ProblemCode(code))
	p.Instance = new(c.Request().URL.Path)
	p.RequestId = new(providers.RequestID(ctx))
	c.Response().Header().Set(echo.HeaderContentType, ProblemContentType)
	if p.Status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="understudy"`)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	c.Response().WriteHeader(p.Status)
	_ = jsonEncode(c.Response(), p)
}

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }
