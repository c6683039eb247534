package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
)

// endpoint is one worker's keep-alive connection to the server, with a
// token.
type endpoint struct {
	hc         *http.Client
	base, auth string
}

// newEndpoint returns an endpoint with a transport of its own, so that
// each worker keeps its own connection, as a test runner would.
func newEndpoint(baseURL, secret string) endpoint {
	tr := &http.Transport{MaxIdleConns: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}
	return endpoint{hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, base: baseURL, auth: "Bearer " + secret}
}

// post sends body, wants status want and decodes the answer into out (if
// not nil); the body is always read to the end, to keep the connection.
func (e endpoint) post(ctx context.Context, path string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", e.auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("POST %s: reading the answer: %w", path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s: HTTP %d, want %d: %s", path, resp.StatusCode, want, bytes.TrimSpace(raw))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// grant is the part of a lease grant a cycle reads.
type grant struct {
	Lease struct {
		ID string `json:"id"`
	} `json:"lease"`
	Refs map[string]string `json:"refs"`
}

// leaseTTL is each lease's ttl_seconds: far longer than a cycle, short
// enough that a lease a failed release leaves behind frees its account
// before the run ends.
const leaseTTL = 30

// leaseCycle is a test runner that leases an account, uses it (when use
// is set) and releases it: the steps acquire, use and release.
type leaseCycle struct {
	endpoint
	request []byte // the POST /v1/leases body
	// releaseOf is the POST /v1/leases/{id}/release body of the n-th cycle
	// (from 0).
	releaseOf func(n int) []byte
	// failing reports whether the n-th cycle's release records a failure
	// (the release that holds the account and queues the capture of its
	// state): every release is timed as step release, and, when failing
	// is set, also as step release-failed or release-passed. Nil: none
	// fails.
	failing func(n int) bool
	cycles  int
	// failed are the leases whose release recorded a failure, whose
	// captures the report sums up (readCaptures).
	failed []string
	app    string // the app whose ref use gets
	use    func(ctx context.Context, ref int64) error
}

// newLeaseCycle returns worker i's cycle on the role of env.
func newLeaseCycle(e endpoint, env, app string, i int, use func(context.Context, int64) error) *leaseCycle {
	body, _ := json.Marshal(map[string]any{ // a map of plain values always marshals
		"environment": env, "role": benchRole, "holder": "bench-worker-" + strconv.Itoa(i),
		"ttl_seconds": leaseTTL, "wait_seconds": 0,
	})
	plain := []byte("{}")
	return &leaseCycle{endpoint: e, request: body, releaseOf: func(int) []byte { return plain }, app: app, use: use}
}

// newOutcomeCycle returns worker i's cycle on the role of env as a CI job
// runs it through understudy lease -- COMMAND (issue 17: what recording
// outcomes costs a cycle): its lease names its run at acquire (run id,
// flow, job URL, version), and its release records the command's outcome:
// passed, but for one cycle in failEvery (none when 0), which fails with
// a message, the test's name and a link to its trace.
func newOutcomeCycle(e endpoint, env string, i, failEvery int) *leaseCycle {
	c := newLeaseCycle(e, env, "", i, nil)
	c.request, _ = json.Marshal(map[string]any{ // a map of plain values always marshals
		"environment": env, "role": benchRole, "holder": "bench-worker-" + strconv.Itoa(i),
		"ttl_seconds": leaseTTL, "wait_seconds": 0,
		"run": map[string]string{"run_id": "9876543210", "flow": "checkout", "ci_url": "https://ci.example.test/acme/shop/actions/runs/9876543210",
			"version": "v1.42.0"},
	})
	passed := []byte(`{"outcome":"passed"}`)
	failed, _ := json.Marshal(map[string]any{
		"outcome": "failed", "message": "expected 3 items in the cart, got 2", "test": "cart › adds three items",
		"links": []map[string]string{{"name": "trace", "url": "https://ci.example.test/acme/shop/actions/runs/9876543210/trace.zip"}},
	})
	c.failing = func(n int) bool { return failEvery > 0 && n%failEvery == failEvery-1 }
	c.releaseOf = func(n int) []byte {
		if c.failing(n) {
			return failed
		}
		return passed
	}
	return c
}

// failEvery is how often a cycle of phase (f) fails: one in 10.
const failEvery = 10

// Do runs one cycle. A lease is released even when using it failed.
func (c *leaseCycle) Do(ctx context.Context, steps *phase.Steps) error {
	var g grant
	if err := steps.Time("acquire", func() error { return c.post(ctx, "/v1/leases", c.request, http.StatusCreated, &g) }); err != nil {
		return err
	}
	var useErr error
	if c.use != nil {
		useErr = steps.Time("use", func() error {
			ref, err := strconv.ParseInt(g.Refs[c.app], 10, 64)
			if err != nil {
				return fmt.Errorf("lease %s: ref %q in %s is not a chirp user id", g.Lease.ID, g.Refs[c.app], c.app)
			}
			return c.use(ctx, ref)
		})
	}
	start := time.Now()
	err := steps.Time("release", func() error {
		return c.post(ctx, "/v1/leases/"+g.Lease.ID+"/release", c.releaseOf(c.cycles), http.StatusOK, nil)
	})
	if err == nil && c.failing != nil {
		step := "release-passed"
		if c.failing(c.cycles) {
			step = "release-failed"
			c.failed = append(c.failed, g.Lease.ID)
		}
		steps.Record(step, time.Since(start))
	}
	c.cycles++
	if useErr != nil {
		return useErr
	}
	return err
}

// resetAlone changes one account's chirp user, then resets the account
// (not leased) through the API: the steps use and reset.
type resetAlone struct {
	endpoint
	accountID string
	ref       int64
	use       func(ctx context.Context, ref int64) error
}

// Do runs one change and one reset.
func (c *resetAlone) Do(ctx context.Context, steps *phase.Steps) error {
	if err := steps.Time("use", func() error { return c.use(ctx, c.ref) }); err != nil {
		return err
	}
	return steps.Time("reset", func() error {
		return c.post(ctx, "/v1/accounts/"+c.accountID+"/reset", []byte("{}"), http.StatusOK, nil)
	})
}
