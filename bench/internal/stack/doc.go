// Package stack sets up what the load drivers under bench/ measure: scratch
// databases on the server TEST_DATABASE_URL points at, the server binary's
// migrations and tokens (made with its own commands), the server running as
// a subprocess on a free loopback port, and a small JSON client of its API.
//
// Whatever a driver sets up it tears down, also on failure or Ctrl-C: Stop
// the Server, then Drop each Scratch database. Only a kill -9 of the driver
// leaves a understudy_bench_* database behind (on Linux the kernel still
// kills the server).
package stack
