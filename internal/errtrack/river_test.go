package errtrack_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/sentrytest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// failArgs is a job that fails, on a lease, with a secret in its error,
// for the request that enqueued it.
type failArgs struct {
	LeaseID   string `json:"lease_id"`
	RequestID string `json:"request_id"`
	Password  string `json:"password"`
}

func (failArgs) Kind() string { return "errtrack_test_fail" }

// panicArgs is a job that panics.
type panicArgs struct{}

func (panicArgs) Kind() string { return "errtrack_test_panic" }

// A job's failed attempt, an error or a panic, reaches Sentry through
// River's ErrorHandler, tagged with the job's kind, id, attempt, the
// lease of its arguments and the request id it works under (its
// arguments', else job-<id>), and scrubbed.
func TestFailedJobsAreReported(t *testing.T) {
	t.Parallel()
	f := sentrytest.New(t)
	s := newSecrets()
	r := newReporter(t, f, nil)
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(_ context.Context, j *river.Job[failArgs]) error {
		return fmt.Errorf("resetting the account of %s: password=%s", j.Args.LeaseID, j.Args.Password)
	}))
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[panicArgs]) error {
		panic("job boom with " + s.token)
	}))
	client, err := river.NewClient(riverpgxv5.New(dbtest.NewPool(t)), &river.Config{
		Queues:       map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:      workers,
		ErrorHandler: r.JobErrors(),
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	})
	failed, err := client.Insert(ctx, failArgs{LeaseID: "0b6e4c1e-6f0a-4d7e-9b8e-3f1d2c3b4a59", RequestID: "req-enqueued", Password: s.password}, &river.InsertOpts{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	panicked, err := client.Insert(ctx, panicArgs{}, &river.InsertOpts{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]sentrytest.Event{}
	for _, ev := range f.WaitEvents(t, 2) {
		byKind[ev.Tags["route"]] = ev
	}
	fe, pe := byKind["errtrack_test_fail"], byKind["errtrack_test_panic"]
	wantFail := map[string]string{"source": "job", "request_id": "req-enqueued",
		"lease_id": "0b6e4c1e-6f0a-4d7e-9b8e-3f1d2c3b4a59", "job_id": strconv.FormatInt(failed.Job.ID, 10), "attempt": "1"}
	for k, v := range wantFail {
		if fe.Tags[k] != v {
			t.Errorf("failed job: tag %s = %q, want %q", k, fe.Tags[k], v)
		}
	}
	if n := len(fe.Exceptions); n == 0 || fe.Exceptions[n-1].Value != "resetting the account of 0b6e4c1e-6f0a-4d7e-9b8e-3f1d2c3b4a59: password=[redacted]" {
		t.Errorf("failed job: exceptions %+v", fe.Exceptions)
	}
	if pe.Tags["request_id"] != "job-"+strconv.FormatInt(panicked.Job.ID, 10) || pe.Tags["lease_id"] != "" || pe.Level != "fatal" ||
		len(pe.Exceptions) != 1 || pe.Exceptions[0].Value != "job boom with [redacted]" || pe.Exceptions[0].Stacktrace == nil {
		t.Errorf("panicked job: %+v", pe)
	}
	if fr := pe.Exceptions[0].Stacktrace.Frames; fr[len(fr)-1].Function != "TestFailedJobsAreReported.func2" {
		t.Errorf("panicked job: innermost frame %+v, want the worker", fr[len(fr)-1])
	}
	assertNoSecret(t, f, s)
}
