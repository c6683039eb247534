package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// The targets.
const (
	targetIngestRatio   = 1.0  // Understudy's ingest messages/s over Mailpit's, at least
	targetDeliveryP99Ms = 50.0 // delivery p99 in ms, at most
)

// Report is a run's outcome, printed as text or JSON.
type Report struct {
	// Machine is where it ran.
	Machine stack.Machine `json:"machine"`
	// LoadAverage is the 1-minute load average before the run: other work
	// on the machine.
	LoadAverage float64 `json:"load_average"`
	// Clients is the number of SMTP clients of each ingest phase.
	Clients int `json:"clients"`
	// WarmupSeconds and DurationSeconds are each phase's unrecorded warm-up
	// and measured duration.
	WarmupSeconds   float64 `json:"warmup_seconds"`
	DurationSeconds float64 `json:"duration_seconds"`
	// Rounds is how many alternating slices the ingest phases ran in.
	Rounds int `json:"rounds"`
	// MessageBytes is the size of the ingest and delivery message.
	MessageBytes int `json:"message_bytes"`
	// Ingest are ingest-understudy then ingest-mailpit (either may be
	// skipped); a request is one message, from MAIL FROM to the 250.
	Ingest []phase.Result `json:"ingest"`
	// Delivery is the delivery phase's latencies, from the 250 to the
	// waiter's answer; nil without Understudy.
	Delivery      *phase.Result  `json:"delivery,omitempty"`
	DeliveryStats *deliveryStats `json:"delivery_stats,omitempty"`
	// Memory is the memory phase of each receiver.
	Memory []Memory `json:"memory"`
	// Checks compare the figures with the targets that could be measured.
	Checks []phase.Check `json:"checks"`
}

// newReport returns the report's header; the phases fill the rest.
func newReport(cfg Config, m stack.Machine) Report {
	return Report{Machine: m, LoadAverage: stack.LoadAverage(), Clients: cfg.Clients,
		WarmupSeconds: cfg.Warmup.Seconds(), DurationSeconds: cfg.Duration.Seconds(), Rounds: cfg.Rounds,
		MessageBytes: len(signInMessage().render("shopper-00@"+benchDomain, ingestSubject, 1))}
}

// ingest returns the ingest phase called name, if it ran.
func (r Report) ingest(name string) (phase.Result, bool) {
	for _, p := range r.Ingest {
		if p.Name == name {
			return p, true
		}
	}
	return phase.Result{}, false
}

// check compares the figures with the targets: the ingest ratio when both
// receivers were measured, the delivery p99 when Understudy was.
func (r *Report) check() {
	r.Checks = nil
	us, okU := r.ingest("ingest-understudy")
	mp, okM := r.ingest("ingest-mailpit")
	if okU && okM {
		x := 0.0
		if mp.PerSecond > 0 {
			x = math.Round(100*us.PerSecond/mp.PerSecond) / 100
		}
		r.Checks = append(r.Checks, phase.Check{Name: "inbox_ingest_vs_mailpit", Measured: x, Target: targetIngestRatio,
			Pass:    x >= targetIngestRatio,
			Summary: fmt.Sprintf("SMTP ingest = %.2f × Mailpit's messages/s (target ≥ %.1f)", x, targetIngestRatio)})
	}
	if r.Delivery != nil {
		p99 := math.Round(r.Delivery.P99.Millis()*10) / 10
		r.Checks = append(r.Checks, phase.Check{Name: "inbox_delivery_p99_ms", Measured: p99, Target: targetDeliveryP99Ms,
			Pass:    p99 <= targetDeliveryP99Ms && r.Delivery.Requests > 0,
			Summary: fmt.Sprintf("delivery p99 = %.1f ms over %d messages (target ≤ %.0f ms)", p99, r.Delivery.Requests, targetDeliveryP99Ms)})
	}
}

// Write prints r as text (tables, the checks, then one RATIO line per
// check) or as indented JSON.
func (r Report) Write(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "SMTP ingest and delivery to a waiting test: Understudy vs Mailpit\n")
	fmt.Fprintf(w, "machine: %d CPUs shared by driver, receivers and PostgreSQL; %s %s; PostgreSQL %s; load average %.2f before\n",
		r.Machine.CPUs, r.Machine.Go, r.Machine.Platform, orNone(r.Machine.PostgreSQL), r.LoadAverage)
	fmt.Fprintf(w, "ingest: %d clients, one connection each, a %d-byte multipart message; %gs warm-up, then %gs measured",
		r.Clients, r.MessageBytes, r.WarmupSeconds, r.DurationSeconds)
	if r.Rounds > 1 {
		fmt.Fprintf(w, " in %d alternating rounds", r.Rounds)
	}
	fmt.Fprint(w, "\n\n")
	if err := r.writePhases(w); err != nil {
		return err
	}
	if st := r.DeliveryStats; st != nil {
		fmt.Fprintf(w, "delivery: %d polls (%d ended empty), %d answered before the 250 (counted as 0 ms), %d lost\n",
			st.Polls, st.EmptyPolls, st.Early, st.Lost)
	}
	for _, m := range r.Memory {
		if m.Error != "" {
			fmt.Fprintf(w, "%s: FAILED: %s\n", m.Name, m.Error)
		}
		fmt.Fprintf(w, "%s: %d × %.1f MiB, %d at a time (%.1f MiB in flight) in %.1fs: peak RSS %.1f MiB (%s), %.2f × in flight; %.1f MiB before, growth %.2f × in flight\n",
			m.Name, m.Messages, mib(m.MessageBytes), m.Clients, mib(m.InFlightBytes), m.Seconds,
			mib(m.PeakRSS), m.PeakFrom, m.PeakRatio(), mib(m.BeforeRSS), m.GrowthRatio())
	}
	fmt.Fprintln(w)
	if err := phase.WriteChecks(w, r.Checks, 66); err != nil {
		return err
	}
	return phase.WriteRatios(w, r.Checks)
}

// writePhases prints the ingest phases and the delivery phase as a table.
func (r Report) writePhases(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase             \tmessages\tmsg/s\tp50\tp90\tp99\tmax\terrors\t")
	rows := r.Ingest
	if r.Delivery != nil {
		rows = append(rows[:len(rows):len(rows)], *r.Delivery)
	}
	for _, p := range rows {
		fmt.Fprintf(tw, "%-18s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t\n", p.Name, p.Requests, p.PerSecond, p.P50, p.P90, p.P99, p.Max, p.Errors)
	}
	return tw.Flush()
}

// mib is n bytes in MiB.
func mib(n int64) float64 { return float64(n) / (1 << 20) }

// orNone is s, or "none" when empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
