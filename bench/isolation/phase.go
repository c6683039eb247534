package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/bench/internal/phase"
)

// checkClient sends POST /v1/isolation/check on its own keep-alive
// connection.
type checkClient struct {
	hc        *http.Client
	url, auth string
	body      []byte
}

// Do sends one check, reads the whole answer and wants 200.
func (c *checkClient) Do(ctx context.Context, _ *phase.Steps) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /v1/isolation/check: HTTP %d", resp.StatusCode)
	}
	return nil
}

// checkBody is the check every client sends.
func checkBody(subjects []string) []byte {
	b, _ := json.Marshal(map[string]any{"environment": benchEnvironment, "surface": benchSurface,
		"viewer": benchViewer, "subjects": subjects})
	return b
}

// checkClients returns n clients of the check at baseURL, one http.Client
// (and so one connection) each, and a function that closes their
// connections.
func checkClients(n int, baseURL, secret string, body []byte) ([]phase.Client, func()) {
	clients := make([]phase.Client, n)
	for i := range clients {
		tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
		clients[i] = &checkClient{hc: &http.Client{Transport: tr, Timeout: 10 * time.Second},
			url: baseURL + "/v1/isolation/check", auth: "Bearer " + secret, body: body}
	}
	return clients, func() {
		for _, c := range clients {
			c.(*checkClient).hc.CloseIdleConnections()
		}
	}
}

// joinSQL is the check's join: the statement of tagging.FindListed, word
// for word (TestJoinSQLIsTheCheck's), with accounts.AccountDirectory
// spelled out.
const joinSQL = `
SELECT x.identifier, x.account_id::text, a.role_id::text, a.isolation_policy
FROM unnest($2::text[]) AS q (identifier)
JOIN exclusions x ON x.environment_id = $1 AND x.identifier = q.identifier
JOIN account_directory a ON a.id = x.account_id
WHERE NOT x.forgotten`

// sqlClient runs joinSQL on a shared pool.
type sqlClient struct {
	pool  *pgxpool.Pool
	envID string
	ids   []string
	want  int
}

// Do runs the join, scans every row as the check does (the policy as the
// bytes jsonb sends), and wants as many
// rows as there are listed subjects.
func (c *sqlClient) Do(ctx context.Context, _ *phase.Steps) error {
	rows, err := c.pool.Query(ctx, joinSQL, c.envID, c.ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	var ident, account, role string
	var policy []byte
	for rows.Next() {
		if err := rows.Scan(&ident, &account, &role, &policy); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != c.want {
		return fmt.Errorf("the join found %d identifiers, want %d", n, c.want)
	}
	return nil
}

// openPool opens a pgxpool of n connections on dbURL, with pgx's defaults
// otherwise (as the server has: statements prepared and cached per
// connection).
func openPool(ctx context.Context, dbURL string, n int) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("parsing the scratch database URL: %w", err)
	}
	pc.MaxConns = int32(n)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("opening a pool on the scratch database: %w", err)
	}
	return pool, nil
}

// sqlClients returns n clients of the bare join on pool.
func sqlClients(n int, pool *pgxpool.Pool, envID string, ids []string, listed int) []phase.Client {
	clients := make([]phase.Client, n)
	for i := range clients {
		clients[i] = &sqlClient{pool: pool, envID: envID, ids: ids, want: listed}
	}
	return clients
}

// alternate runs phases a and b in rounds slices of cfg.Duration/rounds
// each (a, b, a, b, ...), the warm-up before each one's first slice, and
// merges each one's slices.
func alternate(ctx context.Context, cfg Config, nameA string, a []phase.Client, nameB string, b []phase.Client) (phase.Result, phase.Result, error) {
	var as, bs []phase.Result
	for i := range cfg.Rounds {
		slice := phase.Config{Duration: cfg.Duration / time.Duration(cfg.Rounds)}
		if i == 0 {
			slice.Warmup = cfg.Warmup
		}
		ra, err := phase.Run(ctx, slice, nameA, a)
		if err != nil {
			return phase.Result{}, phase.Result{}, err
		}
		rb, err := phase.Run(ctx, slice, nameB, b)
		if err != nil {
			return phase.Result{}, phase.Result{}, err
		}
		as, bs = append(as, ra), append(bs, rb)
	}
	return phase.Merge(nameA, as...), phase.Merge(nameB, bs...), nil
}
