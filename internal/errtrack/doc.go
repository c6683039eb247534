// Package errtrack sends Understudy's own unexpected errors to Sentry
// (github.com/getsentry/sentry-go): the requests the REST API and the
// console answer 500, the panics they recover, and the background jobs
// that fail or panic. A 4xx, or any error the caller can be told about,
// is not unexpected and is never reported.
//
// # Wiring
//
// `understudy serve` makes one Reporter when SENTRY_DSN is set and hands
// it to the REST API (openapi.Config.Errors), the console
// (console.Config.Errors) and River (Reporter.JobErrors as
// river.Config.ErrorHandler). Without a DSN there is no Reporter: a nil
// *Reporter is valid, reports nothing and costs one comparison.
//
// The Reporter owns its sentry.Client and captures each event on it
// directly, with no Hub or Scope: sentry-go's global hub is never used,
// so nothing is shared between requests or set behind the server's back.
//
// # Tags
//
// Each event carries source (api, console or job), route (the route's
// pattern, or the job's kind), request_id (the request's X-Request-ID; for
// a job, the request_id of its arguments, else "job-<id>", as the job's
// logs and audit events have it), lease_id when the request or the job
// concerns a lease (the lease_id path parameter, or a lease_id in the
// job's arguments), and job_id and attempt for a job; and the environment
// and release of the server.
//
// # Secrets
//
// SendDefaultPII is off and every event passes through one BeforeSend
// that keeps no request body, cookie or user, keeps only headers known to
// carry nothing secret (Accept, Content-Type, User-Agent, X-Request-ID…),
// blanks every query value whose name could hold a credential, and
// scrubs every text (messages, exception values, tags, the URL, the
// query) with the owner's scrubber, tagging.Scrubber: the server's own
// secrets (its keys, the database password, the DSN's key) in every form
// it knows, any Basic or Bearer credential, and by their shape Understudy's
// tokens (access.TokenPrefix), the value of any password, secret, token or
// key field, and the user information of any URL, which covers DSNs and
// database URLs. Breadcrumbs are off.
//
// # Never in the way
//
// Events leave through sentry-go's HTTPTransport: Report queues the event
// (dropping it when BufferSize events already wait) and returns; one
// goroutine sends them, each bounded by Timeout. A Sentry that is down,
// slow or refusing costs a request or a job nothing. Flush, called at
// shutdown with a deadline made after the signal, waits for the queue no
// longer than FlushTimeout.
package errtrack
