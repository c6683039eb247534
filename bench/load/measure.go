package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// measure sets up a scratch stack (database, tokens, server, peer,
// accounts), runs the three phases and returns the report. Whatever it set
// up is torn down before it returns, also when it fails or ctx is
// canceled: the peer and the server are stopped, then the database dropped.
func measure(ctx context.Context, cfg Config, progress io.Writer) (rep Report, err error) {
	db, drop, err := stack.OpenScratch(ctx, "load", cfg.Bin, cfg.DatabaseURL, progress)
	if err != nil {
		return Report{}, err
	}
	defer drop(&err)
	toks, err := stack.Prepare(ctx, cfg.Bin, db.URL)
	if err != nil {
		return Report{}, err
	}
	srv, err := stack.StartServer(ctx, cfg.Bin, db.URL)
	if err != nil {
		return Report{}, err
	}
	defer func() { err = errors.Join(err, srv.Stop()) }()
	fmt.Fprintf(progress, "load: server ready at %s (pid %d)\n", srv.BaseURL, srv.Pid())
	peer, cleanup, err := startPeer(ctx, cfg, db.URL, toks.Runner.Secret, progress)
	defer cleanup()
	if err != nil {
		return Report{}, err
	}
	defer func() { err = errors.Join(err, peer.Stop()) }()
	return measureStack(ctx, cfg, db.URL, side{srv.BaseURL, srv.Pid()}, side{peer.BaseURL, peer.Pid()}, toks, progress)
}

// measureStack creates the accounts, checks that the server and the peer
// answer the same document, then runs the HTTP phase and the peer phase
// (next to each other, as they are compared; see comparedPhases), then the
// bare SELECT phase.
func measureStack(ctx context.Context, cfg Config, dbURL string, server, peer side, toks stack.Tokens, progress io.Writer) (Report, error) {
	ids, err := seedAccounts(ctx, server.url, toks.Admin.Secret)
	if err != nil {
		return Report{}, err
	}
	if err := sameAnswer(ctx, server.url, peer.url, toks.Runner.Secret, ids[0]); err != nil {
		return Report{}, err
	}
	machine, err := stack.MachineFacts(ctx, dbURL)
	if err != nil {
		return Report{}, err
	}
	fmt.Fprintf(progress, "load: %d accounts; phases http and peer: %d clients, %s warm-up, %s measured, in %d round(s)\n",
		len(ids), cfg.Clients, cfg.Warmup, cfg.Duration, cfg.Rounds)
	web, hand, cpu, err := comparedPhases(ctx, cfg, server, peer, toks.Runner.Secret, ids)
	if err != nil {
		return Report{}, err
	}
	fmt.Fprintf(progress, "load: phase select: %d clients, %s warm-up, %s measured\n", cfg.Clients, cfg.Warmup, cfg.Duration)
	bare, err := selectPhase(ctx, cfg, dbURL, ids)
	if err != nil {
		return Report{}, err
	}
	rep := newReport(cfg, machine, web, bare, hand)
	rep.setCPU(cpu, web, hand)
	return rep, nil
}
