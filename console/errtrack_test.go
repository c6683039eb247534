package console

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/errtrack"
	"github.com/understudy-dev/understudy/internal/sentrytest"
)

// A console request answered 500 and a handler's panic are reported,
// tagged with the request id the browser saw, the route's pattern and a
// lease page's lease; the panic is answered with the error page. A 4xx is
// not reported, and a panic after the answer began aborts the connection,
// reported too.
func TestConsoleReportsUnexpectedErrors(t *testing.T) {
	t.Parallel()
	f := sentrytest.New(t)
	rep, err := errtrack.New(errtrack.Config{DSN: f.DSN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rep.Close)
	v, err := newViews(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	token := access.TokenPrefix + rand.Text() + rand.Text()
	c := &Console{cfg: Config{Errors: rep}.WithDefaults(), views: v, mux: http.NewServeMux()}
	c.mux.HandleFunc("GET /ui/sync", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, understudy.Errorf(understudy.ENOTFOUND, "no such run"))
	})
	c.mux.HandleFunc("GET /ui/accounts", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, errors.New("listing accounts with "+token))
	})
	c.mux.HandleFunc("GET /ui/leases/{id}", func(http.ResponseWriter, *http.Request) { panic("lease page with " + token) })
	c.mux.HandleFunc("GET /ui/audit", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		panic("after the answer began")
	})
	do := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
		c.ServeHTTP(rec, req)
		return rec
	}
	if rec := do("/ui/sync"); rec.Code != http.StatusNotFound {
		t.Fatalf("404 page: %d", rec.Code)
	}
	failed := do("/ui/accounts")
	panicked := do("/ui/leases/0b6e4c1e-6f0a-4d7e-9b8e-3f1d2c3b4a59")
	if failed.Code != 500 || panicked.Code != 500 || !strings.Contains(panicked.Body.String(), panicked.Header().Get("X-Request-ID")) {
		t.Fatalf("statuses %d and %d; the panic's page: %.200s", failed.Code, panicked.Code, panicked.Body.String())
	}
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("a panic after the answer began: recovered %v, want http.ErrAbortHandler", v)
			}
		}()
		do("/ui/audit")
	}()
	events := f.WaitEvents(t, 3)
	if !rep.Flush(context.Background()) || len(f.Events()) != 3 {
		t.Fatalf("%d events, want 3", len(f.Events()))
	}
	fe, pe, le := events[0], events[1], events[2]
	if fe.Tags["source"] != "console" || fe.Tags["route"] != "GET /ui/accounts" || fe.Tags["request_id"] != failed.Header().Get("X-Request-ID") ||
		fe.Level != "error" || fe.Exceptions[len(fe.Exceptions)-1].Value != "listing accounts with [redacted]" {
		t.Errorf("500: tags %v, exceptions %+v", fe.Tags, fe.Exceptions)
	}
	if pe.Tags["route"] != "GET /ui/leases/{id}" || pe.Tags["lease_id"] != "0b6e4c1e-6f0a-4d7e-9b8e-3f1d2c3b4a59" || pe.Level != "fatal" ||
		pe.Exceptions[0].Value != "lease page with [redacted]" {
		t.Errorf("panic: tags %v, level %s, exceptions %+v", pe.Tags, pe.Level, pe.Exceptions)
	}
	if le.Tags["route"] != "GET /ui/audit" || le.Exceptions[0].Value != "after the answer began" {
		t.Errorf("late panic: tags %v, exceptions %+v", le.Tags, le.Exceptions)
	}
	for _, ev := range events {
		if ev.Request == nil || ev.Request.Cookies != "" || ev.Request.Headers["Cookie"] != "" {
			t.Errorf("the session cookie was sent: %+v", ev.Request)
		}
	}
	for _, body := range f.Bodies() {
		if strings.Contains(string(body), token[len(access.TokenPrefix):]) {
			t.Error("the token reached Sentry")
		}
	}
}
