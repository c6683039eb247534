package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// meter reads the CPU time used by the server and by PostgreSQL's
// backends connected to the scratch database. The backends' is known only
// when PostgreSQL runs on this machine (their pids are then in /proc); a
// backend that exits between two readings is lost, which the server's
// pool makes rare.
type meter struct {
	serverPid int
	conn      *pgx.Conn // on TEST_DATABASE_URL, so its own backend is not one of the scratch database's
	db        string    // the scratch database
}

// reading is what meter read at one time.
type reading struct {
	server   time.Duration
	backends map[int]time.Duration // nil when unknown
}

const backendsSQL = `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`

// read reads the server's CPU time and each backend's.
func (m meter) read(ctx context.Context) (reading, error) {
	server, err := stack.ProcessCPU(m.serverPid)
	if err != nil {
		return reading{}, err
	}
	rows, err := m.conn.Query(ctx, backendsSQL, m.db)
	if err != nil {
		return reading{}, fmt.Errorf("listing the backends of %s: %w", m.db, err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return reading{}, fmt.Errorf("listing the backends of %s: %w", m.db, err)
	}
	backends := map[int]time.Duration{}
	for _, pid := range pids {
		cpu, ok := backendCPU(int(pid))
		if !ok {
			return reading{server: server}, nil // PostgreSQL is elsewhere
		}
		backends[int(pid)] = cpu
	}
	return reading{server: server, backends: backends}, nil
}

// backendCPU returns the CPU time of pid when it is a local postgres
// process.
func backendCPU(pid int) (time.Duration, bool) {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
		return 0, false
	}
	cpu, err := stack.ProcessCPU(pid)
	return cpu, err == nil
}

// since returns the CPU used from r0 to r1: the server's, and the
// backends' (-1 when unknown). A backend that r0 did not see started
// meanwhile: all its time counts.
func since(r0, r1 reading) (server, postgres phase.Latency) {
	server = phase.Latency(r1.server - r0.server)
	if r0.backends == nil || r1.backends == nil {
		return server, -1
	}
	var sum time.Duration
	for pid, cpu := range r1.backends {
		sum += cpu - r0.backends[pid]
	}
	return server, phase.Latency(sum)
}

// time runs f between two readings and returns its wall clock with the
// CPU used meanwhile.
func (m meter) time(ctx context.Context, f func() error) (Timed, error) {
	r0, err := m.read(ctx)
	if err != nil {
		return Timed{}, err
	}
	start := time.Now()
	ferr := f()
	wall := time.Since(start)
	r1, err := m.read(ctx)
	if err != nil {
		return Timed{}, err
	}
	t := Timed{Wall: phase.Latency(wall)}
	t.ServerCPU, t.PostgresCPU = since(r0, r1)
	return t, ferr
}
