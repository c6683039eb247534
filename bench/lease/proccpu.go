package main

import (
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// procTimes are the CPU times, from /proc, of the processes that serve a
// phase: Understudy's server, this driver, and PostgreSQL's backends of
// Understudy's database and of chirp's, each backend by pid. ok is false
// when they could not all be read (no /proc, or a PostgreSQL on another
// machine: a pid whose process is not a postgres one is not read).
type procTimes struct {
	server, driver time.Duration
	own, chirp     map[int]time.Duration
	ok             bool
}

// backendsSQL lists the backends of the databases $1 (Understudy's) and
// $2 (chirp's).
const backendsSQL = `SELECT pid, datname = $1 FROM pg_stat_activity WHERE datname IN ($1, $2)`

// readProcTimes reads the CPU times of the server, the driver and the
// backends of the two databases.
func (r *stackRun) readProcTimes(ctx context.Context) procTimes {
	t := procTimes{own: map[int]time.Duration{}, chirp: map[int]time.Duration{}}
	var err error
	if t.server, err = stack.ProcessCPU(r.server.Pid()); err != nil {
		return t
	}
	if t.driver, err = stack.ProcessCPU(os.Getpid()); err != nil {
		return t
	}
	type backend struct {
		pid int
		own bool
	}
	rows, _ := r.pool.Query(ctx, backendsSQL, r.ownDB, r.chirpDB)
	backends, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (b backend, err error) {
		err = row.Scan(&b.pid, &b.own)
		return b, err
	})
	if err != nil {
		return t
	}
	for _, b := range backends {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(b.pid) + "/stat")
		if err != nil {
			continue // a backend that has just exited
		}
		line := string(raw)
		if !strings.Contains(line, " (postgres) ") {
			return t // another machine's pid: nothing here is its CPU
		}
		d, err := stack.ParseStat(line)
		if err != nil {
			continue
		}
		if b.own {
			t.own[b.pid] = d
		} else {
			t.chirp[b.pid] = d
		}
	}
	t.ok = true
	return t
}

// procCPU is the CPU the processes serving a phase used over its measured
// duration (each slice's, added up): the server, the driver, and the
// backends of each database. A backend that exited meanwhile is not
// counted (the pools keep theirs); one that started is counted whole.
type procCPU struct {
	Server, Driver, Own, Chirp time.Duration
	ok                         bool
}

// since is the CPU used from start to t.
func (t procTimes) since(start procTimes) procCPU {
	if !t.ok || !start.ok {
		return procCPU{}
	}
	backends := func(end, begin map[int]time.Duration) time.Duration {
		var sum time.Duration
		for pid, d := range end {
			sum += d - begin[pid]
		}
		return sum
	}
	return procCPU{Server: t.server - start.server, Driver: t.driver - start.driver,
		Own: backends(t.own, start.own), Chirp: backends(t.chirp, start.chirp), ok: true}
}

// add is the CPU of two slices of a phase; unknown if either is.
func (c procCPU) add(d procCPU) procCPU {
	if !c.ok || !d.ok {
		return procCPU{}
	}
	return procCPU{Server: c.Server + d.Server, Driver: c.Driver + d.Driver, Own: c.Own + d.Own, Chirp: c.Chirp + d.Chirp, ok: true}
}

// CPUPerOperation is, in milliseconds, the CPU each process spent per
// operation of a phase (per whole request: a cycle, a use and a reset…).
type CPUPerOperation struct {
	Server           float64 `json:"server"`
	UnderstudysDB    float64 `json:"understudy_database"`
	ChirpsDB         float64 `json:"chirp_database"`
	Driver           float64 `json:"driver"`
	UnderstudysTotal float64 `json:"understudy_total"`
}

// perOperation divides c over n operations; nil when unknown.
func (c procCPU) perOperation(n int) *CPUPerOperation {
	if !c.ok || n <= 0 {
		return nil
	}
	ms := func(d time.Duration) float64 { return math.Round(1000*d.Seconds()*1000/float64(n)) / 1000 }
	return &CPUPerOperation{Server: ms(c.Server), UnderstudysDB: ms(c.Own), ChirpsDB: ms(c.Chirp), Driver: ms(c.Driver),
		UnderstudysTotal: ms(c.Server + c.Own)}
}
