package console

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
)

// page is what every page template gets: who is signed in, the flash
// message, the page's own data, and whether the database was unreachable.
type page struct {
	Title string
	// Nav names the navigation entry of the page.
	Nav     string
	Session *session
	Flash   *flash
	Data    any
	// Down shows the banner that the database is unreachable.
	Down bool
}

// flash is a message at the top of a page: ok, warn or error.
type flash struct {
	Kind string
	Text string
}

// needs is the least scope of each action, as the REST API requires it of
// the same call: resets, retirements, syncs and audits are admin's;
// releasing a lease (one's own; an admin any) and reading a password are
// runner's. A reader sees no action.
var needs = map[string]access.Scope{
	"reset": access.ScopeAdmin, "retire": access.ScopeAdmin, "sync": access.ScopeAdmin, "audit": access.ScopeAdmin,
	"release": access.ScopeRunner, "password": access.ScopeRunner,
	// compare asks every app for the account's state now and shows its
	// values beside the baseline's: an app's rows may hold what a reader
	// must not see, so it is admin-only, as GET /v1/snapshots/diff is.
	"compare": access.ScopeAdmin,
	// message opens a message: its codes, links and bodies are what a
	// test signs in with, so the console shows them to an admin alone
	// (package inbox would open them to a runner too; a runner's test
	// reads them over REST). Any session sees the list of an account's
	// messages: time, sender and the subject with its codes redacted.
	"message": access.ScopeAdmin,
}

// Can reports whether the signed-in token may take action (a key of needs).
func (p *page) Can(action string) bool {
	need, ok := needs[action]
	return ok && p.Session != nil && p.Session.Scope.Allows(need)
}

// CSRF is the session's anti-forgery token, for forms and hx-headers.
func (p *page) CSRF() string {
	if p.Session == nil {
		return ""
	}
	return p.Session.CSRF
}

// render executes the template name into a buffer, then writes it with
// status: a template that fails writes nothing half-done.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := c.views.execute(&buf, name, p); err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "rendering a console page", slog.String("template", name), slog.Any("error", err))
		c.report(r, fmt.Errorf("rendering the console's %s template: %w", name, err))
		http.Error(w, "internal error (request id "+access.RequestID(r.Context())+")", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail is the one place where an error becomes a console response: the
// error page with the error's safe message and status; for an unreachable
// database, the banner that polls until it answers again; for anything
// internal, a generic message with the request id (the error is logged,
// and every 500 reported to error tracking). An htmx request gets the
// fragment alone.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	code := understudy.ErrorCode(err)
	status := understudy.ErrorStatusCode(code)
	msg := safeMessage(err)
	p := &page{Title: http.StatusText(status), Session: s}
	switch code {
	case understudy.EUNAVAILABLE:
		p.Title, p.Down = "Database unreachable", true
		msg = "The database is unreachable; this page refreshes by itself once it answers."
	case understudy.EINVALID, understudy.EMALFORMED:
		// The message with each bad field and what is wrong with it.
		if e, ok := errors.AsType[*understudy.Error](err); ok {
			msg = e.Error()
		}
	case understudy.EINTERNAL:
		c.cfg.Logger.ErrorContext(r.Context(), "console request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
		msg = "Something went wrong on the server (request id " + access.RequestID(r.Context()) + "); it was logged."
	}
	if status == http.StatusInternalServerError {
		c.report(r, err)
	}
	p.Flash = &flash{Kind: "error", Text: msg}
	if r.Header.Get("HX-Request") != "" {
		c.render(w, r, status, "fragment-message", p)
		return
	}
	c.render(w, r, status, "error", p)
}

// safeMessage is the message of err that may be shown, with what is wrong
// with each field of an invalid input ("invalid filter (since: must be …)").
func safeMessage(err error) string {
	if e, ok := errors.AsType[*understudy.Error](err); ok {
		return e.Error()
	}
	return understudy.ErrorMessage(err)
}

// refuse answers 403 with msg: a POST without the anti-forgery token, or
// an action the session's scope does not allow.
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, s *session, msg string) {
	c.fail(w, r, s, understudy.Errorf(understudy.EFORBIDDEN, "%s", msg))
}

// notFound answers a path the console does not have.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.fail(w, r, nil, understudy.Errorf(understudy.ENOTFOUND, "The console has no page at %s.", r.URL.Path))
}

// signInFailed says why a token was not accepted, with no session.
func (c *Console) signInFailed(w http.ResponseWriter, r *http.Request, err error) {
	if understudy.ErrorCode(err) != understudy.EUNAUTHORIZED {
		c.fail(w, r, nil, err)
		return
	}
	c.showSignIn(w, r, http.StatusUnauthorized, &flash{Kind: "error",
		Text: "That token is not valid, or it was revoked. Paste a token of scope admin, runner or reader " +
			"(an admin makes one with: understudy tokens create --name NAME --scope reader)."})
}

// pageFor starts the page of a signed-in session.
func pageFor(s session, title, nav string) *page {
	return &page{Title: title, Nav: nav, Session: &s}
}

// since is how long ago t was, relative to now, in words.
func since(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < 45*time.Second:
		return "just now"
	case d < 90*time.Minute:
		s = plural(int(d.Round(time.Minute)/time.Minute), "minute")
	case d < 36*time.Hour:
		s = plural(int(d.Round(time.Hour)/time.Hour), "hour")
	default:
		s = plural(int(d.Round(24*time.Hour)/(24*time.Hour)), "day")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return itoa(n) + " " + unit + "s"
}
