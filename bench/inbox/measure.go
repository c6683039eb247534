package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// smtpReadyTimeout bounds the wait for a receiver's SMTP port after its
// HTTP side is ready.
const smtpReadyTimeout = 10 * time.Second

// understudy is the server under measurement, set up for the phases.
type understudy struct {
	srv      *stack.Server
	smtp     string // its SMTP address
	runner   string // the runner token's secret
	accounts []account
	leases   []lease
}

// measure sets up Understudy (a scratch database, tokens, the server with
// its SMTP receiver, accounts and leases) unless -skip-understudy, then
// Mailpit, runs the phases and returns the report. Whatever it set up is
// torn down before it returns, also when it fails or ctx is canceled: the
// leases released, the servers stopped, then the database dropped.
func measure(ctx context.Context, cfg Config, progress io.Writer) (rep Report, err error) {
	if cfg.SkipUnderstudy {
		m := stack.Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
		return measurePhases(ctx, cfg, m, nil, progress)
	}
	db, drop, err := stack.OpenScratch(ctx, "inbox", cfg.Bin, cfg.DatabaseURL, progress)
	if err != nil {
		return Report{}, err
	}
	defer drop(&err)
	toks, err := stack.Prepare(ctx, cfg.Bin, db.URL)
	if err != nil {
		return Report{}, err
	}
	smtpAddr, err := stack.FreeAddr()
	if err != nil {
		return Report{}, err
	}
	// Sender checks off, as Mailpit makes none: they ask the sender's DNS
	// (SPF, DKIM, DMARC), which a bench machine without a resolver answers
	// only at the checks' 2 s timeout, so they would measure that timeout.
	// The per-client connection limits are raised, as Mailpit has none: the
	// clients reconnect every 50 messages, from one address, more than the
	// default 120 a minute.
	srv, err := stack.StartServer(ctx, cfg.Bin, db.URL, "UNDERSTUDY_SMTP_ADDR="+smtpAddr, "UNDERSTUDY_SMTP_CHECK_SENDERS=false",
		"UNDERSTUDY_SMTP_CLIENT_CONNS_PER_MINUTE=100000", "UNDERSTUDY_SMTP_CLIENT_MAX_CONNS=100")
	if err != nil {
		return Report{}, err
	}
	defer func() { err = errors.Join(err, srv.Stop()) }()
	if err := waitSMTP(ctx, "the server", smtpAddr, smtpReadyTimeout); err != nil {
		return Report{}, fmt.Errorf("%w (a server built without the SMTP receiver ignores UNDERSTUDY_SMTP_ADDR: pass -skip-understudy to measure Mailpit alone)", err)
	}
	fmt.Fprintf(progress, "inbox: server ready at %s, SMTP at %s (pid %d)\n", srv.BaseURL, smtpAddr, srv.Pid())
	machine, err := stack.MachineFacts(ctx, db.URL)
	if err != nil {
		return Report{}, err
	}
	us := &understudy{srv: srv, smtp: smtpAddr, runner: toks.Runner.Secret}
	if us.accounts, err = createAccounts(ctx, stack.NewAPI(srv.BaseURL, toks.Admin.Secret)); err != nil {
		return Report{}, err
	}
	runner := stack.NewAPI(srv.BaseURL, toks.Runner.Secret)
	us.leases, err = acquireLeases(ctx, runner, waiters)
	defer func() { err = errors.Join(err, releaseLeases(context.WithoutCancel(ctx), runner, us.leases)) }()
	if err != nil {
		return Report{}, err
	}
	return measurePhases(ctx, cfg, machine, us, progress)
}

// measurePhases starts Mailpit (unless -skip-mailpit), then runs the
// ingest phases, the delivery phase (Understudy only) and the memory
// phases. us is nil with -skip-understudy.
func measurePhases(ctx context.Context, cfg Config, m stack.Machine, us *understudy, progress io.Writer) (rep Report, err error) {
	rep = newReport(cfg, m)
	var targets []target
	var pids []int
	addrs := syntheticAddresses(ingestAccounts)
	if us != nil {
		addrs = unleased(us.accounts, us.leases)
		targets, pids = append(targets, target{name: "ingest-understudy", smtp: us.smtp, addrs: addrs}), append(pids, us.srv.Pid())
	}
	if !cfg.SkipMailpit {
		mp, cleanup, err := runMailpit(ctx, cfg, progress)
		defer cleanup()
		if err != nil {
			return rep, err
		}
		defer func() { err = errors.Join(err, mp.Stop()) }()
		targets, pids = append(targets, target{name: "ingest-mailpit", smtp: mp.smtp, addrs: addrs}), append(pids, mp.Pid())
	}
	fmt.Fprintf(progress, "inbox: ingest: %d clients, %s warm-up, %s measured, in %d round(s)\n", cfg.Clients, cfg.Warmup, cfg.Duration, cfg.Rounds)
	if rep.Ingest, err = ingestPhases(ctx, cfg, signInMessage(), targets); err != nil {
		return rep, err
	}
	if us != nil {
		fmt.Fprintf(progress, "inbox: delivery: %d waiters, %s warm-up, %s measured (at least %d messages)\n", len(us.leases), cfg.Warmup, cfg.Duration, minDelivered)
		res, st, err := deliveryPhase(ctx, cfg, us.smtp, us.srv.BaseURL, us.runner, us.leases)
		if err != nil {
			return rep, err
		}
		rep.Delivery, rep.DeliveryStats = &res, &st
	}
	for i, t := range targets {
		name := "memory" + t.name[len("ingest"):]
		fmt.Fprintf(progress, "inbox: %s: %d messages of %d MiB, %d at a time\n", name, memMessages, memSize>>20, memClients)
		mem, err := memoryPhase(ctx, name, t, pids[i], issueLoad)
		if ctx.Err() != nil {
			return rep, err
		}
		if err != nil { // a refused 10 MiB message is a finding, not a failed run
			mem.Error = err.Error()
		}
		rep.Memory = append(rep.Memory, mem)
	}
	rep.check()
	return rep, nil
}

// runMailpit builds (or finds) Mailpit and starts it with its database in
// a temporary directory, which the returned cleanup (never nil) removes.
func runMailpit(ctx context.Context, cfg Config, progress io.Writer) (*mailpit, func(), error) {
	cleanup := func() {}
	bin, err := mailpitBinary(ctx, cfg, progress)
	if err != nil {
		return nil, cleanup, err
	}
	dir, err := os.MkdirTemp("", "understudy-bench-mailpit-data-")
	if err != nil {
		return nil, cleanup, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	mp, err := startMailpit(ctx, bin, dir)
	if err != nil {
		return nil, cleanup, err
	}
	if err := waitSMTP(ctx, "Mailpit", mp.smtp, smtpReadyTimeout); err != nil {
		return nil, cleanup, errors.Join(err, mp.Stop())
	}
	fmt.Fprintf(progress, "inbox: Mailpit ready at %s, SMTP at %s (pid %d)\n", mp.BaseURL, mp.smtp, mp.Pid())
	return mp, cleanup, nil
}

// syntheticAddresses returns n addresses of the bench domain, for Mailpit
// alone (which accepts any).
func syntheticAddresses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("shopper-%02d@%s", i, benchDomain)
	}
	return out
}
