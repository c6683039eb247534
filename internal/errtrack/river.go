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

// jobScope is what a job's failure is about. Its request id is the one
// the job works under, as its logs and audit events carry it: the
// request_id of its arguments (the request that enqueued it, as a
// provisioning or a sync has), else "job-<id>".
func jobScope(job *rivertype.JobRow) Scope {
	a := argsOf(job.EncodedArgs)
	requestID := a.RequestID
	if !isRequestID(requestID) {
		requestID = access.JobRequestID(job.ID)
	}
	return Scope{Source: "job", Route: job.Kind, RequestID: requestID, LeaseID: a.LeaseID, JobID: job.ID, Attempt: job.Attempt}
}

// maxArgs bounds the arguments read for ids.
const maxArgs = 64 << 10

// jobArgs are the ids a job's arguments may carry.
type jobArgs struct {
	LeaseID   string `json:"lease_id"`
	RequestID string `json:"request_id"`
}

// argsOf reads the ids of a job's arguments; none when they are not a
// JSON object or are too large to read.
func argsOf(args []byte) jobArgs {
	var a jobArgs
	if len(args) > maxArgs || json.Unmarshal(args, &a) != nil {
		return jobArgs{}
	}
	return a
}

// isRequestID reports whether s is a request id as the REST API accepts
// one: 1 to 128 of A-Z a-z 0-9 . _ : -
func isRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}
