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
// # Statuses
//
// A lease is acquiring (its account is being reset), then active, and
// ends released, expired or failed. The statuses are named once, as the
// Status constants, and the SQL statements are built from them.
package lease
