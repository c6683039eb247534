package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
	"github.com/understudy-dev/understudy/examples/chirp"
)

// stackRun is what the phases measure against.
type stackRun struct {
	cfg      Config
	progress io.Writer
	pgbench  string // the binary
	benchURL string // pgbench's database
	ownURL   string // Understudy's database
	ownDB    string // its name
	chirpDB  string // chirp's database's name
	server   *stack.Server
	tokens   stack.Tokens
	chirp    *chirp.App
	pool     *pgxpool.Pool // on chirp's database
}

// measure sets up three scratch databases (Understudy's, pgbench's,
// chirp's), the tokens and the server, runs the phases and returns the
// report. Whatever it set up is torn down before it returns, also when it
// fails or ctx is canceled: the server is stopped, then the databases
// dropped.
func measure(ctx context.Context, cfg Config, progress io.Writer) (rep Report, err error) {
	if _, err := os.Stat(cfg.Bin); err != nil {
		return Report{}, fmt.Errorf("server binary %s: %w (run make build first, or pass -bin)", cfg.Bin, err)
	}
	r := &stackRun{cfg: cfg, progress: progress}
	if r.pgbench, err = findPgbench(cfg.Pgbench); err != nil {
		return Report{}, err
	}
	load := stack.LoadAverage()
	var dbs [3]*stack.Scratch // Understudy's, pgbench's, chirp's
	defer func() {
		for _, db := range dbs {
			if db == nil {
				continue
			}
			if derr := db.Drop(); derr != nil {
				err = errors.Join(err, derr)
				continue
			}
			fmt.Fprintf(progress, "lease: dropped database %s\n", db.Name)
		}
	}()
	for i, what := range []string{"Understudy", "pgbench", "chirp"} {
		if dbs[i], err = stack.CreateScratch(ctx, cfg.DatabaseURL); err != nil {
			return Report{}, err
		}
		fmt.Fprintf(progress, "lease: created database %s (%s)\n", dbs[i].Name, what)
	}
	r.benchURL, r.ownURL = dbs[1].URL, dbs[0].URL
	r.ownDB, r.chirpDB = dbs[0].Name, dbs[2].Name
	if r.pool, r.chirp, err = openChirp(ctx, dbs[2].URL, cfg.Workers); err != nil {
		return Report{}, err
	}
	defer r.pool.Close() // before the drop: deferred later, runs first
	if r.tokens, err = stack.Prepare(ctx, cfg.Bin, dbs[0].URL); err != nil {
		return Report{}, err
	}
	if r.server, err = stack.StartServer(ctx, cfg.Bin, dbs[0].URL); err != nil {
		return Report{}, err
	}
	defer func() { err = errors.Join(err, r.server.Stop()) }()
	fmt.Fprintf(progress, "lease: server ready at %s (pid %d)\n", r.server.BaseURL, r.server.Pid())
	rep, err = r.measure(ctx, dbs[2].URL)
	rep.LoadAverage = load
	if err == nil {
		rep.Machine, err = stack.MachineFacts(ctx, dbs[0].URL)
	}
	return rep, err
}

// measure creates the fixture, then runs (a), (b), (b'), (c) and (d) one
// after the other.
func (r *stackRun) measure(ctx context.Context, chirpURL string) (Report, error) {
	cfg := r.cfg
	rep := Report{Workers: cfg.Workers, WarmupSeconds: cfg.Warmup.Seconds(), DurationSeconds: cfg.Duration.Seconds(), Rounds: cfg.Rounds}
	accounts, baselines, err := r.fixture(ctx, chirpURL)
	if err != nil {
		return rep, err
	}
	rep.Baseline = baselines[0].describe()
	fmt.Fprintf(r.progress, "lease: chirp baseline per user: %s\n", rep.Baseline)

	fmt.Fprintf(r.progress, "lease: (a) pgbench -N, %d clients: initializing\n", cfg.Workers)
	if err := initPgbench(ctx, r.pgbench, r.benchURL, cfg.Workers, cfg.Warmup); err != nil {
		return rep, err
	}
	use := func(ctx context.Context, ref int64) error { return mutate(ctx, r.chirp, ref) }
	phases := []struct {
		name    string
		chirp   bool // the phase writes chirp's tables
		prime   bool // the phase runs once before the first slice (primeFor)
		clients func(i int) phase.Client
	}{
		{phaseFake, false, true, func(i int) phase.Client {
			return newLeaseCycle(newEndpoint(r.server.BaseURL, r.tokens.Runner.Secret), fakeEnvironment, fakeApp, i, nil)
		}},
		{phaseOutcome, false, true, func(i int) phase.Client {
			return newOutcomeCycle(newEndpoint(r.server.BaseURL, r.tokens.Runner.Secret), fakeEnvironment, i, 0)
		}},
		{phaseFailures, false, true, func(i int) phase.Client {
			return newOutcomeCycle(newEndpoint(r.server.BaseURL, r.tokens.Runner.Secret), fakeEnvironment, i, failEvery)
		}},
		{phaseChirp, true, false, func(i int) phase.Client {
			return newLeaseCycle(newEndpoint(r.server.BaseURL, r.tokens.Runner.Secret), chirpEnvironment, chirpApp, i, use)
		}},
		{phaseChirpReset, true, false, func(i int) phase.Client {
			return &resetAlone{endpoint: newEndpoint(r.server.BaseURL, r.tokens.Admin.Secret), accountID: accounts[i], ref: baselines[i].ref, use: use}
		}},
		{phaseRaw, true, false, func(i int) phase.Client {
			return &rawRestore{pool: r.pool, sql: buildRawStatements(), b: baselines[i], use: use}
		}},
	}
	clients := make([][]phase.Client, len(phases)) // each phase keeps its clients (and connections) from round to round
	for k, p := range phases {
		clients[k] = make([]phase.Client, cfg.Workers)
		for i := range clients[k] {
			clients[k][i] = p.clients(i)
		}
		defer closeIdle(clients[k])
	}
	// Prime: each phase that names runs or ends them runs once, unrecorded,
	// so that the tables its cycles grow (leases, runs, run_captures) hold
	// rows when they are analyzed before the first slice. A table analyzed
	// empty is planned as a table of a page: a release's join of its run
	// by key then reads the whole of runs, which grows by some 800 rows a
	// second, for as long as a slice lasts (no server in use is in that
	// state: autovacuum analyzes a table once 50 rows have changed).
	for k, p := range phases {
		if !p.prime {
			continue
		}
		fmt.Fprintf(r.progress, "lease: priming %s, %d workers, %s\n", p.name, cfg.Workers, primeFor)
		if _, err := phase.Run(ctx, phase.Config{Duration: primeFor}, p.name, clients[k]); err != nil {
			return rep, err
		}
	}
	var pgbenchParts []Pgbench
	parts := make([][]Measured, len(phases))
	for round := range cfg.Rounds {
		slice := cfg.slice(round)
		fmt.Fprintf(r.progress, "lease: round %d of %d: (a) pgbench -N, %d clients, %s\n", round+1, cfg.Rounds, cfg.Workers, slice.Duration)
		pg, err := runPgbench(ctx, r.pgbench, r.benchURL, cfg.Workers, slice.Duration)
		if err != nil {
			return rep, err
		}
		pgbenchParts = append(pgbenchParts, pg)
		for k, p := range phases {
			if err := vacuumUnderstudy(ctx, r.ownURL); err != nil {
				return rep, err
			}
			if p.chirp {
				if err := vacuumChirp(ctx, r.pool); err != nil {
					return rep, err
				}
			}
			fmt.Fprintf(r.progress, "lease: %s, %d workers, %s warm-up, %s measured\n", p.name, cfg.Workers, slice.Warmup, slice.Duration)
			var start procTimes
			cpu := startCPUAfter(slice.Warmup, func() { start = r.readProcTimes(ctx) })
			res, err := phase.Run(ctx, slice, p.name, clients[k])
			if err != nil {
				return rep, err
			}
			busy := cpu.busy() // start is read once busy returns
			parts[k] = append(parts[k], Measured{Result: res, CPUBusy: busy, proc: r.readProcTimes(ctx).since(start)})
		}
	}
	rep.Pgbench = mergePgbench(pgbenchParts)
	for k, p := range phases {
		m := mergeMeasured(p.name, parts[k])
		m.CPUPerOperation = m.proc.perOperation(m.Requests)
		if m.FirstError != nil {
			fmt.Fprintf(r.progress, "lease: %s: %d of %d measured requests failed; first error: %v\n", p.name, m.Errors, m.Errors+m.Requests, m.FirstError)
		}
		rep.Phases = append(rep.Phases, m)
	}
	for k, p := range phases {
		if p.name != phaseFailures {
			continue
		}
		if rep.Captures, err = readCaptures(ctx, stack.NewAPI(r.server.BaseURL, r.tokens.Admin.Secret), clients[k]); err != nil {
			return rep, err
		}
	}
	rep.Checks = rep.check()
	return rep, nil
}

// readCaptures sums up the captures of the leases the clients released as
// failed (phase (f)), through the API as a user reads them
// (GET /v1/runs/{id}/capture): how many ended in each status, and how long
// the captured ones held their account, from the lease's end to the
// capture's commit.
func readCaptures(ctx context.Context, api stack.API, clients []phase.Client) (Captures, error) {
	var c Captures
	var held []time.Duration
	for _, cl := range clients {
		lc, ok := cl.(*leaseCycle)
		if !ok {
			continue
		}
		for _, id := range lc.failed {
			var cp struct {
				Status      string     `json:"status"`
				RequestedAt time.Time  `json:"requested_at"`
				FinishedAt  *time.Time `json:"finished_at"`
			}
			if err := api.Call(ctx, http.MethodGet, "/v1/runs/"+id+"/capture", nil, http.StatusOK, &cp); err != nil {
				return Captures{}, fmt.Errorf("reading the capture of lease %s: %w", id, err)
			}
			switch {
			case cp.Status == "captured" && cp.FinishedAt != nil:
				c.Captured++
				held = append(held, cp.FinishedAt.Sub(cp.RequestedAt))
			case cp.Status == "failed":
				c.Failed++
			default:
				c.Pending++
			}
		}
	}
	slices.Sort(held)
	c.HeldP50, c.HeldP99 = rank(held, 0.50), rank(held, 0.99)
	return c, nil
}

// rank is the nearest-rank percentile q of sorted d (0 when d is empty).
func rank(d []time.Duration, q float64) phase.Latency {
	if len(d) == 0 {
		return 0
	}
	i := max(int(math.Ceil(q*float64(len(d))))-1, 0)
	return phase.Latency(d[i])
}

// primeFor is how long each phase that grows Understudy's tables runs
// before the first slice, unrecorded.
const primeFor = 2 * time.Second

// fakePoolPerWorker is the fake environment's accounts per worker. An
// account whose run failed is held while its state is captured, and its
// worker takes another meanwhile: at one failure in failEvery and some 80
// cycles a second a worker, a worker fails every 125 ms or so, so three
// spares each let a capture take some 375 ms (a burst of them queued on a
// busy machine) before the workers find every account held.
const fakePoolPerWorker = 4

// fixture creates both environments, waits for their accounts, seeds
// chirp's users and captures their new baseline. It returns the chirp
// environment's account ids and their baselines, in the same order.
func (r *stackRun) fixture(ctx context.Context, chirpURL string) ([]string, []baseline, error) {
	admin := stack.NewAPI(r.server.BaseURL, r.tokens.Admin.Secret)
	n := r.cfg.Workers
	if err := createEnvironment(ctx, admin, fakeEnvironment, fakePoolPerWorker*n, map[string]any{"name": fakeApp, "provider": "fake"}); err != nil {
		return nil, nil, err
	}
	if err := createEnvironment(ctx, admin, chirpEnvironment, n, chirpAttach(chirpURL)); err != nil {
		return nil, nil, err
	}
	if _, err := waitReady(ctx, admin, fakeEnvironment, fakePoolPerWorker*n); err != nil {
		return nil, nil, err
	}
	accounts, err := waitReady(ctx, admin, chirpEnvironment, n)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(r.progress, "lease: %d accounts ready in %s and in %s\n", n, fakeEnvironment, chirpEnvironment)
	refs, err := chirpRefs(ctx, r.pool, accounts)
	if err != nil {
		return nil, nil, err
	}
	if err := seed(ctx, r.pool, r.chirp, refs, r.cfg.PeerFollows); err != nil {
		return nil, nil, err
	}
	baselines, err := rebaseline(ctx, admin, accounts, refs)
	return accounts, baselines, err
}

// vacuumChirp vacuums chirp's tables, so that each chirp phase starts from
// tables without the dead rows the phase before it left: otherwise (d)
// would run on tables bloated by (c)'s resets, and the baseline would move
// with the code under test (a provider that rewrites every row leaves far
// more dead rows than one that writes what differs).
func vacuumChirp(ctx context.Context, pool *pgxpool.Pool) error {
	tables := []string{pgx.Identifier{"users"}.Sanitize()}
	for _, t := range chirpTables {
		tables = append(tables, pgx.Identifier{t.table}.Sanitize())
	}
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("vacuuming chirp's tables: %w", err)
	}
	return nil
}

// mergeMeasured merges the slices of one phase, with the CPU use averaged
// over them (unknown if any slice's is).
func mergeMeasured(name string, parts []Measured) Measured {
	results := make([]phase.Result, len(parts))
	cpu := 0.0
	proc := procCPU{ok: true}
	for i, p := range parts {
		results[i] = p.Result
		proc = proc.add(p.proc)
		if cpu >= 0 && p.CPUBusy >= 0 {
			cpu += p.CPUBusy / float64(len(parts))
		} else {
			cpu = -1
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return Measured{Result: phase.Merge(name, results...), CPUBusy: cpu, proc: proc}
}

// vacuumUnderstudy vacuums the tables of Understudy's database that every
// lease and reset rewrites (a cycle updates its account's row twice and
// its lease's row twice; the status is indexed, so none of these updates
// is HOT; a cycle of (b') writes its run twice), as pgbench vacuums its
// own tables before each of its runs: the
// server's PostgreSQL may run without autovacuum (the test server does),
// and each phase then starts, as (a) does, from tables without the dead
// rows of the phases before it.
func vacuumUnderstudy(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connecting to Understudy's database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) accounts, leases, account_resets, runs, run_captures, river_job"); err != nil {
		return fmt.Errorf("vacuuming Understudy's tables: %w", err)
	}
	return nil
}

// closeIdle closes the idle connections of the clients that hold some.
func closeIdle(clients []phase.Client) {
	for _, c := range clients {
		switch c := c.(type) {
		case *leaseCycle:
			c.hc.CloseIdleConnections()
		case *resetAlone:
			c.hc.CloseIdleConnections()
		}
	}
}
