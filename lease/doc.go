// Package lease hands synthetic accounts to test runs, one run per account
// at a time.
//
// # Claims
//
// Acquire claims a ready account of a role with FOR UPDATE SKIP LOCKED, so
// concurrent claims take different accounts, and a partial unique index on
// open leases makes sharing an account impossible. The claimed account is
// reset (package snapshot) before the lease becomes active and its
// credentials are handed out; a failed reset fails the lease and the
// account.
//
// # Waiting, renewal, expiry
//
// When every account is busy, Acquire waits up to the request's Wait,
// polling with back-off on the injected clock, then answers ECONFLICT with
// when the next lease expires. A lease lasts its TTL unless renewed; the
// periodic expiry job (and any claim that finds nothing free) ends overdue
// leases and frees their accounts.
//
// # Layout and the path of a request
//
// Package lease owns the table leases; it names no other table. A lease
// stores its role's id; its role's and environment's names are read in
// the same statement through package accounts' view of roles
// (accounts.RoleDirectory, joined by leaseJoins in lease.go), and so is
// its run, through package run's view (run.RecordView). Its own views,
// OpenLeaseView (page.go, migration 000026) and DirectoryView (migration
// 000035), give other packages' SQL the open lease of each account and
// every lease.
//
//   - lease.go: Lease, Request, Config, Service, the clock, Get and List.
//   - claim.go: Acquire. POST /v1/leases (openapi/handlers.go) calls it;
//     it looks for a replayed Idempotency-Key (idempotentGrant), then
//     claims, in one transaction of two round trips (pgdb.Pipe: the BEGIN
//     and the COMMIT ride with the statements): accounts.QueueClaim marks
//     an account of the role leased; then the lease (insertLeaseSQL,
//     pgx.NamedArgs), its audit event (access.Queue) and the COMMIT, after
//     which, in the same round trip, the reads of the account's reset
//     (snapshot.Service.QueueReset: its refs through package apps, the
//     newest hashes of the state). PendingReset.Apply then restores the
//     account's apps (and marks the account failed through accounts when
//     the reset fails), and one batch activates the lease, reads the
//     account with its credentials (accounts.QueueWithCredentials) and
//     records the reset (PendingReset.QueueRecord). A cycle of acquire and
//     release is five round trips to Understudy's database, whether or
//     not it names its run and records an outcome: their statements ride
//     in the batches that are sent anyway. The request crosses
//     lease → accounts, lease → snapshot → (accounts, apps), and back,
//     never from snapshot or accounts back into lease. When no account
//     can be claimed, busyError says why: the quarantined accounts come
//     from accounts.Quarantined, their apps' names from apps.Names.
//   - end.go: Renew, Release and Expire. Ending a lease frees its account
//     through accounts.QueueFree in the lease's transaction, which is two
//     round trips: the BEGIN and the end of the lease; then the free, the
//     run's outcome when the release sends one (run.QueueOutcome), the
//     audit event and the COMMIT. Expire records each expired lease's run
//     as abandoned (run.QueueAbandon) in the same batch as the frees. With
//     Config.Captures, a run that ends failed, errored or abandoned holds
//     its account instead (accounts.QueueHold: capturing) and records its
//     capture (run.QueueCapture) in that same batch, at no round trip of
//     its own; its job is enqueued once the transaction has committed
//     (run.Captures.Enqueue), and it frees the account once the state is
//     kept. A release with reset of such a run leaves the reset to the
//     capture, after it.
//   - outcome.go: a lease's run (package run), named at acquire (the
//     claim's second batch carries run.QueueNew) or later (NameRun), and
//     what a second release means: the same outcome or none returns the
//     lease, another is a conflict, a lease released without one records
//     it then. Each recorded outcome is counted (run.Service.Observe)
//     once it has committed.
//   - credentials.go: who may read an account's credentials outside a
//     lease's acquisition.
//   - owner.go: who may use what a lease gives (its account's mail, its
//     authenticator codes): Owned, the token that holds it or an admin,
//     and Active, which also refuses a lease that has ended or is past its
//     expiry on the service's clock.
//   - history.go: the ended leases, and one lease's detail.
//
// # One clock
//
// Config.Now is the clock of everything here: the wait's deadline in Go,
// and every statement's now as coalesce($n::timestamptz, now()), so a
// lease's expiry, the Retry-After of a busy answer (computed in SQL from
// that expiry) and Active's test of that expiry come from the same clock. Without an injected clock
// SQL uses the database's.
//
// # Tracing
//
// Each lease carries a W3C trace context (trace.go): Acquire is a span,
// lease.acquire, that continues the trace ctx carries (the caller's
// traceparent) or starts one, and the claim's INSERT keeps that span's
// traceparent and tracestate (columns of migration 000034) in the batch it
// already sends. Renew, Release and Span (the reads of a lease's inbox and
// codes) start spans whose parent is that context, so one trace covers the
// lease; the reset's spans (package snapshot) and the providers' calls are
// children of whichever span is in the context. A release without reset
// learns the lease, and so its context, only from the statement that ends
// it: its span is recorded afterwards, from the release's start. Spans name
// ids and names only, never a credential.
//
// # Statuses
//
// A lease is acquiring (its account is being reset), then active, and
// ends released, expired or failed. The statuses are named once, as the
// Status constants, and the SQL statements are built from them.
package lease
