package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// run is what the steps of a run share.
type run struct {
	cfg   Config
	logf  func(format string, args ...any)
	meter meter
	admin stack.API
	cli   cli
	dir   string // the spec
	// forEachDir is the for_each spec.
	forEachDir string
	// copier and dbURL make the COPY baseline of the apply's rows.
	copier *copier
	dbURL  string
}

// measure sets up the scratch database, the tokens, the server and the
// spec directory, runs the steps and returns the report. Whatever it set
// up is torn down before it returns, also when it fails or ctx is
// canceled: the spec directory removed, the server stopped, the database
// dropped.
func measure(ctx context.Context, cfg Config, progress io.Writer) (rep Report, err error) {
	logf := func(format string, args ...any) { fmt.Fprintf(progress, "spec: "+format+"\n", args...) }
	rep.LoadBefore = stack.LoadAverage()
	if _, err := os.Stat(cfg.Bin); err != nil {
		return rep, fmt.Errorf("understudy binary %s: %w (run make build first, or pass -bin)", cfg.Bin, err)
	}
	db, err := stack.CreateScratch(ctx, cfg.DatabaseURL)
	if err != nil {
		return rep, err
	}
	defer func() { err = errors.Join(err, db.Drop()) }()
	if rep.Machine, err = stack.MachineFacts(ctx, db.URL); err != nil {
		return rep, err
	}
	tokens, err := stack.Prepare(ctx, cfg.Bin, db.URL)
	if err != nil {
		return rep, err
	}
	cp, err := newCopier(ctx, cfg.DatabaseURL, cfg.Bin)
	if err != nil {
		return rep, err
	}
	defer func() { err = errors.Join(err, cp.close()) }()
	srv, err := stack.StartServer(ctx, cfg.Bin, db.URL)
	if err != nil {
		return rep, err
	}
	defer func() { err = errors.Join(err, srv.Stop()) }()
	dir, err := os.MkdirTemp("", "understudy-bench-spec-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	if err := writeSpec(dir, cfg.Roles, cfg.Pool); err != nil {
		return rep, err
	}
	forEachDir := filepath.Join(dir, "for_each")
	if err := os.Mkdir(forEachDir, 0o700); err != nil {
		return rep, err
	}
	if err := writeFiles(forEachDir, forEachFiles(cfg.ForEach)); err != nil {
		return rep, err
	}
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return rep, fmt.Errorf("connecting to TEST_DATABASE_URL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	logf("database %s, server pid %d at %s, spec of %d roles × %d accounts in %s", db.Name, srv.Pid(), srv.BaseURL, cfg.Roles, cfg.Pool, dir)
	m := meter{serverPid: srv.Pid(), conn: conn, db: db.Name}
	r := &run{cfg: cfg, logf: logf, dir: dir, forEachDir: forEachDir, meter: m, copier: cp, dbURL: db.URL,
		admin: stack.NewAPI(srv.BaseURL, tokens.Admin.Secret),
		cli:   cli{bin: cfg.Bin, url: srv.BaseURL, token: tokens.Admin.Secret, meter: m}}
	rep.Config = cfg
	rep, err = r.steps(ctx, rep)
	rep.LoadAfter = stack.LoadAverage()
	return rep, err
}

// steps runs the first apply, the REST baseline, then the no-change plans
// interleaved with their baseline, and checks the figures.
func (r *run) steps(ctx context.Context, rep Report) (Report, error) {
	var err error
	want := r.cfg.Roles * r.cfg.Pool
	rep.Accounts = want
	r.logf("first apply: %s apply -auto-approve DIR ...", r.cfg.Bin)
	if rep.Apply, err = r.cli.run(ctx, 0, "apply", "-auto-approve", r.dir); err != nil {
		return rep, fmt.Errorf("first apply: %w", err)
	}
	if err := checkAccounts(ctx, r.admin, specEnvironment, want); err != nil {
		return rep, fmt.Errorf("after the first apply: %w", err)
	}
	r.logf("first apply: %d accounts in %.2f s", want, rep.Apply.Wall.Millis()/1000)
	if rep.Copy, err = r.copier.measure(ctx, r.dbURL, specEnvironment, r.cfg.CopyRounds); err != nil {
		return rep, fmt.Errorf("COPY baseline: %w", err)
	}
	r.logf("COPY baseline: %v rows, rounds %v", rep.Copy.Rows, rep.Copy.Rounds)
	if rep.Direct, err = r.direct(ctx); err != nil {
		return rep, fmt.Errorf("REST baseline: %w", err)
	}
	if err := checkAccounts(ctx, r.admin, peerEnvironment, want); err != nil {
		return rep, fmt.Errorf("after the REST baseline: %w", err)
	}
	r.logf("REST baseline: %d POSTs in %.2f s", 1+r.cfg.Roles, rep.Direct.Wall.Millis()/1000)
	for i := range r.cfg.Plans {
		// -detailed-exitcode: 0 no changes, 2 changes, 1 error.
		p, err := r.cli.run(ctx, 0, "plan", "-detailed-exitcode", r.dir)
		if err != nil {
			return rep, fmt.Errorf("no-change plan %d: %w", i+1, err)
		}
		l, err := r.cli.run(ctx, 0, "roles", "list", specEnvironment)
		if err != nil {
			return rep, fmt.Errorf("roles list %d: %w", i+1, err)
		}
		rep.Plans, rep.Lists = append(rep.Plans, p), append(rep.Lists, l)
		r.logf("plan %d: %.0f ms; roles list: %.0f ms", i+1, p.Wall.Millis(), l.Wall.Millis())
	}
	if err := r.forEach(ctx, &rep); err != nil {
		return rep, err
	}
	rep.Checks = rep.check()
	return rep, nil
}

// forEach applies the for_each spec in its own workspace, then times its
// no-change plans, each beside a roles list of its environment.
func (r *run) forEach(ctx context.Context, rep *Report) error {
	ws := "-workspace=" + forEachWorkspace
	r.logf("for_each spec: %s apply %s -auto-approve DIR/for_each (%d objects) ...", r.cfg.Bin, ws, r.cfg.ForEach)
	var err error
	if rep.ForEachApply, err = r.cli.run(ctx, 0, "apply", ws, "-auto-approve", r.forEachDir); err != nil {
		return fmt.Errorf("for_each apply: %w", err)
	}
	for i := range r.cfg.Plans {
		p, err := r.cli.run(ctx, 0, "plan", ws, "-detailed-exitcode", r.forEachDir)
		if err != nil {
			return fmt.Errorf("for_each no-change plan %d: %w", i+1, err)
		}
		l, err := r.cli.run(ctx, 0, "roles", "list", forEachEnvironment)
		if err != nil {
			return fmt.Errorf("roles list %s %d: %w", forEachEnvironment, i+1, err)
		}
		rep.ForEachPlans, rep.ForEachLists = append(rep.ForEachPlans, p), append(rep.ForEachLists, l)
		r.logf("for_each plan %d: %.0f ms; roles list %s: %.0f ms", i+1, p.Wall.Millis(), forEachEnvironment, l.Wall.Millis())
	}
	return nil
}

// direct times the REST baseline: the objects of the spec, in environment
// peer, one POST each.
func (r *run) direct(ctx context.Context) (Timed, error) {
	return r.meter.time(ctx, func() error {
		return createDirect(ctx, r.admin, peerEnvironment, r.cfg.Roles, r.cfg.Pool)
	})
}
