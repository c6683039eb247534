package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// The targets of issue 9.
const (
	targetApply = 30 * time.Second // the first apply, under
	targetPlan  = time.Second      // a plan with no changes, end to end, under (median)
	// targetForEachRatio is issue 19's: a no-change plan of the for_each
	// spec takes at most this many times a roles list of its environment
	// (medians of the same run).
	targetForEachRatio = 3.0
	// targetCopyRatio is issue 20's: the first apply takes at most this
	// many times a COPY of the rows it wrote for its accounts (median of
	// the COPY's rounds, same run).
	targetCopyRatio = 5.0
)

// Report is a run's outcome, printed as text or JSON.
type Report struct {
	// Config is what was measured.
	Config Config `json:"config"`
	// Machine is where it ran.
	Machine stack.Machine `json:"machine"`
	// LoadBefore and LoadAfter are the 1-minute load average before the
	// run and after its last command (other work on the machine); -1 when
	// unknown.
	LoadBefore float64 `json:"load_average_before"`
	LoadAfter  float64 `json:"load_average_after"`
	// Accounts is roles × pool: the accounts each of the spec and the REST
	// baseline makes.
	Accounts int `json:"accounts"`
	// Apply is the first apply (bin/understudy apply -auto-approve DIR).
	Apply Timed `json:"first_apply"`
	// Copy is issue 20's baseline: the rows the first apply wrote for its
	// accounts, written with COPY into a database migrated the same way.
	Copy CopyBaseline `json:"copy_baseline"`
	// Direct is its baseline: the same objects through the REST API,
	// one POST each.
	Direct Timed `json:"rest_baseline"`
	// Plans are the no-change plans (bin/understudy plan
	// -detailed-exitcode DIR), in order.
	Plans []Timed `json:"plans"`
	// Lists are their baseline (bin/understudy roles list bench), each run
	// right after the plan of the same index.
	Lists []Timed `json:"roles_lists"`
	// ForEachApply is the first apply of the for_each spec (bin/understudy
	// apply -workspace=foreach -auto-approve DIR/for_each).
	ForEachApply Timed `json:"for_each_apply"`
	// ForEachPlans are its no-change plans, and ForEachLists their
	// baseline (bin/understudy roles list fe), each right after the plan
	// of the same index.
	ForEachPlans []Timed `json:"for_each_plans"`
	ForEachLists []Timed `json:"for_each_roles_lists"`
	// Checks compare the figures with the targets.
	Checks []phase.Check `json:"checks"`
}

// Spread is the minimum, median and maximum of some runs.
type Spread struct {
	Min    phase.Latency `json:"min_ms"`
	Median phase.Latency `json:"median_ms"`
	Max    phase.Latency `json:"max_ms"`
}

// spreadOf returns the spread of f over runs: the median is the
// nearest-rank one (the middle run of an odd count, the lower middle of
// an even one); zero for no runs.
func spreadOf(runs []Timed, f func(Timed) phase.Latency) Spread {
	if len(runs) == 0 {
		return Spread{}
	}
	v := make([]time.Duration, len(runs))
	for i, r := range runs {
		v[i] = time.Duration(f(r))
	}
	slices.Sort(v)
	return Spread{Min: phase.Latency(v[0]), Median: phase.Percentile(v, 0.5), Max: phase.Latency(v[len(v)-1])}
}

func wall(t Timed) phase.Latency        { return t.Wall }
func cliCPU(t Timed) phase.Latency      { return t.CPU }
func serverCPU(t Timed) phase.Latency   { return t.ServerCPU }
func postgresCPU(t Timed) phase.Latency { return t.PostgresCPU }

// load formats a load average, or n/a when it is unknown (negative).
func load(v float64) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}

// cpu formats a CPU time in seconds, or n/a when it is unknown (negative).
func cpu(l phase.Latency) string {
	if l < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3f s", seconds(l))
}

// check compares the figures with the targets: the first apply's wall
// clock, and the no-change plan's median, each beside its ratio to its
// baseline.
func (r Report) check() []phase.Check {
	apply := seconds(r.Apply.Wall)
	applyRatio := ratio(r.Apply.Wall, r.Direct.Wall)
	plan, list := spreadOf(r.Plans, wall).Median, spreadOf(r.Lists, wall).Median
	planRatio := ratio(plan, list)
	fePlan, feList := spreadOf(r.ForEachPlans, wall).Median, spreadOf(r.ForEachLists, wall).Median
	feRatio := ratio(fePlan, feList)
	cp := r.Copy.Median()
	copyRatio := ratio(r.Apply.Wall, cp)
	return []phase.Check{
		{Name: "spec_first_apply_vs_copy", Measured: copyRatio, Target: targetCopyRatio, Pass: cp > 0 && copyRatio <= targetCopyRatio,
			Summary: fmt.Sprintf("first apply, %d accounts = %.2f s; COPY of its rows (median of %d) %.3f s, ratio %.2f× (target ≤ %.0f×)",
				r.Accounts, apply, len(r.Copy.Rounds), seconds(cp), copyRatio, targetCopyRatio)},
		{Name: "first_apply_seconds", Measured: round(apply, 3), Target: targetApply.Seconds(), Pass: apply < targetApply.Seconds(),
			Summary: fmt.Sprintf("first apply, %d accounts = %.2f s; REST baseline %.2f s, ratio %.2f× (target < %.0f s)",
				r.Accounts, apply, seconds(r.Direct.Wall), applyRatio, targetApply.Seconds())},
		{Name: "no_change_plan_median_seconds", Measured: round(seconds(plan), 3), Target: targetPlan.Seconds(), Pass: seconds(plan) < targetPlan.Seconds(),
			Summary: fmt.Sprintf("no-change plan, median of %d = %.3f s; roles list %.3f s, ratio %.2f× (target < %.0f s)",
				len(r.Plans), seconds(plan), seconds(list), planRatio, targetPlan.Seconds())},
		{Name: "for_each_plan_to_roles_list_ratio", Measured: feRatio, Target: targetForEachRatio, Pass: feList > 0 && feRatio <= targetForEachRatio,
			Summary: fmt.Sprintf("no-change plan of %d objects made with for_each, median of %d = %.3f s; roles list %s %.3f s, ratio %.2f× (target ≤ %.0f×)",
				r.Config.ForEach, len(r.ForEachPlans), seconds(fePlan), forEachEnvironment, seconds(feList), feRatio, targetForEachRatio)},
	}
}

func seconds(l phase.Latency) float64 { return time.Duration(l).Seconds() }

func ratio(a, b phase.Latency) float64 {
	if b <= 0 {
		return 0
	}
	return round(float64(a)/float64(b), 2)
}

func round(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}

// Write prints r as text (the figures, then the checks) or as indented
// JSON, which also carries every run and each spread.
func (r Report) Write(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // keep "target < 30 s" readable
		return enc.Encode(struct {
			Report
			PlanSpread        Spread `json:"plan_wall"`
			ListSpread        Spread `json:"roles_list_wall"`
			ForEachPlanSpread Spread `json:"for_each_plan_wall"`
			ForEachListSpread Spread `json:"for_each_roles_list_wall"`
		}{r, spreadOf(r.Plans, wall), spreadOf(r.Lists, wall), spreadOf(r.ForEachPlans, wall), spreadOf(r.ForEachLists, wall)})
	}
	m, c := r.Machine, r.Config
	fmt.Fprintf(w, "Declarative spec (issue 9): environment %s, %d roles × %d accounts = %d accounts, no apps\n",
		specEnvironment, c.Roles, c.Pool, r.Accounts)
	fmt.Fprintf(w, "machine: %d CPUs shared by the driver, the CLI, the server and PostgreSQL; %s %s; PostgreSQL %s\n",
		m.CPUs, m.Go, m.Platform, m.PostgreSQL)
	fmt.Fprintf(w, "load average: %s before the run, %s after it\n\n", load(r.LoadBefore), load(r.LoadAfter))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "what\tcommand\twall (min / median / max)\tCLI CPU\tserver CPU\tPostgreSQL CPU\t")
	fmt.Fprintf(tw, "first apply\t%s apply -auto-approve DIR\t%.3f s\t%s\t%s\t%s\t\n",
		c.Bin, seconds(r.Apply.Wall), cpu(r.Apply.CPU), cpu(r.Apply.ServerCPU), cpu(r.Apply.PostgresCPU))
	fmt.Fprintf(tw, "  baseline\t%d REST POSTs (environment %s, its roles)\t%.3f s\t-\t%s\t%s\t\n",
		1+c.Roles, peerEnvironment, seconds(r.Direct.Wall), cpu(r.Direct.ServerCPU), cpu(r.Direct.PostgresCPU))
	cs := spreadOf(latencies(r.Copy.Rounds), wall)
	fmt.Fprintf(tw, "  COPY baseline ×%d\tCOPY %s\t%.3f / %.3f / %.3f s\t-\t-\t-\t\n",
		len(r.Copy.Rounds), copiedRows(r.Copy.Rows), seconds(cs.Min), seconds(cs.Median), seconds(cs.Max))
	fmt.Fprintf(tw, "for_each apply\t%s apply -workspace=%s -auto-approve DIR/for_each (%d objects)\t%.3f s\t%s\t%s\t%s\t\n",
		c.Bin, forEachWorkspace, c.ForEach, seconds(r.ForEachApply.Wall), cpu(r.ForEachApply.CPU), cpu(r.ForEachApply.ServerCPU), cpu(r.ForEachApply.PostgresCPU))
	for _, row := range []struct {
		what, cmd string
		runs      []Timed
	}{
		{fmt.Sprintf("no-change plan ×%d", len(r.Plans)), c.Bin + " plan -detailed-exitcode DIR", r.Plans},
		{fmt.Sprintf("  baseline ×%d", len(r.Lists)), c.Bin + " roles list " + specEnvironment, r.Lists},
		{fmt.Sprintf("for_each no-change plan ×%d", len(r.ForEachPlans)), c.Bin + " plan -workspace=" + forEachWorkspace + " -detailed-exitcode DIR/for_each", r.ForEachPlans},
		{fmt.Sprintf("  baseline ×%d", len(r.ForEachLists)), c.Bin + " roles list " + forEachEnvironment, r.ForEachLists},
	} {
		s := spreadOf(row.runs, wall)
		fmt.Fprintf(tw, "%s\t%s\t%.3f / %.3f / %.3f s\t%s\t%s\t%s\t\n", row.what, row.cmd,
			seconds(s.Min), seconds(s.Median), seconds(s.Max), cpu(spreadOf(row.runs, cliCPU).Median),
			cpu(spreadOf(row.runs, serverCPU).Median), cpu(spreadOf(row.runs, postgresCPU).Median))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "CPU of the repeated commands: medians; the server's and PostgreSQL's are counted in ticks of 10 ms")
	if r.Apply.PostgresCPU >= 0 && r.Direct.PostgresCPU >= 0 {
		fmt.Fprintf(w, "first apply / its baseline: wall %.2f×, server + PostgreSQL CPU %.2f×\n",
			ratio(r.Apply.Wall, r.Direct.Wall), ratio(r.Apply.ServerCPU+r.Apply.PostgresCPU, r.Direct.ServerCPU+r.Direct.PostgresCPU))
	}
	fmt.Fprintln(w)
	if err := phase.WriteChecks(w, r.Checks, 120); err != nil {
		return err
	}
	return phase.WriteRatios(w, r.Checks)
}

// latencies wraps each COPY round as a Timed of that wall clock.
func latencies(rounds []phase.Latency) []Timed {
	out := make([]Timed, len(rounds))
	for i, l := range rounds {
		out[i] = Timed{Wall: l}
	}
	return out
}

// copiedRows names the tables of the COPY baseline with their rows:
// "accounts 10000, audit_events 10000, exclusions 30000".
func copiedRows(rows map[string]int64) string {
	names := slices.Sorted(maps.Keys(rows))
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, rows[n])
	}
	return strings.Join(parts, ", ")
}
