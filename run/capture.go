package run

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/snapshot"
	"github.com/understudy-dev/understudy/tracing"
)

// CaptureStatus is where a run's capture is: pending (its account is
// held until it is done), captured (every app's state is kept) or failed
// (Reason says what failed; the apps that answered keep their state).
type CaptureStatus string

// Capture statuses.
const (
	CapturePending  CaptureStatus = "pending"
	CaptureCaptured CaptureStatus = "captured"
	CaptureFailed   CaptureStatus = "failed"
)

// The bounds of what a capture keeps of each app.
const (
	// MaxCaptureChanges is how many of an app's differences from the
	// baseline are kept (ChangesTotal counts them all).
	MaxCaptureChanges = 1000
	// MaxCaptureChangeBytes bounds the JSON of the changes kept for an
	// app: a change whose before or after is a large subtree stops the
	// list there.
	MaxCaptureChangeBytes = 1 << 20
	maxCaptureText        = 4096
)

// Captured reports whether a run that ends with outcome o has its
// account's state captured: failed, errored and abandoned runs do.
func Captured(o Outcome) bool { return o == Failed || o == Errored || o == Abandoned }

// Capture is the account's state at a failed run's end, in each of its
// apps, with its difference from the state the lease reset it to.
type Capture struct {
	LeaseID   string `json:"lease_id"`
	AccountID string `json:"account_id"`
	// State is the named state the lease reset the account to, which each
	// app's state is compared with.
	State       string        `json:"state"`
	Status      CaptureStatus `json:"status"`
	Reason      string        `json:"reason,omitempty"`
	RequestedAt time.Time     `json:"requested_at"`
	FinishedAt  *time.Time    `json:"finished_at,omitempty"`
	Apps        []CapturedApp `json:"apps"`
}

// CapturedApp is one app's part of a capture.
type CapturedApp struct {
	App   string `json:"app"`
	AppID string `json:"app_id"`
	// Hash is the hex SHA-256 of the app's canonical state at capture,
	// Size its length; "" and 0 when it could not be read (Error says why).
	Hash string `json:"hash,omitempty"`
	Size int64  `json:"size,omitempty"`
	// Baseline is the hex hash of the state compared with.
	Baseline string `json:"baseline_hash,omitempty"`
	// Changes are the differences from that state, path by path: at most
	// MaxCaptureChanges of the ChangesTotal.
	Changes      []snapshot.Change `json:"changes"`
	ChangesTotal int               `json:"changes_total"`
	Error        string            `json:"error,omitempty"`
}

// CaptureConfig configures Captures.
type CaptureConfig struct {
	// DB is the pool (or, in tests, a transaction). Required.
	DB pgdb.DB
	// Snapshots reads the apps' states and resets the account. Required.
	Snapshots *snapshot.Service
	// Jobs enqueues the capture jobs (an insert-only River client on DB's
	// pool will do: the server's workers run them). Required.
	Jobs *river.Client[pgx.Tx]
	// Logger receives what goes wrong in the background. Defaults to
	// discarding.
	Logger *slog.Logger
	// Deadline is how long an account is held for its capture at most: a
	// capture still pending after it (its job lost with its server, or
	// failing) is failed by the sweep, and the account freed. Defaults to
	// 5m.
	Deadline time.Duration
	// Now is the clock of the statements (coalesce($n, now())). Defaults
	// to the database's.
	Now func() time.Time
	// Tracing makes the captures' spans, each in its lease's trace.
	// Defaults to tracing.Local(), which exports nothing.
	Tracing *tracing.Provider
}

// WithDefaults returns c with its unset optional fields filled.
func (c CaptureConfig) WithDefaults() CaptureConfig {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	c.Deadline = cmp.Or(c.Deadline, 5*time.Minute)
	if c.Tracing == nil {
		c.Tracing = tracing.Local()
	}
	return c
}

// Validate names the first missing or bad field of c.
func (c CaptureConfig) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("run: CaptureConfig.DB is required")
	case c.Snapshots == nil:
		return errors.New("run: CaptureConfig.Snapshots is required")
	case c.Jobs == nil:
		return errors.New("run: CaptureConfig.Jobs is required")
	case c.Deadline < time.Minute:
		return errors.New("run: CaptureConfig.Deadline must be at least a minute")
	}
	return nil
}

// Captures keeps the account's state at the end of each failed, errored or
// abandoned run (capture_store.go holds its SQL).
type Captures struct {
	db        pgdb.DB
	snapshots *snapshot.Service
	jobs      *river.Client[pgx.Tx]
	logger    *slog.Logger
	deadline  time.Duration
	now       func() time.Time
	tracer    trace.Tracer
	inflight  sync.WaitGroup // the enqueues in flight (Enqueue)
}

// NewCaptures returns Captures, or an error naming the bad field of cfg.
func NewCaptures(cfg CaptureConfig) (*Captures, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Captures{db: cfg.DB, snapshots: cfg.Snapshots, jobs: cfg.Jobs, logger: cfg.Logger, deadline: cfg.Deadline, now: cfg.Now,
		tracer: cfg.Tracing.Tracer()}, nil
}

// dbNow is the statements' now: the injected clock's, or nil (the database's).
func (c *Captures) dbNow() *time.Time {
	if c.now == nil {
		return nil
	}
	return new(c.now())
}

// Deadline is how long an account is held for its capture at most.
func (c *Captures) Deadline() time.Duration { return c.deadline }

// Enqueue enqueues the capture job of each run whose capture its
// lease's end queued (QueueCapture), once that end has committed: each
// names its lease, and the lease's trace context, whose trace the
// capture's span joins. It returns at once: the insert runs on a
// goroutine of its own, off the release's path (Flush waits for it), and
// a failure is logged, not returned: the lease has ended all the same,
// and the sweep enqueues again the captures still pending after
// requeueAfter (a lease's job is enqueued once while it waits or runs).
func (c *Captures) Enqueue(ctx context.Context, runs ...CaptureArgs) {
	if len(runs) == 0 {
		return
	}
	rid := access.RequestID(ctx)
	ctx = context.WithoutCancel(ctx)
	c.inflight.Add(1)
	go func() {
		defer c.inflight.Done()
		for i := range runs {
			runs[i].RequestID = cmp.Or(runs[i].RequestID, rid)
		}
		c.insert(ctx, runs)
	}()
}

// Flush waits for the enqueues in flight: the server calls it as it
// stops, before it closes its pool.
func (c *Captures) Flush() { c.inflight.Wait() }

// enqueueTimeout bounds an insert of capture jobs.
const enqueueTimeout = 10 * time.Second

// insert inserts the capture jobs of runs, logging a failure.
func (c *Captures) insert(ctx context.Context, runs []CaptureArgs) {
	ctx, cancel := context.WithTimeout(ctx, enqueueTimeout)
	defer cancel()
	params := make([]river.InsertManyParams, len(runs))
	ids := make([]string, len(runs))
	for i, r := range runs {
		params[i], ids[i] = river.InsertManyParams{Args: r}, r.LeaseID
	}
	if _, err := c.jobs.InsertMany(ctx, params); err != nil {
		c.logger.ErrorContext(ctx, "enqueueing the capture of failed runs' states: the sweep enqueues them again", "leases", ids, "error", err)
	}
}

// Capture keeps the state of the run of lease leaseID: it reads the
// account's state in each of its apps (snapshot.Service.Evidence), keeps
// each with its difference from the state the lease reset the account to
// and frees the account, in one transaction with its audit event
// (run.capture); when its release asked for a reset, the account is
// reset once that has committed, then freed. An app that is down or
// answers badly fails the capture (its reason names the app), the others'
// states are kept, and the account is freed all the same. A capture that
// is not pending (done, or failed by the sweep) is left alone. Errors:
// the database's, for the job to retry.
func (c *Captures) Capture(ctx context.Context, leaseID string) error {
	return c.capture(ctx, CaptureArgs{LeaseID: leaseID})
}

// capture is Capture in a span (run.capture) of the lease's trace, when
// args carries its context.
func (c *Captures) capture(ctx context.Context, args CaptureArgs) (err error) {
	ctx = tracing.Remote(ctx, args.Traceparent, args.Tracestate)
	ctx, span := c.tracer.Start(ctx, "run.capture", trace.WithAttributes(attribute.String("understudy.lease.id", args.LeaseID)))
	defer func() { tracing.Fail(span, err); span.End() }()
	leaseID := args.LeaseID
	p, found, ev, err := c.read(ctx, args)
	if !found { // not pending, or its row could not be read (err)
		return err
	}
	// err, if any, is the evidence's: ENOTFOUND fails the capture below.
	var apps []CapturedApp
	var contents [][]byte
	reason := ""
	switch {
	case understudy.ErrorCode(err) == understudy.ENOTFOUND:
		reason = understudy.ErrorMessage(err)
	case err != nil:
		return err
	default:
		apps, contents, reason = captured(ev)
	}
	status := CaptureCaptured
	if reason != "" {
		status = CaptureFailed
	}
	span.SetAttributes(attribute.String("understudy.capture.status", string(status)))
	done, err := c.finish(ctx, p, status, reason, apps, contents)
	if err != nil {
		return err
	}
	if !done {
		c.logger.InfoContext(ctx, "a capture finished after the sweep had failed it: its states are not kept", "lease", leaseID)
		return nil
	}
	if p.reset {
		// Only now, the state kept, and only by the job that kept it: a
		// capture the sweep failed never resets an account another run may
		// hold by then. A reset that fails marks the account failed
		// (package snapshot), which its status then says; the account is
		// freed either way (a failed one stays failed).
		if _, err := c.snapshots.ResetApps(ctx, p.AccountID, p.State); err != nil {
			c.logger.WarnContext(ctx, "the reset a failed run's release asked for failed", "lease", leaseID, "account", p.AccountID, "error", err)
		}
		return c.unhold(ctx, heldFor{p.AccountID, p.LeaseID})
	}
	return nil
}

// read returns the pending capture of args' lease (false when it is not
// pending, or its row could not be read: err says why) and what its
// account's apps hold now (snapshot.Evidence; with found, err is the
// evidence's, whose ENOTFOUND fails the capture, as it did). When
// args names the account and the state (as the lease's end enqueues it),
// the capture's row and the evidence's reads share one round trip; else
// (the sweep's requeue, Capture) the row is read first.
func (c *Captures) read(ctx context.Context, args CaptureArgs) (pendingCapture, bool, []snapshot.AppEvidence, error) {
	if args.AccountID == "" {
		p, found, err := c.pending(ctx, args.LeaseID)
		if err != nil || !found {
			return p, false, nil, err
		}
		ev, err := c.snapshots.Evidence(ctx, p.AccountID, p.State)
		return p, true, ev, err
	}
	if _, err := uuid.Parse(args.LeaseID); err != nil {
		return pendingCapture{}, false, nil, nil
	}
	b := &pgx.Batch{}
	pendingOf := queuePending(b, args.LeaseID)
	e := c.snapshots.QueueEvidence(b, args.AccountID, args.State)
	if err := pgdb.SendBatch(ctx, c.db, b); err != nil {
		return pendingCapture{}, false, nil, err
	}
	p, found, err := pendingOf()
	if err != nil || !found {
		return p, false, nil, err
	}
	if p.AccountID != args.AccountID || p.State != args.State { // a job of another shape: trust the row
		ev, err := c.snapshots.Evidence(ctx, p.AccountID, p.State)
		return p, true, ev, err
	}
	ev, err := e.Read(ctx)
	return p, true, ev, err
}

// captured turns what Evidence read into what a capture keeps: each app's
// part, its compressed state, and the reason the capture failed ("" when
// every app answered).
func captured(ev []snapshot.AppEvidence) ([]CapturedApp, [][]byte, string) {
	apps := make([]CapturedApp, len(ev))
	contents := make([][]byte, len(ev))
	var failed []string
	for i, e := range ev {
		a := CapturedApp{App: e.App, AppID: e.AppID, Baseline: e.Baseline, ChangesTotal: e.ChangesTotal, Error: clip(e.Error)}
		a.Changes = keptChanges(e.Changes)
		if e.Content != nil {
			a.Hash, a.Size, contents[i] = e.Hash, int64(len(e.Content)), gzipped(e.Content)
		}
		if a.Hash == "" {
			failed = append(failed, fmt.Sprintf("app %s: %s", e.App, cmp.Or(e.Error, "no state read")))
		}
		apps[i] = a
	}
	if len(failed) == 0 {
		return apps, contents, ""
	}
	reason := "the state could not be read from every app: "
	for i, f := range failed {
		if i > 0 {
			reason += "; "
		}
		reason += f
	}
	return apps, contents, clip(reason)
}

// keptChanges is the head of changes a capture keeps: at most
// MaxCaptureChanges, whose JSON is at most MaxCaptureChangeBytes.
func keptChanges(changes []snapshot.Change) []snapshot.Change {
	size := 0
	for i, ch := range changes {
		b, err := json.Marshal(ch)
		size += len(b)
		if err != nil || i == MaxCaptureChanges || size > MaxCaptureChangeBytes {
			return changes[:i]
		}
	}
	if changes == nil {
		return []snapshot.Change{}
	}
	return changes
}

// clip bounds a text a capture keeps to maxCaptureText bytes, cut at a
// rune's start.
func clip(s string) string {
	if len(s) <= maxCaptureText {
		return s
	}
	cut := maxCaptureText - len("…")
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// gzipWriters keeps gzip writers from one capture to the next: a writer
// allocates its compressor's tables (hundreds of KiB), which a capture of
// a small state would otherwise pay for each time.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(&buf)
	_, _ = w.Write(b) // a bytes.Buffer does not fail
	_ = w.Close()
	w.Reset(io.Discard) // the pooled writer keeps no hold on buf, whose bytes are returned
	gzipWriters.Put(w)
	return buf.Bytes()
}

// gunzipped inflates a kept state of size bytes, and no more.
func gunzipped(k keptState) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(k.gz))
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(r, k.size+1))
	if err == nil && int64(len(b)) != k.size {
		err = fmt.Errorf("the kept state inflates to %d bytes, not the %d kept", len(b), k.size)
	}
	return b, err
}

// Get returns the capture of the run of lease leaseID, with each app's
// part (by app name), and false when the run has none (it passed, or has
// not ended). Errors: the database's.
func (c *Captures) Get(ctx context.Context, leaseID string) (Capture, bool, error) {
	return c.get(ctx, leaseID)
}

// State returns the canonical JSON of app's state (an app's name or id)
// at the capture of the run of lease leaseID. Errors: ENOTFOUND (no such
// capture, app, or no state kept for it), and the database's.
func (c *Captures) State(ctx context.Context, leaseID, app string) ([]byte, error) {
	k, found, err := c.content(ctx, leaseID, app)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, understudy.Errorf(understudy.ENOTFOUND, "the run of lease %s has no state of app %s kept", leaseID, app)
	}
	b, err := gunzipped(k)
	if err != nil {
		return nil, fmt.Errorf("reading the kept state of app %s in the run of lease %s: %w", app, leaseID, err)
	}
	return b, nil
}

// HoldReason is the status reason of an account held for the capture of
// the run of lease leaseID, which ended with outcome.
func HoldReason(leaseID string, outcome Outcome) string {
	return "keeping the state its run left (lease " + leaseID + ", " + string(outcome) + ") before anything resets it"
}

// hexOrNil is a hex hash as bytes for a bytea column, nil for "".
func hexOrNil(h string) []byte {
	if h == "" {
		return nil
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return nil
	}
	return b
}

// CaptureArgs is the job that captures the state of a lease's run.
type CaptureArgs struct {
	LeaseID string `json:"lease_id" river:"unique"`
	// AccountID and State are the account the lease held and the state it
	// reset it to, as the capture's row records them: with them, the job
	// reads the row and the account's refs and hashes in one round trip.
	// Optional (the row says them).
	AccountID string `json:"account_id,omitempty"`
	State     string `json:"state,omitempty"`
	// RequestID is the request that ended the lease, which the capture's
	// audit event carries.
	RequestID string `json:"request_id,omitempty"`
	// Traceparent and Tracestate are the lease's trace context: the
	// capture's span joins its trace.
	Traceparent string `json:"traceparent,omitempty"`
	Tracestate  string `json:"tracestate,omitempty"`
}

// Kind names the job.
func (CaptureArgs) Kind() string { return "capture_run_state" }

// CaptureQueue is the River queue of the capture jobs: a queue of their
// own, so that a burst of failed runs against a slow app never keeps
// the other jobs (lease expiry, provisioning) waiting, nor they it.
const CaptureQueue = "captures"

// InsertOpts makes a lease's capture unique (by its lease alone), tries
// it three times, on CaptureQueue.
func (CaptureArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, Queue: CaptureQueue, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type captureWorker struct {
	river.WorkerDefaults[CaptureArgs]
	captures *Captures
}

// Work captures as actor "capture", under the request id of the release
// that asked for it (or one that names the job).
func (w *captureWorker) Work(ctx context.Context, job *river.Job[CaptureArgs]) error {
	ctx = access.ForJob(ctx, "capture", job.ID)
	if job.Args.RequestID != "" {
		ctx = access.WithRequestID(ctx, job.Args.RequestID)
	}
	return w.captures.capture(ctx, job.Args)
}

// Timeout bounds one attempt: the apps are read in parallel, each within
// the app timeout, then reset when asked; well within the deadline.
func (w *captureWorker) Timeout(*river.Job[CaptureArgs]) time.Duration {
	return w.captures.deadline / 2
}

// CaptureSweepArgs is the periodic job that fails the captures pending
// past the deadline, freeing their accounts, and deletes the captures
// past their environment's retention.
type CaptureSweepArgs struct{}

// Kind names the job.
func (CaptureSweepArgs) Kind() string { return "sweep_run_captures" }

type captureSweepWorker struct {
	river.WorkerDefaults[CaptureSweepArgs]
	captures *Captures
}

// Work sweeps as actor "capture", under a request id that names the job:
// it enqueues again the captures whose job was lost, fails those pending
// past the deadline, and deletes those past their retention.
func (w *captureSweepWorker) Work(ctx context.Context, job *river.Job[CaptureSweepArgs]) error {
	ctx = access.ForJob(ctx, "capture", job.ID)
	if err := w.captures.Requeue(ctx); err != nil {
		return err
	}
	failed, err := w.captures.FailStale(ctx)
	if failed > 0 {
		w.captures.logger.WarnContext(ctx, "failed the captures pending past their deadline, and freed their accounts", slog.Int("captures", failed))
	}
	if err != nil {
		return err
	}
	pruned, err := w.captures.Prune(ctx)
	if pruned > 0 {
		w.captures.logger.InfoContext(ctx, "deleted the captures past their environment's retention", slog.Int("captures", pruned))
	}
	return err
}

// AddCaptureWorkers adds the workers of the captures' jobs to w.
func AddCaptureWorkers(w *river.Workers, captures *Captures) {
	river.AddWorker(w, &captureWorker{captures: captures})
	river.AddWorker(w, &captureSweepWorker{captures: captures})
}

// CapturePeriodicJobs returns the jobs River runs on a schedule: the
// captures' sweep and retention every interval, and at start. A run is
// unique while one is queued or running.
func CapturePeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return CaptureSweepArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true,
				ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
					rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
		},
		&river.PeriodicJobOpts{RunOnStart: true})}
}

// queueAudit queues the audit event of a finished capture.
func queueAudit(ctx context.Context, b *pgx.Batch, p pendingCapture, status CaptureStatus, reason string, apps []CapturedApp) error {
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = a.App
	}
	details := map[string]any{"account_id": p.AccountID, "state": p.State, "status": status, "apps": names}
	if reason != "" {
		details["reason"] = reason
	}
	return access.Queue(ctx, b, access.Event{Action: "run.capture", TargetType: "lease", TargetID: p.LeaseID, Details: details})
}
