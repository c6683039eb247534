package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/stack"
	"github.com/understudy-dev/understudy/tagging/posthog"
)

// Targets of issue 7.
const (
	maxNoopDuration = 2 * time.Second
	maxServerKiB    = 256 << 10
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
	Idle   Memory `json:"idle"`
	First  Sync   `json:"first"`
	Second Sync   `json:"second"`
	// Again are the further syncs with no difference (-again).
	Again []Sync `json:"again,omitempty"`
}

// Check is one target, measured.
type Check struct {
	What   string `json:"what"`
	Target string `json:"target"`
	Value  string `json:"measured"`
	Pass   bool   `json:"pass"`
}

// Checks are the targets of the second (no-difference) sync.
func (r Report) Checks() []Check {
	s := r.Second
	return []Check{
		{"requests of a sync with no difference", "0", fmt.Sprint(s.Requests), s.Requests == 0 && s.FakeRequests == 0},
		{"duration of a sync with no difference", "< 2 s", fmt.Sprintf("%.3f s", s.Duration.Seconds()), s.Duration < maxNoopDuration},
		{"server peak RSS (VmHWM) during it", "< 256 MB", mib(s.Peak), s.Peak < maxServerKiB},
		{"server RSS once it answered", "< 256 MB", mib(s.After.RSS), s.After.RSS < maxServerKiB},
	}
}

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
			Checks []Check `json:"checks"`
		}{r, r.Checks()})
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
	fmt.Fprintf(w, "(c) second sync: %d unchanged, %d requests (fake: %d) in %.3f s; server CPU %.2f s, peak RSS %s (sampled %s), RSS after %s\n",
		s.Unchanged, s.Requests, s.FakeRequests, s.Duration.Seconds(), s.CPU.Seconds(), mib(s.Peak), mib(s.SampledPeak), mib(s.After.RSS))
	for i, a := range r.Again {
		fmt.Fprintf(w, "    sync %d (no difference): %d requests in %.3f s; server CPU %.2f s, peak RSS %s, RSS after %s\n",
			i+3, a.Requests, a.Duration.Seconds(), a.CPU.Seconds(), mib(a.Peak), mib(a.After.RSS))
	}
	for _, c := range r.Checks() {
		verdict := "PASS"
		if !c.Pass {
			verdict = "MISS"
		}
		fmt.Fprintf(w, "%s: %s = %s (target %s)\n", verdict, c.What, c.Value, c.Target)
	}
	return nil
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
