package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
	"github.com/understudy-dev/understudy/tagging/posthog"
)

// Targets: issue 20's 0.3 s for a sync with no difference (issue 7's was
// 2 s), and issue 7's 0 requests and 256 MB.
const (
	maxNoopSeconds = 0.3
	maxServerMiB   = 256
)

// PostHog's documented private-API limits (tagging/posthog/doc.go): the
// query endpoint 240/minute and 2400/hour, CRUD 480/minute and 4800/hour.
// /batch/ has none.
const (
	queryPerMinute, queryPerHour = 240, 2400
	crudPerMinute, crudPerHour   = 480, 4800
)

// Report is what a run measured.
type Report struct {
	Config   Config        `json:"config"`
	Machine  stack.Machine `json:"machine"`
	Accounts int           `json:"accounts"`
	ListSize int           `json:"list_size"`
	Fixture  time.Duration `json:"fixture_ns"`
	// Idle is the server's memory after the fixture, before any sync.
	Idle  Memory `json:"idle"`
	First Sync   `json:"first"`
	// Full is a run forced to compare the whole list (full=true) right
	// after the first, with nothing to send: the no-change run's baseline,
	// what every such run cost before it could skip the comparison.
	Full   Sync `json:"full"`
	Second Sync `json:"second"`
	// Again are the further syncs with no difference (-again).
	Again []Sync `json:"again,omitempty"`
}

// Checks are the targets of the second (no-difference) sync.
func (r Report) Checks() []phase.Check {
	s := r.Second
	secs := math.Round(s.Duration.Seconds()*1000) / 1000
	reqs := float64(max(s.Requests, s.FakeRequests))
	peak, after := roundMiB(s.Peak), roundMiB(s.After.RSS)
	return []phase.Check{
		{Name: "sync_nochange_seconds", Measured: secs, Target: maxNoopSeconds, Pass: secs <= maxNoopSeconds,
			Summary: fmt.Sprintf("duration of a sync with no difference = %.3f s (target ≤ %g s)", secs, maxNoopSeconds)},
		{Name: "sync_nochange_requests", Measured: reqs, Target: 0, Pass: s.Requests == 0 && s.FakeRequests == 0,
			Summary: fmt.Sprintf("requests of a sync with no difference = %d, fake %d (target 0)", s.Requests, s.FakeRequests)},
		{Name: "sync_nochange_peak_mib", Measured: peak, Target: maxServerMiB, Pass: peak < maxServerMiB,
			Summary: fmt.Sprintf("server peak RSS (VmHWM) during it = %.1f MiB (target < %d MiB)", peak, maxServerMiB)},
		{Name: "sync_nochange_rss_mib", Measured: after, Target: maxServerMiB, Pass: after < maxServerMiB,
			Summary: fmt.Sprintf("server RSS once it answered = %.1f MiB (target < %d MiB)", after, maxServerMiB)},
	}
}

// Ratio is the no-change run's duration over the full run's (0 when the
// full run was not measured).
func (r Report) Ratio() float64 {
	if r.Full.Duration <= 0 {
		return 0
	}
	return r.Second.Duration.Seconds() / r.Full.Duration.Seconds()
}

func roundMiB(kib int64) float64 { return math.Round(float64(kib)/1024*10) / 10 }

// limits are what PostHog's documented limits imply for a full sync with
// the cohort (a personal API key): per MaxBatch identities, one person
// lookup and one verification query, and one add_persons call.
func (r Report) limits() string {
	n := r.First.Added
	batches := (n + posthog.MaxBatch - 1) / posthog.MaxBatch
	queries, crud := 2*batches, batches+4
	return fmt.Sprintf("with the cohort, %d identities need ≈ %d queries and ≈ %d CRUD calls: at least %.0f min at %d queries/min (%.1f h at %d/h), %.0f min of CRUD at %d/h",
		n, queries, crud, float64(queries)/queryPerMinute, queryPerMinute, float64(queries)/queryPerHour, queryPerHour,
		float64(crud)/crudPerHour*60, crudPerHour)
}

// Write prints the report as text or JSON.
func (r Report) Write(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Report
			Checks []phase.Check `json:"checks"`
			Ratio  float64       `json:"nochange_vs_full"`
		}{r, r.Checks(), r.Ratio()})
	}
	m := r.Machine
	f, s := r.First, r.Second
	fmt.Fprintf(w, "machine: %d CPUs, %s %s, PostgreSQL %s\n", m.CPUs, m.Go, m.Platform, m.PostgreSQL)
	fmt.Fprintf(w, "(a) fixture: %d retired accounts, a list of %d identifiers, in %.1f s; server idle RSS %s\n",
		r.Accounts, r.ListSize, r.Fixture.Seconds(), mib(r.Idle.RSS))
	mode := "mark only, /batch/"
	if r.Config.Cohort {
		mode = "mark, cohort, filter, verify"
	}
	fmt.Fprintf(w, "(b) first sync (%s): %d added in %.1f s, %d requests (fake: %d): %.1f requests/s, %.0f identities/s\n",
		mode, f.Added, f.Duration.Seconds(), f.Requests, f.FakeRequests, perSecond(f.Requests, f.Duration), perSecond(f.Added, f.Duration))
	fmt.Fprintf(w, "    server: CPU %.1f s (%.0f%% of one core), peak RSS %s (sampled %s), RSS after %s; driver and fake: CPU %.1f s (%.0f%%)\n",
		f.CPU.Seconds(), 100*f.CPU.Seconds()/f.Duration.Seconds(), mib(f.Peak), mib(f.SampledPeak), mib(f.After.RSS),
		f.DriverCPU.Seconds(), 100*f.DriverCPU.Seconds()/f.Duration.Seconds())
	for _, cl := range []string{"batch", "query", "crud"} {
		c, ok := f.Classes[cl]
		if !ok {
			continue
		}
		limit := map[string]string{"batch": "no limit", "query": fmt.Sprintf("limit %d/min", r.Config.QueryPerMinute),
			"crud": fmt.Sprintf("limit %d/min", r.Config.CRUDPerMinute)}[cl]
		fmt.Fprintf(w, "    %s: %d accepted (%.1f/min, %s), %d answered 429\n", cl, c.Accepted, 60*perSecond(c.Accepted, f.Duration), limit, c.Throttled)
	}
	if !r.Config.Cohort {
		fmt.Fprintf(w, "    %s\n", r.limits())
	}
	fl := r.Full
	fmt.Fprintf(w, "(c) full run, no difference (full=true, compares the whole list): %d unchanged, %d requests in %.3f s; server CPU %.2f s, peak RSS %s, RSS after %s\n",
		fl.Unchanged, fl.Requests, fl.Duration.Seconds(), fl.CPU.Seconds(), mib(fl.Peak), mib(fl.After.RSS))
	fmt.Fprintf(w, "(d) sync with no difference: %d unchanged, %d requests (fake: %d) in %.3f s (%.3f × the full run's); server CPU %.2f s, peak RSS %s (sampled %s), RSS after %s\n",
		s.Unchanged, s.Requests, s.FakeRequests, s.Duration.Seconds(), r.Ratio(), s.CPU.Seconds(), mib(s.Peak), mib(s.SampledPeak), mib(s.After.RSS))
	for i, a := range r.Again {
		fmt.Fprintf(w, "    sync %d (no difference): %d requests in %.3f s; server CPU %.2f s, peak RSS %s, RSS after %s\n",
			i+4, a.Requests, a.Duration.Seconds(), a.CPU.Seconds(), mib(a.Peak), mib(a.After.RSS))
	}
	fmt.Fprintln(w)
	if err := phase.WriteChecks(w, r.Checks(), 72); err != nil {
		return err
	}
	return phase.WriteRatios(w, r.Checks())
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
