// Command inbox measures the inbox's performance targets: SMTP ingest next
// to Mailpit (github.com/axllent/mailpit, which many teams run to catch
// test mail), delivery to a test waiting on a lease's messages, and the
// receiver's memory while it takes 10 MiB messages.
//
// # Targets
//
//   - SMTP ingest, messages/s: at least 1.0× Mailpit's, with the same
//     message, the same number of clients, in the same run;
//   - delivery, from the 250 after a message's data to the answer of the
//     test's long poll, with 8 concurrent waiters: p99 at most 50 ms;
//   - memory stays bounded while receiving 10 MiB messages (no figure is
//     set: the report prints the peak and its ratio to the bytes in flight).
//
// A missed target is a measurement, not a failure: the exit code is 0 and
// the report says MISS. The exit code is 1 when the run itself fails and 2
// on a bad command line or a missing TEST_DATABASE_URL.
//
// # Running it
//
//	make bench
//
// or, after make build:
//
//	TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' go run ./bench/inbox
//
// Flags: -clients 8, -duration 10s, -warmup 2s, -rounds 1, -bin
// bin/understudy, -mailpit-bin (default: built from tools/mailpit),
// -skip-mailpit, -skip-understudy (Mailpit alone, no database), -o
// text|json.
//
// Mailpit is pinned by tools/mailpit/go.mod, a module of its own so that
// its dependencies stay out of the main go.mod. The driver builds it once
// with go build into a directory of the system's temporary directory named
// after the version and the toolchain, and reuses it on later runs.
//
// # What a run does
//
//  1. creates a scratch database, migrates it and creates the tokens, and
//     starts the server with its SMTP receiver on a free loopback port
//     (UNDERSTUDY_SMTP_ADDR);
//  2. creates an environment with a role of 24 accounts (no app, so they
//     are ready at once) and leases 8 of them for the delivery phase's
//     waiters; the other 16 receive the ingest and memory phases' mail, so
//     that a waiter's inbox holds only what the delivery phase sends it;
//  3. starts Mailpit on free loopback ports, with its database in a
//     temporary directory and its defaults otherwise (no version check, no
//     reverse DNS lookups: both only make its figures better);
//  4. phases ingest-understudy and ingest-mailpit: -clients SMTP clients,
//     each on its own connection, send the same 8 KB multipart sign-in
//     message (text and HTML, with a code) one after the other, to the 16
//     addresses in turn; with -rounds N the two alternate in N slices;
//  5. phase delivery: 8 waiters, one per lease, long-poll GET
//     /v1/leases/{id}/messages?wait=30s&after=<last id>; one SMTP client
//     sends the message to each lease's address in turn, each when its
//     waiter is waiting, and the latency runs from the 250 to the answer;
//     it runs past -duration until at least 200 messages were measured;
//  6. phases memory-understudy and memory-mailpit: 20 messages of 10 MiB,
//     4 clients at a time; the receiver's peak resident set is read from
//     VmHWM in /proc/<pid>/status after resetting it (clear_refs), or
//     sampled every 10 ms where the reset is not allowed.
//
// Everything is torn down at the end, also on failure or Ctrl-C: the
// leases released, the receivers stopped, the database dropped.
package main
