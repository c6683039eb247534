// Command load measures the foundation's performance target (issue 2):
// GET /v1/accounts/{id} with a runner token, N concurrent keep-alive
// clients on loopback, next to a bare pgx primary-key SELECT on the same
// table and to the same request served by a hand-written peer (bench/peer,
// issue 6), all measured in the same run.
//
// # Targets
//
//   - HTTP p50 under 1 ms;
//   - HTTP throughput at least 30% of the bare SELECT's;
//   - HTTP throughput at least the peer's (issue 20; 0.8 of it in issue 6).
//
// The text report ends with one RATIO line per target (phase.WriteRatios).
//
// A missed target is a measurement, not a failure: the exit code is 0 and
// the report says MISS. The exit code is 1 when the run itself fails (the
// server does not start, more than 1% of requests fail, ...) and 2 on a bad
// command line or a missing TEST_DATABASE_URL.
//
// # Running it
//
//	make bench
//
// or, against a PostgreSQL server on which it may create databases, after
// make build:
//
//	TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' go run ./bench/load
//
// Flags: -clients 32, -duration 10s, -warmup 2s, -bin bin/understudy,
// -peer-bin (default: go build ./bench/peer into a temporary directory),
// -rounds 1, -o text|json, and -short (4s measured in 4 rounds after a 1s
// warm-up, unless those flags are given too).
//
// # What a run does
//
//  1. creates a scratch database understudy_bench_<random> (dropped at the
//     end, also on failure or Ctrl-C);
//  2. migrates it and creates an admin and a runner token with the server
//     binary's own commands (migrate up, tokens create);
//  3. starts the server binary on a free loopback port and waits for
//     /readyz; builds and starts the peer the same way, on the same
//     database, accepting the runner token;
//  4. creates an environment and a role of 32 accounts through the API,
//     collects their ids, and checks that the server and the peer answer
//     the same document for one of them;
//  5. phase "http": the clients loop GET /v1/accounts/{id} round-robin over
//     the ids, each on its own keep-alive connection;
//  6. phase "peer": the same against the peer;
//  7. phase "select": the clients loop SELECT id, identity FROM accounts
//     WHERE id = $1 on a pgxpool of as many connections.
//
// The phases run one after the other, each for the warm-up (not recorded)
// then the duration; with -rounds N, the http and peer phases alternate in
// N slices of the duration (the warm-up before each one's first), so that
// other work on a shared machine weighs on both alike. Latencies are kept
// in full, per client, then merged and sorted; requests/s is the count over
// the measured duration.
//
// On a small machine the driver, the server and PostgreSQL share the same
// CPUs, so both phases are CPU-bound and the ratio is the figure to watch.
// The report prints the CPU count next to the numbers for that reason.
package main
