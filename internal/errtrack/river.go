package errtrack

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/understudy-dev/understudy/access"
)

// JobErrors is River's error handler (river.Config.ErrorHandler) that
// reports every failed attempt of a job, an error or a panic, with its
// kind, id, attempt, request id and lease; it changes nothing of the
// job's retries. It is nil for a nil Reporter: River then has none.
func (r *Reporter) JobErrors() river.ErrorHandler {
	if r == nil {
		return nil
	}
	return jobErrors{r}
}

type jobErrors struct{ r *Reporter }

var _ river.ErrorHandler = jobErrors{}

// HandleError reports the error a job returned. A job cancelled by the
// server's shutdown (context.Canceled) is not a failure of its own.
func (j jobErrors) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	if !errors.Is(err, context.Canceled) {
		j.r.Report(ctx, err, jobScope(job))
	}
	return nil
}

// HandlePanic reports the panic a job raised, with the frames that
// panicked.
func (j jobErrors) HandlePanic(ctx context.Context, job *rivertype.JobRow, v any, trace string) *river.ErrorHandlerResult {
	j.r.Report(ctx, panicOf(v, trace), jobScope(job))
	return nil
}

// jobScope is what a job's failure is about.
func jobScope(job *rivertype.JobRow) Scope {
	return Scope{Source: "job", Route: job.Kind, RequestID: access.JobRequestID(job.ID), LeaseID: leaseIDOf(job.EncodedArgs),
		JobID: job.ID, Attempt: job.Attempt}
}

// maxArgs bounds the arguments read for a lease id.
const maxArgs = 64 << 10

// leaseIDOf is the lease_id of a job's arguments, "" when they have none.
func leaseIDOf(args []byte) string {
	if len(args) > maxArgs {
		return ""
	}
	var a struct {
		LeaseID string `json:"lease_id"`
	}
	if json.Unmarshal(args, &a) != nil || !isLeaseID(a.LeaseID) {
		return ""
	}
	return a.LeaseID
}
