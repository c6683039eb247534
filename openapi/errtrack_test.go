package openapi

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/errtrack"
	"github.com/understudy-dev/understudy/internal/sentrytest"
)

// Through the API's own middleware (request id, logging, panic recovery,
// the one error handler), a request answered 500 and a handler's panic
// are reported, tagged with the request id the client saw and the lease
// of the path, scrubbed; a 4xx, a 503 and an unknown route are not.
func TestUnexpectedErrorsAreReported(t *testing.T) {
	t.Parallel()
	f := sentrytest.New(t)
	rep, err := errtrack.New(errtrack.Config{DSN: f.DSN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rep.Close)
	token := access.TokenPrefix + rand.Text() + rand.Text()
	s := &Server{logger: slog.New(slog.NewTextHandler(io.Discard, nil)), errors: rep,
		metrics: newMetrics(prometheus.NewRegistry(), nil, nil, nil, nil, nil)}
	e := echo.New()
	e.HTTPErrorHandler = s.handleError
	e.Pre(requestID)
	e.Use(s.observe, recoverPanic)
	e.GET("/v1/leases/:lease_id", func(echo.Context) error { panic("lease read with " + token) })
	e.POST("/v1/leases/:lease_id/release", func(echo.Context) error { return errors.New("the pool is closed (token " + token + ")") })
	e.POST("/v1/leases/:lease_id/renew", func(echo.Context) error { return understudy.Errorf(understudy.ENOTFOUND, "no lease") })
	e.GET("/v1/accounts", func(echo.Context) error { return understudy.Errorf(understudy.EUNAVAILABLE, "the database is down") })
	do := func(method, path string) (int, string) {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Code, rec.Header().Get(HeaderRequestID)
	}
	// What is not reported comes first: the events are sent in order, so
	// once the last reported one has arrived, any earlier one would have.
	for _, c := range []struct {
		method, path string
		status       int
	}{{"POST", "/v1/leases/l-1/renew", 404}, {"GET", "/v1/accounts", 503}, {"GET", "/v1/nowhere", 404}} {
		if status, _ := do(c.method, c.path); status != c.status {
			t.Fatalf("%s %s: %d, want %d", c.method, c.path, status, c.status)
		}
	}
	failed, failedID := do("POST", "/v1/leases/l-2/release")
	panicked, panickedID := do("GET", "/v1/leases/l-3")
	if failed != 500 || panicked != 500 {
		t.Fatalf("statuses %d and %d, want 500", failed, panicked)
	}
	events := f.WaitEvents(t, 2)
	if !rep.Flush(context.Background()) || len(f.Events()) != 2 {
		t.Fatalf("%d events, want the 500 and the panic alone", len(f.Events()))
	}
	fe, pe := events[0], events[1]
	if fe.Tags["request_id"] != failedID || fe.Tags["lease_id"] != "l-2" || fe.Tags["route"] != "POST /v1/leases/:lease_id/release" ||
		fe.Tags["source"] != "api" || fe.Level != "error" || fe.Request == nil || fe.Request.Headers["Authorization"] != "" {
		t.Errorf("500: tags %v, level %s, request %+v", fe.Tags, fe.Level, fe.Request)
	}
	if pe.Tags["request_id"] != panickedID || pe.Tags["lease_id"] != "l-3" || pe.Level != "fatal" ||
		pe.Exceptions[0].Type != "panic" || pe.Exceptions[0].Value != "lease read with [redacted]" {
		t.Errorf("panic: tags %v, level %s, exceptions %+v", pe.Tags, pe.Level, pe.Exceptions)
	}
	for _, body := range f.Bodies() {
		if strings.Contains(string(body), token) || strings.Contains(string(body), token[len(access.TokenPrefix):]) {
			t.Error("the token reached Sentry")
		}
	}
}
