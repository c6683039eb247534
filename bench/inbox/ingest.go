package main

import (
	"context"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
)

// ingestSubject is the subject of the ingest phases' messages.
const ingestSubject = "Your Example Shop sign-in code"

// ingestClient sends the sign-in message on its own SMTP connection to the
// addresses in turn.
type ingestClient struct {
	s     *sender
	msg   message
	addrs []string
	next  int
}

// Do sends one message and waits for the 250 after its data.
func (c *ingestClient) Do(ctx context.Context, _ *phase.Steps) error {
	rcpt := c.addrs[c.next%len(c.addrs)]
	c.next++
	_, err := c.s.send(ctx, rcpt, c.msg.render(rcpt, ingestSubject, seq.Add(1)))
	return err
}

// ingestClients returns n clients of the SMTP server at addr, each
// starting at a different address, and a function that closes their
// connections.
func ingestClients(n int, addr string, msg message, addrs []string) ([]phase.Client, func()) {
	clients := make([]phase.Client, n)
	senders := make([]*sender, n)
	for i := range clients {
		senders[i] = newSender(addr)
		clients[i] = &ingestClient{s: senders[i], msg: msg, addrs: addrs, next: i}
	}
	return clients, func() {
		for _, s := range senders {
			_ = s.Close()
		}
	}
}

// target is an SMTP server an ingest phase sends to.
type target struct {
	name  string // the phase: ingest-understudy, ingest-mailpit
	smtp  string // host:port
	addrs []string
}

// ingestPhases measures SMTP ingest on each target, alternating in
// cfg.Rounds slices of cfg.Duration/cfg.Rounds each (the first target's
// slice, the second's, then the first's again, ...), so that whatever else
// loads the machine weighs on all alike. Each target keeps its clients,
// and so its connections, from slice to slice; its first slice has the
// warm-up. The results are in the order of targets.
func ingestPhases(ctx context.Context, cfg Config, msg message, targets []target) ([]phase.Result, error) {
	clients := make([][]phase.Client, len(targets))
	for i, t := range targets {
		cs, closeAll := ingestClients(cfg.Clients, t.smtp, msg, t.addrs)
		defer closeAll()
		clients[i] = cs
	}
	parts := make([][]phase.Result, len(targets))
	for r := range cfg.Rounds {
		slice := phase.Config{Duration: cfg.Duration / time.Duration(cfg.Rounds)}
		if r == 0 {
			slice.Warmup = cfg.Warmup
		}
		for i, t := range targets {
			res, err := phase.Run(ctx, slice, t.name, clients[i])
			if err != nil {
				return nil, err
			}
			parts[i] = append(parts[i], res)
		}
	}
	out := make([]phase.Result, len(targets))
	for i, t := range targets {
		out[i] = phase.Merge(t.name, parts[i]...)
	}
	return out, nil
}
