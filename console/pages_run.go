package console

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/tracing"
)

// artifactRoute is the download of a run's artifact, which streams up to
// 10 MiB to a client that may be slow: it has artifactTransfer beyond the
// request's time bound, as the REST download has.
const artifactRoute = "GET /ui/runs/{lease_id}/artifacts/{name}"

// artifactTransfer is the time a download of one artifact may take
// beyond the request timeout: 10 MiB at 200 KiB/s.
const artifactTransfer = time.Minute

// Bounds of a run's page.
const (
	// runMessages is how many messages of the run, the newest, it lists.
	runMessages = 50
	// runEventLimit bounds the audit events read for the lease, and for
	// each of its requests.
	runEventLimit = 100
	// runRequests bounds the requests whose events are read.
	runRequests = 20
)

// traceIDField is what TraceURL's template holds for the trace's id.
const traceIDField = "{trace_id}"

// runView is one run as its page shows it. Each section is a field filled
// by a reader of its own (runSections), so that a section is added with
// a field, a reader and its part of the template.
type runView struct {
	Run   run.Run
	Lease lease.Lease
	// TraceID is the trace of the lease's requests (from its
	// traceparent), "" when it has none; TraceURL links to it in the
	// tracing backend, "" without Config.TraceURL.
	TraceID, TraceURL string
	Artifacts         []run.Artifact
	// Messages are those the account received while the lease was open,
	// the newest runMessages; Bodies says they carry their codes and
	// links (an admin's session), as the account's page decides.
	Messages []inbox.Message
	Bodies   bool
	// Events are the audit events of the lease and of its requests;
	// EventsCut says a bound left some out.
	Events    []auditEvent
	EventsCut bool
	// Capture is the account's state at the run's end, when the run
	// failed, errored or was abandoned (nil otherwise); Sealed says it is
	// kept but the session may not read it (it is the account's data: an
	// admin's, or the lease's own token's).
	Capture *run.Capture
	Sealed  bool
}

// Mail is the messages of the run, as the template "inbox" lists them.
func (v runView) Mail() mailList { return mailList{v.Run.AccountID, v.Messages, v.Bodies} }

// runSection reads one section of a run's page into v, for the session
// of p.
type runSection func(ctx context.Context, v *runView, p *page) error

// runSections are the readers of a run's page, in the order it shows
// their sections.
func (c *Console) runSections() []runSection {
	return []runSection{c.runCapture, c.runArtifacts, c.runMessages, c.runEvents}
}

// runPage shows one run: how it ended and why, what it named (flow, CI
// run, version), the deployment it ran against, its lease and account,
// its trace, its artifacts, the mail its account received meanwhile and
// the audit events of its requests.
func (c *Console) runPage(w http.ResponseWriter, r *http.Request, s session) {
	ctx, id := r.Context(), r.PathValue("lease_id")
	rn, err := c.cfg.Runs.Get(ctx, id)
	var l lease.Lease
	if err == nil {
		l, err = c.cfg.Leases.Get(ctx, id)
	}
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Run of "+flowName(rn.Flow)+" in "+rn.Environment+"/"+rn.Role, "runs")
	v := runView{Run: rn, Lease: l, TraceID: tracing.TraceID(l.Traceparent)}
	v.TraceURL = traceLink(c.cfg.TraceURL, v.TraceID)
	for _, read := range c.runSections() {
		if err := read(ctx, &v, p); err != nil {
			c.fail(w, r, &s, err)
			return
		}
	}
	p.Data = v
	c.render(w, r, http.StatusOK, "run", p)
}

// runCapture reads the account's state at the run's end, for an admin's
// session or the lease's own token's (as the REST API's capture does);
// another session is told only that it is kept.
func (c *Console) runCapture(ctx context.Context, v *runView, _ *page) error {
	cp, found, err := c.cfg.Captures.Get(ctx, v.Run.LeaseID)
	if err != nil || !found {
		return err
	}
	if !c.cfg.Leases.MayUse(ctx, v.Lease) {
		v.Sealed, cp.Apps = true, nil
	}
	v.Capture = &cp
	return nil
}

// captureDownload sends one app's state at a failed run's end, as JSON,
// to the sessions runCapture shows it to: an attachment, never sniffed.
func (c *Console) captureDownload(w http.ResponseWriter, r *http.Request, s session) {
	ctx, id, app := r.Context(), r.PathValue("lease_id"), r.PathValue("app")
	// Owned audits a refusal (lease.capture_read_denied), as the REST
	// door's does.
	if _, err := c.cfg.Leases.Owned(ctx, id, "capture_read"); err != nil {
		c.fail(w, r, &s, err)
		return
	}
	b, err := c.cfg.Captures.State(ctx, id, app)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "state-" + app + "-" + id + ".json"}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// runArtifacts reads the run's artifacts, by name.
func (c *Console) runArtifacts(ctx context.Context, v *runView, _ *page) (err error) {
	v.Artifacts, err = c.cfg.Artifacts.List(ctx, v.Run.LeaseID)
	return err
}

// runMessages reads the messages the run's account received while its
// lease was open (from its acquisition to its end), as the REST API's
// lease inbox does: with their codes and links for an admin's session.
func (c *Console) runMessages(ctx context.Context, v *runView, p *page) (err error) {
	v.Bodies = p.Can("message")
	f := inbox.Filter{AccountID: v.Run.AccountID, Since: v.Run.AcquiredAt, Limit: runMessages, Bodies: v.Bodies, SkipTexts: true}
	if v.Run.EndedAt != nil {
		f.Until = *v.Run.EndedAt
	}
	v.Messages, err = c.cfg.Inbox.List(ctx, f)
	return err
}

// runEvents reads the audit events of the run's lease (those whose target
// it is), then those of the requests they were made in (an acquisition's
// reset, an upload), leaving out another lease's: newest first, each
// read bounded by runEventLimit and the requests by runRequests.
func (c *Console) runEvents(ctx context.Context, v *runView, _ *page) error {
	id := v.Run.LeaseID
	own, err := c.cfg.Audit.List(ctx, access.AuditFilter{TargetType: "lease", TargetID: id, Limit: runEventLimit})
	if err != nil {
		return err
	}
	v.EventsCut = len(own) == runEventLimit
	events, seen := own, map[int64]bool{}
	var requests []string
	for _, e := range own {
		seen[e.ID] = true
		if e.RequestID != "" && !slices.Contains(requests, e.RequestID) {
			requests = append(requests, e.RequestID)
		}
	}
	if len(requests) > runRequests {
		requests, v.EventsCut = requests[:runRequests], true
	}
	for _, rid := range requests {
		more, err := c.cfg.Audit.List(ctx, access.AuditFilter{RequestID: rid, Limit: runEventLimit})
		if err != nil {
			return err
		}
		v.EventsCut = v.EventsCut || len(more) == runEventLimit
		for _, e := range more {
			if !seen[e.ID] && (e.TargetType != "lease" || e.TargetID == id) {
				seen[e.ID] = true
				events = append(events, e)
			}
		}
	}
	slices.SortFunc(events, func(a, b access.Event) int { return cmp.Compare(b.ID, a.ID) })
	v.Events, err = c.auditEvents(ctx, events)
	return err
}

// artifactDownload sends an artifact of a run through run.Artifacts, with
// the REST download's headers (run.SetDownloadHeaders): always an
// attachment, never sniffed, sandboxed, so no uploaded file can run in the
// console's origin.
func (c *Console) artifactDownload(w http.ResponseWriter, r *http.Request, s session) {
	ctx, id, name := r.Context(), r.PathValue("lease_id"), r.PathValue("name")
	if err := run.ValidateArtifactName(name); err != nil {
		c.fail(w, r, &s, err)
		return
	}
	if _, err := c.cfg.Leases.Get(ctx, id); err != nil {
		c.fail(w, r, &s, err)
		return
	}
	art, body, err := c.cfg.Artifacts.Open(ctx, id, name)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	defer body.Close()
	run.SetDownloadHeaders(w.Header(), art)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, body); err != nil {
		// The status is sent: the client sees a short body, and the log
		// line says why.
		c.cfg.Logger.WarnContext(ctx, "an artifact's download was cut short", slog.String("lease_id", id), slog.String("err", err.Error()))
	}
}

// CheckTraceURL checks a template of the link to a trace (Config.TraceURL):
// "" (no link), or an absolute http or https URL with a host and no
// credentials, holding {trace_id} where the trace's id goes.
func CheckTraceURL(template string) error {
	if template == "" {
		return nil
	}
	if !strings.Contains(template, traceIDField) {
		return errors.New("must hold " + traceIDField + " where the trace's id goes, such as https://jaeger.example.com/trace/" + traceIDField)
	}
	if !webURL(strings.ReplaceAll(template, traceIDField, "0af7651916cd43dd8448eb211c80319c")) {
		return errors.New("must be an http or https URL with a host and no user name or password, such as https://jaeger.example.com/trace/" + traceIDField)
	}
	return nil
}

// traceLink is the link to trace id by template, or "" without either.
// The id is 32 hex digits (tracing.TraceID), so it needs no escaping.
func traceLink(template, id string) string {
	if template == "" || id == "" {
		return ""
	}
	return strings.ReplaceAll(template, traceIDField, id)
}

// webURL reports whether s is an absolute http or https URL with a host
// and no credentials: only those are links on a run's page (a link a
// runner sent, a CI job's page), anything else is shown as text.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}
