package run_test

import (
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/run"
)

// chartOf names each series of c by its flow and its marks by the
// fixture's letters, newest first: "checkout:db signup:b :ec".
func (f runsFixture) chartOf(c run.Chart) string {
	out := ""
	for i, s := range c.Series {
		if i > 0 {
			out += " "
		}
		out += s.Flow + ":"
		for _, m := range s.Marks {
			for l, id := range f.ids {
				if id == m.LeaseID {
					out += l
				}
			}
		}
	}
	return out
}

// A chart groups the window's runs by flow, by name and the runs that
// named none last, each flow's newest first with its count; the filters
// and the bounds keep to what they say.
func TestChartGroupsTheWindowsRunsByFlow(t *testing.T) {
	t.Parallel()
	f := newRunsFixture(t)
	window := run.ChartFilter{Since: t0, Until: t0.Add(time.Hour)}
	c, err := f.Runs.Chart(f.Ctx, window)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.chartOf(c); got != "checkout:da signup:b :ec" || c.Flows != 3 || c.Scanned != 5 {
		t.Fatalf("chart %q of %d flows, %d read; want checkout:da signup:b :ec of 3, 5 read", got, c.Flows, c.Scanned)
	}
	if c.Series[0].Runs != 2 || c.Series[2].Runs != 2 {
		t.Errorf("counts %d and %d, want 2 and 2", c.Series[0].Runs, c.Series[2].Runs)
	}
	a := c.Series[0].Marks[1]
	if a.Outcome != run.Passed || a.Role != "buyer" || a.Environment != "production" || !a.AcquiredAt.Equal(t0) {
		t.Errorf("mark a = %+v", a)
	}
	if d := c.Series[0].Marks[0]; d.Outcome != "" {
		t.Errorf("run d, still open, has outcome %q", d.Outcome)
	}
	for _, tc := range []struct {
		name string
		f    run.ChartFilter
		want string
	}{
		{"a window of the first two minutes", run.ChartFilter{Since: t0, Until: t0.Add(2 * time.Minute)}, "checkout:a signup:b"},
		{"one flow", run.ChartFilter{Flow: "checkout"}, "checkout:da"},
		{"one outcome", run.ChartFilter{Outcome: run.Abandoned}, ":e"},
		{"another environment", run.ChartFilter{Environment: "staging"}, ""},
		{"the newest flow alone", run.ChartFilter{MaxFlows: 1}, ":ec"},
		{"one run a flow", run.ChartFilter{MaxMarks: 1}, "checkout:d signup:b :e"},
	} {
		if tc.f.Since.IsZero() {
			tc.f.Since, tc.f.Until = window.Since, window.Until
		}
		c, err := f.Runs.Chart(f.Ctx, tc.f)
		if got := f.chartOf(c); err != nil || got != tc.want {
			t.Errorf("%s: %q (%v), want %q", tc.name, got, err, tc.want)
		}
		if tc.name == "the newest flow alone" && (c.Flows != 3 || c.Series[0].Runs != 2) {
			t.Errorf("%s: %d flows, %d runs of the one kept; want 3 and 2", tc.name, c.Flows, c.Series[0].Runs)
		}
	}
	for _, bad := range []run.ChartFilter{{}, {Since: t0, Until: t0}, {Since: t0, Until: t0.Add(time.Hour), Outcome: "flaky"},
		{Since: t0, Until: t0.Add(time.Hour), MaxFlows: run.MaxChartFlows + 1}, {Since: t0, Until: t0.Add(time.Hour), MaxMarks: -1}} {
		_, err := f.Runs.Chart(f.Ctx, bad)
		domaintest.WantCode(t, err, understudy.EINVALID)
	}
}
