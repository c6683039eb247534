// Command spec measures issue 9's targets for the declarative spec: a spec
// of 100 roles with 100 accounts each (10,000 accounts, no apps), applied
// and planned with the CLI as a user would, against the real server.
//
//   - first apply: bin/understudy apply -auto-approve DIR, timed from the
//     process's start to its exit; then every account is checked through
//     GET /v1/accounts (10,000 ready in environment bench);
//   - its baseline: the same objects in environment peer through the
//     REST API, one POST per object (the environment, then each role with
//     pool_size 100), from a plain Go HTTP client;
//   - no-change plan: bin/understudy plan -detailed-exitcode DIR, run
//     -plans times, each timed end to end and required to exit 0 (no
//     changes);
//   - its baseline: bin/understudy roles list bench, one CLI process doing
//     one small authenticated request (the floor of a CLI round trip), run
//     right after each plan, so that other work on the machine weighs on
//     both alike;
//   - issue 19's for_each plan: a second spec, environment fe and roles
//     f001… of one account each from one role block with for_each
//     (-for-each objects in all), applied in workspace foreach, then its
//     no-change plan run -plans times, each beside bin/understudy roles
//     list fe.
//
// # Targets
//
// The first apply finishes in under 30 s; a plan with no changes takes
// under 1 s (its median over the runs); the for_each spec's no-change
// plan takes at most 3× a roles list of its environment (medians). Each figure is reported with its
// baseline and the ratio of the two, measured in the same run: on a
// shared machine the ratio moves less than the absolute figure.
//
// A missed target is a measurement, not a failure: the exit code is 0 and
// the report says MISS; 1 when the run fails (the apply exits non-zero, a
// plan shows changes, an account is missing); 2 on a bad command line or a
// missing TEST_DATABASE_URL.
//
// # Running it
//
//	make build
//	TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' go run ./bench/spec
//
// Flags: -roles 100, -pool 100 (the server refuses more), -plans 7,
// -for-each 500, -copy-rounds 3, -short (25 roles, 3 plans, -for-each
// 100 unless given),
// -bin bin/understudy (the server and the CLI), -o text|json.
//
// Issue 20's target: the first apply takes at most 5× a COPY of the rows
// it wrote for its accounts (accounts, their exclusions and their
// account.create audit events) into a second scratch database migrated
// by the same binary, the median of -copy-rounds rounds (copy.go). The
// report ends with one RATIO line per target (phase.WriteRatios).
//
// # What a run does
//
//  1. creates a scratch database understudy_bench_<random>, migrates it
//     and creates the tokens with the binary's own commands, and starts
//     bin/understudy serve on a free loopback port (email domain
//     qa.example.test);
//  2. writes the spec into a temporary directory: main.understudy.hcl
//     (environment bench, roles r001…r100, each with pool_size =
//     var.pool_size) and variables.understudy.hcl (email_domain, pool_size);
//  3. runs the first apply, then the REST baseline, then the plans and the
//     roles lists in turn, all with the admin token; the CLI gets
//     UNDERSTUDY_URL and UNDERSTUDY_TOKEN and no other UNDERSTUDY_
//     variable of the driver's environment;
//  4. stops the server, drops the database and removes the spec, also on
//     failure or Ctrl-C.
//
// Beside each wall clock the report gives the CPU time of the CLI process,
// of the server and of PostgreSQL's backends on the scratch database (from
// /proc, when PostgreSQL runs on the same machine), to say where the time
// went.
package main
