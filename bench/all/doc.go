// Command all runs every benchmark of the repository one after the other
// and collects their targets in one report:
//
//	TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' go run ./bench/all
//
// It builds the server (cmd/understudy), each load driver (bench/load,
// bench/lease, bench/spec, bench/sync, bench/inbox) and the test binary of
// the Go benchmarks that measure the isolation check (cmd/understudy) once,
// into a temporary directory, then runs each in turn, never two at once
// (the benchmarks share the machine's cores with the server and
// PostgreSQL they measure). Which drivers run, and with which flags in the
// short and the full mode, is the one table in drivers.go; the targets
// themselves are not listed here: each driver prints its own as
//
//	RATIO <name> <measured> <target> PASS|MISS
//
// (bench/internal/phase.WriteRatios), and all collects every such line.
//
// By default each driver runs in a short mode (seconds per phase, smaller
// fixtures) so that the whole takes minutes; -full runs each as its
// section of bench/README.md measures it. -only load,sync runs some.
//
// The report prints the collected RATIO lines, in the same format, then a
// table of every target by driver, then each driver that failed: one that
// exited non-zero, timed out, printed no RATIO line or a malformed one,
// with the tail of its stderr.
//
// Exit code 0 when every driver ran and printed its targets, whether they
// were met or not (a MISS is printed, not an error); 1 when a driver
// failed (or could not be built); 2 on a bad command line.
package main
