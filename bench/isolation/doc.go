// Command isolation measures POST /v1/isolation/check with 1,000 subjects
// against a bare SQL of the join the check makes, in the same run (issue
// 20): the check's p50 must be at most 1.5 × the bare join's.
//
// # Running it
//
// Against a PostgreSQL server on which it may create databases, after
// make build:
//
//	TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' go run ./bench/isolation
//
// Flags: -clients 1, -subjects 1000, -accounts 1000, -duration 10s,
// -warmup 2s, -rounds 5, -bin bin/understudy, -o text|json, and -short
// (3s measured in 3 rounds after a 1s warm-up, unless those flags are
// given too).
//
// # What a run does
//
//  1. creates a scratch database understudy_bench_<random> (dropped at the
//     end, also on failure or Ctrl-C), migrates it and creates an admin
//     and an app token (what an app in production holds) with the server binary's own commands;
//  2. starts the server binary on a free loopback port;
//  3. creates environment production and role buyer (leaderboards:
//     testers_only) through the API, then 1,000 retired accounts of buyer
//     and their 3,000 identifiers on the exclusion list in SQL, and
//     ANALYZEs them, as autovacuum would on a live database;
//  4. phase "check": the clients loop POST /v1/isolation/check with the
//     app token, 1,000 subjects (half on the list, half not) and a real
//     viewer, one request at a time each, on a keep-alive connection;
//  5. phase "sql": the clients loop the check's join itself (the statement
//     of tagging.FindListed, with the same 1,001 identifiers: the subjects
//     and the viewer) on a pgxpool, scanning every row.
//
// The two phases alternate in -rounds slices of -duration/-rounds each, so
// other work on a shared machine weighs on both alike. The ratio is the
// check's p50 over the bare join's.
//
// A missed target is a measurement, not a failure: the exit code is 0 and
// the report says MISS. The exit code is 1 when the run itself fails and 2
// on a bad command line or a missing TEST_DATABASE_URL.
package main
