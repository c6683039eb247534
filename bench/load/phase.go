package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// httpClient reads accounts over HTTP on its own keep-alive connection.
type httpClient struct {
	hc         *http.Client
	base, auth string
	ids        []string
	next       int
}

// Do makes one GET /v1/accounts/{id}, reads the body and wants 200.
func (c *httpClient) Do(ctx context.Context, _ *phase.Steps) error {
	id := c.ids[c.next%len(c.ids)]
	c.next++
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/accounts/"+id, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", c.auth)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v1/accounts/%s: HTTP %d", id, resp.StatusCode)
	}
	return nil
}

// httpClients returns cfg.Clients clients of GET /v1/accounts/{id} at
// baseURL with the runner token: one http.Client (and so one keep-alive
// connection) each, each starting at a different account; and a function
// that closes their connections.
func httpClients(cfg Config, baseURL, runnerSecret string, ids []string) ([]phase.Client, func()) {
	clients := make([]phase.Client, cfg.Clients)
	for i := range clients {
		tr := &http.Transport{MaxIdleConns: cfg.Clients, MaxIdleConnsPerHost: cfg.Clients, DisableCompression: true}
		clients[i] = &httpClient{hc: &http.Client{Transport: tr, Timeout: 10 * time.Second},
			base: baseURL, auth: "Bearer " + runnerSecret, ids: ids, next: i}
	}
	return clients, func() {
		for _, c := range clients {
			c.(*httpClient).hc.CloseIdleConnections()
		}
	}
}

// comparedPhases measures GET /v1/accounts/{id} on the server (phase
// "http") and on the peer (phase "peer"), alternating in cfg.Rounds slices
// of cfg.Duration/cfg.Rounds each, so that whatever else loads the machine
// weighs on both alike. With one round (the default) that is the http
// phase, then the peer phase. Each side keeps its clients, and so its
// connections, from round to round; each side warms up once, before the
// first round.
//
// Each side's process CPU time (user and system, from /proc) is summed
// over its measured slices into cpu: what a request costs the
// server and the peer, a figure that moves less than req/s when other
// work shares the machine.
func comparedPhases(ctx context.Context, cfg Config, server, peerSide side, runnerSecret string, ids []string) (web, peer phase.Result, cpu [2]time.Duration, err error) {
	webClients, closeWeb := httpClients(cfg, server.url, runnerSecret, ids)
	defer closeWeb()
	peerClients, closePeer := httpClients(cfg, peerSide.url, runnerSecret, ids)
	defer closePeer()
	for _, warm := range []struct {
		name    string
		clients []phase.Client
	}{{"http", webClients}, {"peer", peerClients}} { // warm-ups, apart so that cpu counts the measured requests only
		if _, err := phase.Run(ctx, phase.Config{Warmup: cfg.Warmup}, warm.name, warm.clients); err != nil {
			return web, peer, cpu, err
		}
	}
	var webParts, peerParts []phase.Result
	for range cfg.Rounds {
		slice := phase.Config{Duration: cfg.Duration / time.Duration(cfg.Rounds)}
		w, used, err := runMetered(ctx, slice, "http", webClients, server.pid)
		if err != nil {
			return web, peer, cpu, err
		}
		cpu[0] += used
		p, used, err := runMetered(ctx, slice, "peer", peerClients, peerSide.pid)
		if err != nil {
			return web, peer, cpu, err
		}
		cpu[1] += used
		webParts, peerParts = append(webParts, w), append(peerParts, p)
	}
	return phase.Merge("http", webParts...), phase.Merge("peer", peerParts...), cpu, nil
}

// side is one server the compared phases measure: its base URL and pid.
type side struct {
	url string
	pid int
}

// runMetered runs a phase and returns the CPU time process pid used
// meanwhile (0 where /proc cannot tell).
func runMetered(ctx context.Context, cfg phase.Config, name string, clients []phase.Client, pid int) (phase.Result, time.Duration, error) {
	before, berr := stack.ProcessCPU(pid)
	res, err := phase.Run(ctx, cfg, name, clients)
	after, aerr := stack.ProcessCPU(pid)
	if berr != nil || aerr != nil {
		return res, 0, err
	}
	return res, after - before, err
}

// selectSQL is the bare primary-key read the HTTP phase is compared with.
const selectSQL = `SELECT id, identity FROM accounts WHERE id = $1`

// selectClient reads accounts with a bare SELECT on a shared pool.
type selectClient struct {
	pool *pgxpool.Pool
	ids  []string
	next int
}

// Do runs selectSQL for the next id and scans the row.
func (c *selectClient) Do(ctx context.Context, _ *phase.Steps) error {
	id := c.ids[c.next%len(c.ids)]
	c.next++
	var got string
	var identity []byte
	return c.pool.QueryRow(ctx, selectSQL, id).Scan(&got, &identity)
}

// selectPhase measures selectSQL on a pgxpool of cfg.Clients connections to
// the same database, with pgx's defaults otherwise (as the server has).
func selectPhase(ctx context.Context, cfg Config, dbURL string, ids []string) (phase.Result, error) {
	pc, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return phase.Result{}, fmt.Errorf("parsing the scratch database URL: %w", err)
	}
	pc.MaxConns = int32(cfg.Clients)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return phase.Result{}, fmt.Errorf("opening a pool on the scratch database: %w", err)
	}
	defer pool.Close()
	clients := make([]phase.Client, cfg.Clients)
	for i := range clients {
		clients[i] = &selectClient{pool: pool, ids: ids, next: i}
	}
	return phase.Run(ctx, cfg.phase(), "select", clients)
}
