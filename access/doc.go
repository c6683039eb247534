// Package access decides who may call Understudy and records what they did:
// bearer tokens (stored only as SHA-256 hashes) with a scope, the call's
// context (who calls, under which request id, from where), and the audit
// trail that every write adds to in its own transaction.
//
// # Layout
//
//   - access.go: the scopes, and what a call carries in its context: the
//     Caller (WithCaller, CallerFrom) and, beside it, the request id
//     (WithRequestID, RequestID).
//   - client.go: where the request came from (WithClient, ClientFrom),
//     which Record adds to an event's details (client_addr).
//   - token.go and cache.go: the tokens table (Tokens): create, list,
//     revoke, and Authenticate, with an optional short-lived cache.
//   - audit.go: the audit_events table: Record and RecordNow write an
//     event; Queue queues it in the batch of the write it records (a
//     lease's claim, its end, a message's receipt), so that both travel in
//     one round trip; Audit.List reads them.
//   - log.go: LogHandler, which adds the request id to every log line.
//
// access owns the tokens and audit_events tables: token.go and audit.go
// hold their SQL, and other packages add events through Record, RecordNow
// or Queue.
//
// # Following a call
//
// A REST request passes openapi's middleware, which puts the request id
// in the context (WithRequestID: the client's X-Request-ID or a new one),
// then its gate, which authenticates the bearer token (Tokens.Authenticate)
// and puts the Caller in the context (WithCaller); the console's session
// guard does the same for a signed-in page, and background jobs name their
// own Caller and a "job-<id>" request id. Domain packages (lease, accounts,
// snapshot, tagging, isolation, spec) read CallerFrom to decide and to
// audit, and every write audits itself in its own transaction (Record, or
// Queue in the write's batch). The audit event, the log line
// (LogHandler) and every call a provider makes to an app (providers/webhook's
// X-Request-ID, providers/exec's request) carry the same RequestID.
//
// access imports only the root package and internal/pgdb. Providers import
// access for the request id; access never imports providers.
//
// # Time
//
// Tokens.Now tells the time of a token's creation and revocation, in SQL as
// coalesce($n, now()) (see pgdb.Now), and of the cache's expiry. An audit
// event's time is the database's (the column's default): one clock for the
// whole trail, whichever package's clock told the time of the write it
// records.
package access
