package console

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/run"
)

// The runs page's charts: one inline SVG per flow, its runs' outcomes over
// a window of time, drawn on the server so that it needs no script. Each
// outcome has a lane of its own (named at its left), a shape and a colour,
// so colour is never the only signal; each run is a link to its page with
// a tooltip (<title>), and each deployment a dashed line with its version.
// Only numbers computed here go into the markup's geometry: every text
// (a flow, a test, a version) reaches it through the template, escaped.

// The geometry of a chart, in SVG units (the chart scales to its width).
const (
	chartWidth  = 720
	chartLeft   = 84 // the lanes' names
	chartRight  = 14
	chartTop    = 26 // the deployments' versions
	laneHeight  = 20
	chartAxis   = 22 // the times
	deployLabel = 16 // characters of a version shown above its line
	// deployGap is the room a deployment's label needs: a deployment
	// closer than that to the one labelled before it keeps its line and
	// tooltip, not its label.
	deployGap = 96
)

// lanes are the outcomes, in the order of the chart's lanes, with "" (no
// outcome yet) last.
var lanes = []run.Outcome{run.Passed, run.Failed, run.Errored, run.Abandoned, ""}

// outcomeName is how a page names an outcome: "none" for no outcome yet.
func outcomeName(o run.Outcome) string {
	if o == "" {
		return "none"
	}
	return string(o)
}

// runChart is one flow's chart, ready to draw.
type runChart struct {
	// Flow is the flow's name, "" for the runs that named none.
	Flow string
	// Runs counts the flow's runs in the window; Marks are the newest.
	Runs  int
	Marks []chartMark
	// Counts are the marks' outcomes, each with how many, in lane order.
	Counts  []outcomeCount
	Lanes   []chartLane
	Ticks   []chartTick
	Deploys []chartDeploy
	// Width, Height and the plot's edges place everything else: the
	// lanes' names end at NameX, the times stand on AxisY, and the
	// deployments' labels on LabelY.
	Width, Height, Left, Right, Top, Bottom int
	NameX, AxisY, LabelY                    int
}

// outcomeCount is how many runs had an outcome.
type outcomeCount struct {
	Outcome string
	N       int
}

// chartMark is one run: a link to its page around its shape.
type chartMark struct {
	URL   string
	Title string
	// Class names its outcome, for its colour; D is its shape's path.
	Class string
	D     string
}

// chartLane is the lane of an outcome: its name and its line's height.
type chartLane struct {
	Name    string
	Y, Text string
}

// chartTick is a time on the axis.
type chartTick struct {
	X, Label string
}

// chartDeploy is a deployment: its line, its tooltip, and its label when
// there is room for one.
type chartDeploy struct {
	X, Title, Label string
	// LabelX and Anchor place the label: after the line, or before it
	// near the right edge.
	LabelX, Anchor string
}

// chartsOf draws the series of c over the window from since to until,
// with the deployments deps (newest first, as run.Deployments lists them)
// marked on each; named says the deployments are of several environments,
// so each one's label names its environment.
func chartsOf(c run.Chart, deps []run.Deployment, since, until time.Time, named bool) []runChart {
	out := make([]runChart, len(c.Series))
	for i, s := range c.Series {
		out[i] = drawSeries(s, deps, since, until, named)
	}
	return out
}

// drawSeries draws one flow's runs.
func drawSeries(s run.Series, deps []run.Deployment, since, until time.Time, named bool) runChart {
	ch := runChart{Flow: s.Flow, Runs: s.Runs, Width: chartWidth, Left: chartLeft, Right: chartWidth - chartRight, Top: chartTop,
		Bottom: chartTop + laneHeight*len(lanes)}
	ch.Height = ch.Bottom + chartAxis
	ch.NameX, ch.AxisY, ch.LabelY = ch.Left-8, ch.Bottom+16, ch.Top-9
	span := until.Sub(since).Seconds()
	x := func(t time.Time) float64 {
		return float64(ch.Left) + t.Sub(since).Seconds()/span*float64(ch.Right-ch.Left)
	}
	counts := map[run.Outcome]int{}
	for i, o := range lanes {
		y := float64(ch.Top) + laneHeight*(float64(i)+.5)
		ch.Lanes = append(ch.Lanes, chartLane{Name: outcomeName(o), Y: num(y), Text: num(y + 4)})
	}
	// The oldest first, so that the newest is drawn on top.
	for i := len(s.Marks) - 1; i >= 0; i-- {
		m := s.Marks[i]
		lane := laneOf(m.Outcome)
		counts[m.Outcome]++
		y := float64(ch.Top) + laneHeight*(float64(lane)+.5)
		ch.Marks = append(ch.Marks, chartMark{URL: Prefix + "runs/" + m.LeaseID, Title: markTitle(s.Flow, m),
			Class: outcomeName(m.Outcome), D: shape(m.Outcome, x(m.AcquiredAt), y)})
	}
	for _, o := range lanes {
		if counts[o] > 0 {
			ch.Counts = append(ch.Counts, outcomeCount{outcomeName(o), counts[o]})
		}
	}
	ch.Ticks = ticks(since, until, x)
	ch.Deploys = deployMarks(deps, named, x, ch.Right)
	return ch
}

// legend is each outcome's mark, as the runs page's legend shows it.
func legend() []chartMark {
	out := make([]chartMark, len(lanes))
	for i, o := range lanes {
		out[i] = chartMark{Class: outcomeName(o), D: shape(o, 6, 6)}
	}
	return out
}

// laneOf is the lane of outcome o.
func laneOf(o run.Outcome) int {
	for i, l := range lanes {
		if l == o {
			return i
		}
	}
	return len(lanes) - 1
}

// markTitle is a run's tooltip: its outcome, flow, role, when it started,
// and its test and version when it named them.
func markTitle(flow string, m run.Mark) string {
	parts := []string{outcomeName(m.Outcome), flowName(flow), m.Environment + "/" + m.Role, "started " + m.AcquiredAt.UTC().Format("2006-01-02 15:04:05 UTC")}
	if m.Test != "" {
		parts = append(parts, "test "+m.Test)
	}
	if m.Version != "" {
		parts = append(parts, "version "+m.Version)
	}
	return strings.Join(parts, " · ")
}

// flowName is how a page names a flow: "(no flow)" for none.
func flowName(flow string) string {
	if flow == "" {
		return "(no flow)"
	}
	return flow
}

// shape is the path of an outcome's mark centred on (x, y): a disc for
// passed, a cross for failed, a triangle for errored, a square for
// abandoned and a ring (drawn hollow) for none.
func shape(o run.Outcome, x, y float64) string {
	switch o {
	case run.Failed:
		return fmt.Sprintf("M%s %sL%s %sM%s %sL%s %s", num(x-4), num(y-4), num(x+4), num(y+4), num(x-4), num(y+4), num(x+4), num(y-4))
	case run.Errored:
		return fmt.Sprintf("M%s %sL%s %sL%s %sZ", num(x), num(y-5), num(x+5), num(y+4), num(x-5), num(y+4))
	case run.Abandoned:
		return fmt.Sprintf("M%s %sh8v8h-8Z", num(x-4), num(y-4))
	}
	return fmt.Sprintf("M%s %sa4.5 4.5 0 1 0 9 0a4.5 4.5 0 1 0 -9 0Z", num(x-4.5), num(y))
}

// num writes a coordinate to a tenth of a unit.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// tickSteps are the axis's steps for each length of window, and how each
// tick is labelled: every 10 minutes of an hour, 3 hours of a day, and
// each day of a week, in UTC.
var tickSteps = []struct {
	upTo   time.Duration
	step   time.Duration
	layout string
}{{time.Hour, 10 * time.Minute, "15:04"}, {24 * time.Hour, 3 * time.Hour, "15:04"}, {7 * 24 * time.Hour, 24 * time.Hour, "Mon 2"}}

// ticks are the axis's times from since to until, at x.
func ticks(since, until time.Time, x func(time.Time) float64) []chartTick {
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if until.Sub(since) <= s.upTo {
			step = s
			break
		}
	}
	var out []chartTick
	for t := since.UTC().Truncate(step.step); t.Before(until); t = t.Add(step.step) {
		if t.Before(since) {
			continue
		}
		out = append(out, chartTick{X: num(x(t)), Label: t.Format(step.layout)})
	}
	return out
}

// deployMarks places the deployments deps on the chart, the oldest
// first, each labelled with its version (and environment, when named)
// where there is room; right is the plot's right edge.
func deployMarks(deps []run.Deployment, named bool, x func(time.Time) float64, right int) []chartDeploy {
	out := make([]chartDeploy, len(deps))
	// Labelled newest first (deps are oldest last): where deployments
	// crowd, the newest's version is the one shown, the one the runs after
	// it ran against, and each of the others says it in its tooltip.
	next := math.Inf(1)
	for i := 0; i < len(deps); i++ {
		d := deps[i]
		name := d.Version
		if named {
			name = d.Environment + " " + d.Version
		}
		at := x(d.DeployedAt)
		m := chartDeploy{X: num(at), Title: "deployed " + name + " at " + d.DeployedAt.UTC().Format("2006-01-02 15:04:05 UTC")}
		if next-at >= deployGap {
			m.Label, m.LabelX, m.Anchor, next = clip(name, deployLabel), num(at+3), "start", at
			if at > float64(right-deployGap) {
				m.LabelX, m.Anchor = num(at-3), "end"
			}
		}
		out[len(deps)-1-i] = m
	}
	return out
}

// clip cuts s to n characters, marking the cut with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
