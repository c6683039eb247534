package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/run"
)

// runWindow is a window the runs page charts: the value of its window
// field, and how far back from now it reaches.
type runWindow struct {
	Name string
	D    time.Duration
}

// runWindows are the windows the runs page offers, shortest first.
var runWindows = []runWindow{{"1h", time.Hour}, {"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}}

// windowOf returns how far back the window named name reaches, and
// whether it is one of runWindows.
func windowOf(name string) (time.Duration, bool) {
	i := slices.IndexFunc(runWindows, func(w runWindow) bool { return w.Name == name })
	if i < 0 {
		return 0, false
	}
	return runWindows[i].D, true
}

// defaultRunWindow is the window of a runs page that names none.
const defaultRunWindow = "24h"

// runsPageSize is how many runs a page of the runs table shows.
const runsPageSize = 50

// maxDeployMarks bounds the deployments a window's charts mark.
const maxDeployMarks = 200

// runsFilter is the runs page's filter form.
type runsFilter struct {
	Environment, Flow, Outcome, Window string
}

// runsData is what the runs page shows: a chart per flow of the window's
// runs, the deployments marked on them, and a page of the newest runs.
type runsData struct {
	Filter       runsFilter
	Since, Until time.Time
	Charts       []runChart
	// Legend is each outcome's mark.
	Legend []chartMark
	// Flows counts the window's flows (more than the charts when
	// run.MaxChartFlows left some out); Scanned counts the runs read, and
	// ScanCut says the window may hold more.
	Flows, Scanned int
	ScanCut        bool
	// Deployments counts the deployments marked; DeploysCut says the
	// window holds more than maxDeployMarks.
	Deployments int
	DeploysCut  bool
	// Runs is a page of the newest runs; Next is the cursor of the next,
	// and Paged says this is not the first.
	Runs  []run.Run
	Next  string
	Paged bool
	// What the filter picks from.
	Environments []accounts.Environment
	Outcomes     []run.Outcome
	Windows      []string
	// MaxMarks and MaxFlows are the charts' bounds, for the page to say.
	MaxMarks, MaxFlows, MaxScan int
}

// runsPage shows the runs: for each flow of the window (the last hour,
// day or week), a chart of its runs' outcomes over time with the
// environment's deployments marked, then the newest runs, 50 a page,
// paged by keyset (?after=); all filtered by environment, flow and
// outcome.
func (c *Console) runsPage(w http.ResponseWriter, r *http.Request, s session) {
	ctx, q := r.Context(), r.URL.Query()
	in := runsFilter{Environment: q.Get("environment"), Flow: strings.TrimSpace(q.Get("flow")), Outcome: q.Get("outcome"),
		Window: q.Get("window")}
	if in.Window == "" {
		in.Window = defaultRunWindow
	}
	envs, err := c.cfg.Accounts.ListEnvironments(ctx)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	d := runsData{Filter: in, Environments: envs, Outcomes: []run.Outcome{run.Passed, run.Failed, run.Errored, run.Abandoned},
		MaxMarks: run.MaxChartMarks, MaxFlows: run.MaxChartFlows, MaxScan: run.MaxChartScan, Paged: q.Get("after") != "", Legend: legend()}
	for _, win := range runWindows {
		d.Windows = append(d.Windows, win.Name)
	}
	p := pageFor(s, "Runs", "runs")
	err = c.fillRuns(ctx, &d, q.Get("after"))
	if understudy.ErrorCode(err) == understudy.EINVALID {
		// The form stays as it was sent, with what is wrong with it.
		p.Flash = &flash{Kind: "error", Text: safeMessage(err)}
		d.Charts, d.Runs, d.Next = nil, nil, ""
		p.Data = d
		c.render(w, r, understudy.ErrorStatusCode(understudy.EINVALID), "runs", p)
		return
	}
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p.Data = d
	c.render(w, r, http.StatusOK, "runs", p)
}

// fillRuns checks d's filter and reads its charts, their deployments and
// the page of runs after the cursor after. Errors: EINVALID naming the
// field.
func (c *Console) fillRuns(ctx context.Context, d *runsData, after string) error {
	in := d.Filter
	if err := checkRunsFilter(in, d.Environments); err != nil {
		return err
	}
	back, _ := windowOf(in.Window)
	d.Until = c.cfg.Now().UTC()
	d.Since = d.Until.Add(-back)
	chart, err := c.cfg.Runs.Chart(ctx, run.ChartFilter{Environment: in.Environment, Flow: in.Flow, Outcome: run.Outcome(in.Outcome),
		Since: d.Since, Until: d.Until})
	if err != nil {
		return err
	}
	deps, err := c.cfg.Deployments.List(ctx, run.DeploymentFilter{Environment: in.Environment, Since: d.Since, Until: d.Until, Limit: maxDeployMarks})
	if err != nil {
		return err
	}
	d.Runs, d.Next, err = c.cfg.Runs.List(ctx, run.Filter{Environment: in.Environment, Flow: in.Flow, Outcome: run.Outcome(in.Outcome),
		After: after, Limit: runsPageSize})
	if err != nil {
		return err
	}
	d.Charts = chartsOf(chart, deps.Items, d.Since, d.Until, in.Environment == "")
	d.Flows, d.Scanned, d.ScanCut = chart.Flows, chart.Scanned, chart.Scanned >= run.MaxChartScan
	d.Deployments, d.DeploysCut = len(deps.Items), deps.NextBefore != ""
	return nil
}

// checkRunsFilter names every field of the runs page's filter that is
// not one it offers: an environment of envs, a flow's name, an outcome, a
// window. Errors: EINVALID.
func checkRunsFilter(in runsFilter, envs []accounts.Environment) error {
	var bad []understudy.FieldError
	if in.Environment != "" && !slices.ContainsFunc(envs, func(e accounts.Environment) bool { return e.Name == in.Environment }) {
		bad = append(bad, understudy.FieldError{Field: "environment", Detail: "is not an environment's name"})
	}
	if in.Flow != "" && !run.ValidFlow(in.Flow) {
		bad = append(bad, understudy.FieldError{Field: "flow", Detail: "must be a flow's name: at most " + strconv.Itoa(run.MaxFlow) +
			" letters, digits, spaces and . _ : / @ + # -, starting with a letter or digit"})
	}
	if in.Outcome != "" && !run.Outcome(in.Outcome).Valid() {
		bad = append(bad, understudy.FieldError{Field: "outcome", Detail: "must be passed, failed, errored or abandoned"})
	}
	if _, ok := windowOf(in.Window); !ok {
		bad = append(bad, understudy.FieldError{Field: "window", Detail: "must be 1h, 24h or 7d"})
	}
	if len(bad) > 0 {
		return understudy.Invalid("invalid filter", bad...)
	}
	return nil
}
