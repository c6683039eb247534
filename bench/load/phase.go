package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// client makes one request at a time, from one goroutine. do returns nil
// when the request succeeded.
type client interface {
	do(ctx context.Context) error
}

// maxErrorRate is the share of failed requests above which a phase is an
// error rather than a measurement.
const maxErrorRate = 0.01

// runPhase drives every client from its own goroutine for the warm-up then
// the duration, and summarizes the measured requests. It fails when ctx
// ends or more than maxErrorRate of the requests failed.
func runPhase(ctx context.Context, cfg Config, name string, clients []client) (PhaseResult, error) {
	from := time.Now().Add(cfg.Warmup)
	end := from.Add(cfg.Duration)
	samples := make([]clientSamples, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { samples[i] = drive(ctx, c, from, end) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return PhaseResult{}, fmt.Errorf("phase %s: %w", name, err)
	}
	res, first := summarize(name, samples, cfg.Duration)
	if total := res.Requests + res.Errors; float64(res.Errors) > maxErrorRate*float64(total) {
		return res, fmt.Errorf("phase %s: %d of %d requests failed (more than %.0f%%); first: %v",
			name, res.Errors, total, 100*maxErrorRate, first)
	}
	return res, nil
}

// clientSamples is what one client measured.
type clientSamples struct {
	latencies []time.Duration // of the successful requests
	errors    int
	firstErr  error
}

// drive loops c.do until end, recording the requests started at or after
// from. A request started before end is finished and counted.
func drive(ctx context.Context, c client, from, end time.Time) clientSamples {
	s := clientSamples{latencies: make([]time.Duration, 0, 1<<14)}
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(end) {
			break
		}
		err := c.do(ctx)
		elapsed := time.Since(t0)
		switch {
		case t0.Before(from):
		case err != nil:
			s.errors++
			if s.firstErr == nil {
				s.firstErr = err
			}
		default:
			s.latencies = append(s.latencies, elapsed)
		}
	}
	return s
}

// httpClient reads accounts over HTTP on its own keep-alive connection.
type httpClient struct {
	hc         *http.Client
	base, auth string
	ids        []string
	next       int
}

// do makes one GET /v1/accounts/{id}, reads the body and wants 200.
func (c *httpClient) do(ctx context.Context) error {
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

// httpPhase measures GET /v1/accounts/{id} with the runner token: one
// http.Client (and so one keep-alive connection) per client, each starting
// at a different account.
func httpPhase(ctx context.Context, cfg Config, baseURL, runnerSecret string, ids []string) (PhaseResult, error) {
	clients := make([]client, cfg.Clients)
	for i := range clients {
		tr := &http.Transport{MaxIdleConns: cfg.Clients, MaxIdleConnsPerHost: cfg.Clients, DisableCompression: true}
		clients[i] = &httpClient{hc: &http.Client{Transport: tr, Timeout: 10 * time.Second},
			base: baseURL, auth: "Bearer " + runnerSecret, ids: ids, next: i}
	}
	defer func() {
		for _, c := range clients {
			c.(*httpClient).hc.CloseIdleConnections()
		}
	}()
	return runPhase(ctx, cfg, "http", clients)
}

// selectSQL is the bare primary-key read the HTTP phase is compared with.
const selectSQL = `SELECT id, identity FROM accounts WHERE id = $1`

// selectClient reads accounts with a bare SELECT on a shared pool.
type selectClient struct {
	pool *pgxpool.Pool
	ids  []string
	next int
}

// do runs selectSQL for the next id and scans the row.
func (c *selectClient) do(ctx context.Context) error {
	id := c.ids[c.next%len(c.ids)]
	c.next++
	var got string
	var identity []byte
	return c.pool.QueryRow(ctx, selectSQL, id).Scan(&got, &identity)
}

// selectPhase measures selectSQL on a pgxpool of cfg.Clients connections to
// the same database, with pgx's defaults otherwise (as the server has).
func selectPhase(ctx context.Context, cfg Config, dbURL string, ids []string) (PhaseResult, error) {
	pc, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return PhaseResult{}, fmt.Errorf("parsing the scratch database URL: %w", err)
	}
	pc.MaxConns = int32(cfg.Clients)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return PhaseResult{}, fmt.Errorf("opening a pool on the scratch database: %w", err)
	}
	defer pool.Close()
	clients := make([]client, cfg.Clients)
	for i := range clients {
		clients[i] = &selectClient{pool: pool, ids: ids, next: i}
	}
	return runPhase(ctx, cfg, "select", clients)
}
