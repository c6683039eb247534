package console

import (
	"log/slog"
	"net/http"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/errtrack"
)

// report sends err, the unexpected error a request is answered 500 with,
// to error tracking (Config.Errors), with the request, its id, its route
// and the lease of a lease's page.
func (c *Console) report(r *http.Request, err error) {
	if c.cfg.Errors == nil {
		return
	}
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	var lease string
	if r.Pattern == "GET /ui/leases/{id}" {
		lease = r.PathValue("id")
	}
	c.cfg.Errors.Report(r.Context(), err, errtrack.Scope{Source: "console", Route: route, RequestID: access.RequestID(r.Context()),
		LeaseID: lease, Request: r})
}

// recoverPanic, deferred around a request, answers a handler's panic as
// an internal error (logged and reported by fail), so one bad request
// cannot drop the connection; when the handler had begun its answer, the
// panic is reported and the connection aborted, as net/http would.
func (c *Console) recoverPanic(w *answering, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	err := errtrack.Recovered(v)
	if w.began {
		c.cfg.Logger.ErrorContext(r.Context(), "console request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
		c.report(r, err)
		panic(http.ErrAbortHandler)
	}
	c.fail(w, r, nil, err)
}

// answering is a ResponseWriter that knows whether its answer began.
type answering struct {
	http.ResponseWriter
	began bool
}

func (a *answering) WriteHeader(code int) {
	a.began = true
	a.ResponseWriter.WriteHeader(code)
}

func (a *answering) Write(b []byte) (int, error) {
	a.began = true
	return a.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (a *answering) Unwrap() http.ResponseWriter { return a.ResponseWriter }
