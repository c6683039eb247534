package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/stack"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

// syncRun is the part of a SyncRun the driver reads.
type syncRun struct {
	ID           string `json:"id"`
	Added        int    `json:"added"`
	Removed      int    `json:"removed"`
	Unchanged    int    `json:"unchanged"`
	Requests     *int   `json:"requests"`
	Outcome      string `json:"outcome"`
	Error        string `json:"error"`
	Verification string `json:"verification"`
}

// Sync is one measured sync run.
type Sync struct {
	Duration  time.Duration `json:"duration_ns"`
	Added     int           `json:"added"`
	Unchanged int           `json:"unchanged"`
	// Requests is what the run counted; FakeRequests what the fake answered
	// meanwhile.
	Requests     int    `json:"requests"`
	FakeRequests int    `json:"fake_requests"`
	Outcome      string `json:"outcome"`
	// Peak is the server's VmHWM at the end of the run (reset before it);
	// SampledPeak the largest VmRSS sampled every 10 ms during it; After
	// the server's memory once the run answered.
	Peak        int64  `json:"peak_kib"`
	SampledPeak int64  `json:"sampled_peak_kib"`
	After       Memory `json:"after"`
	// CPU is the server's user+system CPU time during the run; DriverCPU
	// the driver's, which runs the fake PostHog.
	CPU       time.Duration `json:"cpu_ns"`
	DriverCPU time.Duration `json:"driver_cpu_ns"`
	// Classes count the fake's answers by rate-limit class.
	Classes map[string]Class `json:"classes"`
}

// measure runs the fixture and the two syncs.
func measure(ctx context.Context, cfg Config, progress io.Writer) (rep Report, err error) {
	logf := func(format string, args ...any) { fmt.Fprintf(progress, "sync: "+format+"\n", args...) }
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
	fake, stopFake := posthogtest.Start(posthogtest.Options{QueryPerMinute: cfg.QueryPerMinute, CRUDPerMinute: cfg.CRUDPerMinute})
	defer stopFake()
	count, err := newCounter(fake.URL)
	if err != nil {
		return rep, err
	}
	defer count.Close()
	srv, err := stack.StartServer(ctx, cfg.Bin, db.URL, "UNDERSTUDY_REQUEST_TIMEOUT="+cfg.SyncTimeout.String())
	if err != nil {
		return rep, err
	}
	defer func() { err = errors.Join(err, srv.Stop()) }()
	logf("database %s, server pid %d at %s, fake PostHog at %s", db.Name, srv.Pid(), srv.BaseURL, fake.URL)
	admin := stack.NewAPI(srv.BaseURL, tokens.Admin.Secret)

	start := time.Now()
	if rep.ListSize, err = createFixture(ctx, admin, db.URL, cfg.Accounts); err != nil {
		return rep, err
	}
	rep.Accounts, rep.Fixture = cfg.Accounts, time.Since(start)
	logf("fixture: %d accounts, a list of %d identifiers in %s", cfg.Accounts, rep.ListSize, rep.Fixture.Round(time.Millisecond))
	if err := attachDestination(ctx, admin, fake, count.URL, cfg.Cohort); err != nil {
		return rep, err
	}
	if rep.Idle, err = readMemory(srv.Pid()); err != nil {
		return rep, err
	}
	sc := syncer{base: srv.BaseURL, secret: tokens.Admin.Secret, pid: srv.Pid(), fake: fake, count: count,
		hc: &http.Client{Timeout: cfg.SyncTimeout + time.Minute}}
	logf("first sync (full)...")
	if rep.First, err = sc.run(ctx, false); err != nil {
		return rep, err
	}
	logf("first sync: %d added, %d requests in %s", rep.First.Added, rep.First.Requests, rep.First.Duration.Round(time.Millisecond))
	if rep.Full, err = sc.run(ctx, true); err != nil {
		return rep, err
	}
	logf("full run with no difference: %d requests in %s", rep.Full.Requests, rep.Full.Duration.Round(time.Millisecond))
	if rep.Second, err = sc.run(ctx, false); err != nil {
		return rep, err
	}
	logf("second sync: %d requests in %s", rep.Second.Requests, rep.Second.Duration.Round(time.Millisecond))
	for range cfg.Again {
		s, err := sc.run(ctx, false)
		if err != nil {
			return rep, err
		}
		rep.Again = append(rep.Again, s)
	}
	rep.Config = cfg
	return rep, nil
}

// syncer triggers sync runs through the API and measures the server
// around each.
type syncer struct {
	base, secret string
	pid          int
	fake         *posthogtest.Fake
	count        *counter
	hc           *http.Client
}

// run resets the server's peak RSS, syncs the destination (comparing the
// whole list when full) and reads the server's memory and CPU.
func (s syncer) run(ctx context.Context, full bool) (Sync, error) {
	if err := resetPeak(s.pid); err != nil {
		return Sync{}, fmt.Errorf("resetting the server's peak RSS: %w", err)
	}
	cpu0, err := stack.ProcessCPU(s.pid)
	if err != nil {
		return Sync{}, err
	}
	self0, err := stack.ProcessCPU(os.Getpid())
	if err != nil {
		return Sync{}, err
	}
	fake0 := s.fake.Requests()
	s.count.Take()
	smp := sample(s.pid, 10*time.Millisecond)
	start := time.Now()
	r, err := s.post(ctx, full)
	out := Sync{Duration: time.Since(start), SampledPeak: smp.Stop()}
	if err != nil {
		return out, err
	}
	cpu1, err := stack.ProcessCPU(s.pid)
	if err != nil {
		return out, err
	}
	self1, err := stack.ProcessCPU(os.Getpid())
	if err != nil {
		return out, err
	}
	out.DriverCPU = self1 - self0
	if out.After, err = readMemory(s.pid); err != nil {
		return out, err
	}
	out.Peak, out.CPU = out.After.HWM, cpu1-cpu0
	out.Added, out.Unchanged, out.Outcome = r.Added, r.Unchanged, r.Outcome
	out.FakeRequests, out.Classes = s.fake.Requests()-fake0, s.count.Take()
	if r.Requests != nil {
		out.Requests = *r.Requests
	}
	if r.Outcome != "ok" {
		return out, fmt.Errorf("sync run %s ended %s: %s", r.ID, r.Outcome, r.Error)
	}
	return out, nil
}

// post sends POST …/sync (with full=true when full) and decodes the run.
func (s syncer) post(ctx context.Context, full bool) (syncRun, error) {
	path := "/v1/environments/" + benchEnvironment + "/destinations/" + benchDestination + "/sync"
	if full {
		path += "?full=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, nil)
	if err != nil {
		return syncRun{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.secret)
	resp, err := s.hc.Do(req)
	if err != nil {
		return syncRun{}, fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return syncRun{}, fmt.Errorf("POST %s: HTTP %d: %s (%v)", path, resp.StatusCode, strings.TrimSpace(string(raw)), err)
	}
	var r syncRun
	return r, json.Unmarshal(raw, &r)
}
