package openapi

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/errtrack"
)

// HeaderRequestID carries the correlation id of a request.
const HeaderRequestID = "X-Request-ID"

// requestIDKey is HeaderRequestID in canonical form: indexing the header
// maps with it directly spares canonicalizing (and allocating) the key twice
// per request, as Header.Get and Header.Set would.
var requestIDKey = textproto.CanonicalMIMEHeaderKey(HeaderRequestID)

// validRequestID reports whether a client's X-Request-ID is sane: 1 to 128
// of A-Z a-z 0-9 . _ : - (a loop rather than a regexp: every request pays it).
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == ':', b == '-':
		default:
			return false
		}
	}
	return true
}

// requestID accepts a sane X-Request-ID or generates one, echoes it, and
// puts it in the request's context, where logs and audit records find it.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		var id string
		if v := req.Header[requestIDKey]; len(v) > 0 {
			id = v[0]
		}
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Response().Header()[requestIDKey] = []string{id}
		ctx := access.WithRequestID(req.Context(), id)
		c.SetRequest(req.WithContext(ctx))
		return next(c)
	}
}

// idRandom buffers crypto/rand for the request ids the server makes: one
// read of the system's randomness (a getrandom(2) call, in the profile of
// GET /v1/accounts/{id}) per 16 ids rather than per request.
var idRandom = sync.Pool{New: func() any { return bufio.NewReaderSize(rand.Reader, 16*16) }}

// newRequestID returns a random (version 4) UUID, as uuid.NewString does.
func newRequestID() string {
	r := idRandom.Get().(*bufio.Reader)
	id, err := uuid.NewRandomFromReader(r)
	if err != nil { // a reader that failed once keeps failing: leave it
		return uuid.NewString()
	}
	idRandom.Put(r)
	return id.String()
}

// selfBounded are the routes (method and echo path) whose handlers set
// their own bound, because the caller may ask them to wait: acquiring a
// lease waits for a free account, an apply for leases to end, and a read
// of a lease's inbox for its mail; an artifact's upload and download move
// up to 10 MiB.
var selfBounded = map[[2]string]bool{
	{http.MethodPost, "/v1/leases"}:                   true,
	{http.MethodPost, "/v1/plans/:plan_id/apply"}:     true,
	{http.MethodGet, "/v1/leases/:lease_id/messages"}: true,
	{http.MethodGet, "/v1/leases/:lease_id/code"}:     true,
	artifactRoute:    true,
	artifactGetRoute: true,
}

// deadline bounds the time a request may spend, so a database that does not
// answer turns into a quick 503 instead of a hung client; the routes in
// selfBounded are bounded by their handlers.
func deadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if selfBounded[[2]string{c.Request().Method, c.Path()}] {
				return next(c)
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// observe logs one line per request and records the request metrics.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		// The wall clock's monotonic reading measures how long the request
		// took, for the log line and the metrics alone: it decides nothing,
		// so it is not the domain's injected clock.
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the problem now, so the status below is the real one
		}
		status := c.Response().Status
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		s.metrics.observe(c.Request().Method, route, status, elapsed)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		// The attributes are built only for a line the handler will write
		// (LogAttrs would drop it after they were built).
		if ctx := c.Request().Context(); s.logger.Enabled(ctx, level) {
			s.logger.LogAttrs(ctx, level, "request",
				slog.String("method", c.Request().Method), slog.String("route", route),
				slog.Int("status", status), slog.Duration("duration", elapsed),
				slog.String("actor", access.CallerFrom(ctx).Actor), slog.String("client", clientAddr(c.Request())))
		}
		return nil
	}
}

// limitBody refuses bodies over max bytes with 413, whether the client
// declared the length or not; the routes (method and echo path) of own
// have a limit of their own instead.
func limitBody(max int64, own map[[2]string]int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			max := max
			if n, ok := own[[2]string{r.Method, c.Path()}]; ok {
				max = n
			}
			if r.ContentLength > max {
				return tooLarge(max)
			}
			if r.Body != http.NoBody { // nothing to limit (a GET): no reader to allocate
				r.Body = http.MaxBytesReader(c.Response(), r.Body, max)
			}
			return next(c)
		}
	}
}

func tooLarge(max int64) error {
	return understudy.Errorf(understudy.ETOOLARGE, "the request body is larger than %s bytes", strconv.FormatInt(max, 10))
}

// authenticate reads the bearer token of a request, if any.
func (s *Server) authenticate(ctx context.Context, header string) (access.Token, error) {
	scheme, secret, ok := strings.Cut(header, " ")
	if header == "" {
		return access.Token{}, understudy.Errorf(understudy.EUNAUTHORIZED, "this call needs an Authorization: Bearer <token> header")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return access.Token{}, understudy.Errorf(understudy.EUNAUTHORIZED, "the Authorization header must be \"Bearer <token>\"")
	}
	return s.tokens.Authenticate(ctx, strings.TrimSpace(secret))
}

// tooLargeFrom is the 413 of err when it comes from reading past a body's
// limit, naming the limit that the reader of limitBody enforced (the
// route's own), and nil for any other error.
func tooLargeFrom(err error) error {
	if mb, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tooLarge(mb.Limit)
	}
	return nil
}

// recoverPanic turns a panic in a handler into an internal error (logged
// with its stack, and reported with the frames that panicked, by
// handleError), so one bad request cannot drop the connection or the
// process.
func recoverPanic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = errtrack.Recovered(r)
			}
		}()
		return next(c)
	}
}
