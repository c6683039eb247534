// Command lease measures leases and resets (issue 3), with 8 concurrent
// test runners on loopback, in one run:
//
//   - (a) pgbench -N -c 8 -j 2 on the same PostgreSQL: the floor the
//     hardware sets, in transactions per second;
//   - (b) lease acquire + release cycles through the REST API, with the
//     fake provider (an app that does nothing);
//   - (b') the same cycles as a CI job runs them through understudy
//     lease -- COMMAND (issue 17): each lease names its run at acquire,
//     and its release records the outcome, passed;
//   - (f) the same, but one cycle in 10 fails, with a message, the
//     test's name and a link: its release holds the account, whose state
//     a job then captures (issue 17);
//   - (c) the same with chirp, the example app, through the postgres
//     provider; then, on accounts that are not leased, the reset alone
//     (POST /v1/accounts/{id}/reset);
//   - (d) one raw SQL transaction that restores the same chirp rows
//     directly (what the postgres provider's restore writes, without
//     Understudy or the provider around it).
//
// # Targets
//
// Issue 20's three ratios and issue 17's, each of two figures of the same
// run, printed at the end of the text report as RATIO lines
// (phase.WriteRatios):
//
//   - lease_cycles_vs_pgbench: (b) cycles/s over (a)'s TPS, at least 0.33;
//   - chirp_reset_p50_vs_raw: (c) reset alone p50 over (d)'s, at most 1.6;
//   - chirp_acquire_p50_vs_raw: (c) acquire p50 (a lease's reset plus its
//     bookkeeping) over (d)'s, at most 2.0;
//   - lease_outcome_cycle_cost: (b) cycles/s over (b')'s, at most 1.10: a
//     cycle that names its run and records an outcome costs at most 10%
//     more than one that does not;
//   - failed_release_p99_vs_passed: in (f), the p99 of the releases that
//     record a failure over that of those that record a pass, under the
//     same load, at most 1.25: the capture of a failed run's state is off
//     the release's path, so the release's p99 is unchanged within noise.
//     A short run has some 400 failures, whose p99 is noisy: the full
//     run's 2,000 are the figure of record.
//
// The report also prints, without a target, what the captures' jobs take
// from the shared cores at one failure in 10: (b) cycles/s over (f)'s,
// and (f)'s release p99 over (b')'s.
//
// and issue 3's (b) cycle p99 under 20 ms, printed as a check line only.
// For a quick run (as go run ./bench/all makes by default), shorten the
// phases: -duration 2s -warmup 500ms.
//
// A missed target is a measurement, not a failure: the exit code is 0 and
// the report says MISS. The exit code is 1 when the run itself fails (the
// server does not start, more than 1% of a phase's requests fail, ...) and
// 2 on a bad command line or a missing TEST_DATABASE_URL.
//
// # Running it
//
// Against a PostgreSQL server on which it may create databases, after
// make build:
//
//	TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' go run ./bench/lease
//
// Flags: -workers 8, -duration 10s, -warmup 2s, -rounds 1 (with N, the
// phases take turns in N slices of -duration/N each: (a), (b), (b'), (f), (c),
// (c), (d), then again, so that other work on a shared machine weighs on
// both sides of each ratio alike), -bin bin/understudy,
// -pgbench (default: on PATH, else /usr/lib/postgresql/*/bin/pgbench),
// -peer-follows (chirp users follow one another instead of fixture users:
// reproduces a deadlock of concurrent resets), -o text|json.
//
// # What a run does
//
//  1. creates three scratch databases understudy_bench_<random>: the
//     server's, pgbench's and chirp's (all dropped at the end, also on
//     failure or Ctrl-C); migrates chirp's with chirp.Migrate;
//  2. migrates the server's database, creates an admin and a runner token
//     with the server binary's own commands, and starts the server on a
//     free loopback port;
//  3. creates environment bench-fake (app "mem", provider fake) and
//     environment bench-chirp (app "chirp", provider postgres on chirp's
//     database), each with a role "tester" (of four accounts per worker
//     in bench-fake, where a failed run holds its account a while; of one
//     per worker in bench-chirp), and waits until the provisioning jobs have made every account ready;
//  4. gives each chirp user, through chirp's Go API, a profile, 5 posts, 2
//     likes of its own posts, 2 cart items and 3 follows of 3 fixture
//     users (synthetic chirp users no account owns), who follow it back
//     (so it also gets 3 notifications); then captures that as the next
//     version of each account's baseline
//     (POST /v1/accounts/{id}/states/initial), which leases and resets
//     restore from then on;
//  5. primes: runs (b), (b') and (f) once each for 2s, unrecorded, so
//     that the tables their cycles grow (leases, runs, run_captures) hold
//     rows when they are first analyzed (a table analyzed empty is
//     planned as a page, and a release's join of its run by key would
//     read the whole of runs, as no server in use does);
//  6. phase (a): pgbench -i, then pgbench -N for the warm-up and for the
//     duration (whole seconds), on pgbench's database;
//  7. phase fake-lease (b): each worker loops POST /v1/leases (runner
//     token, wait_seconds 0) then POST /v1/leases/{id}/release; phase
//     fake-outcome (b'): the same, the lease request naming a run and the
//     release sending the outcome passed; phase fake-failures (f): the
//     same, one release in 10 sending a failure with a message; all on
//     the same accounts;
//  8. phase chirp-lease (c): the same on bench-chirp, and between acquire
//     and release the worker uses the account as a test would, on its own
//     rows: a post (which adds to its score) and a cart item, through
//     chirp's Go API. So every reset restores real differences, on top of
//     rewriting every row of the user;
//  9. phase chirp-reset (c): worker i changes account i's user the same way,
//     then resets the account (admin token), in a loop;
//  10. phase raw-restore (d): worker i changes user i the same way, then
//     runs the raw restore transaction with user i's baseline (read from
//     the server), on a pgxpool of one connection per worker.
//
// Before each phase (each slice, with -rounds), the tables of Understudy's
// database that every cycle rewrites (accounts, leases, account_resets,
// runs, run_captures, river_job) are vacuumed, as pgbench vacuums its own before each run, and so are
// chirp's before each chirp phase. Each phase runs its warm-up (not
// recorded), then the duration. A
// request's steps (acquire, use, release; use, reset; use, restore) are
// timed one by one; the whole request's latency and rate come beside them.
// The report also gives the machine's CPU use over each measured duration
// and the load average before the run, since the driver, the server and
// PostgreSQL share the machine (and other work may run on it), and, per
// phase, the CPU per operation of the server, of PostgreSQL's backends of
// Understudy's database and of chirp's, and of the driver, read from /proc
// at each measured slice's start and end (when PostgreSQL runs on this
// machine): on saturated shared cores, what bounds a ratio of two phases.
package main
