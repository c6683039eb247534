package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

// runsCommand is `understudy runs`: what each lease was used for and how
// it ended.
func (a *cli) runsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "runs", Short: "List the runs (every lease is one) and how each ended"}
	cmd.AddCommand(a.runsListCommand(), a.runsShowCommand(), a.runsCaptureCommand())
	return cmd
}

// runListFlags are the filters of runs list.
type runListFlags struct {
	environment, role, flow, outcome, since, until, after string
	limit                                                 int
}

func (a *cli) runsListCommand() *cobra.Command {
	var f runListFlags
	list := &cobra.Command{
		Use:   "list [flags]",
		Short: "List runs newest first, a page of --limit at a time",
		Long: `Lists the runs newest first (by when their lease was acquired): every lease is
a run, so a lease that never named a run nor recorded an outcome is listed too,
with "-" for what it did not say. When more runs follow, the command says which
--after shows the next page (with -o json, the answer's "next").

--since and --until take an RFC 3339 time (2025-01-31T08:00:00Z) or a duration
before now (24h, 30m).`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := f.params(cmd, a.now())
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListRunsWithResponse(cmd.Context(), &p)
			return showReply(a, resp, err, func(w io.Writer, l openapi.RunList) {
				runsTable(w, l.Items...)
				if l.Next != nil {
					fmt.Fprintf(a.stderr, "more runs follow: --after %s\n", *l.Next)
				}
			})
		},
	}
	fs := list.Flags()
	fs.StringVar(&f.environment, "environment", "", "only runs in this environment")
	fs.StringVar(&f.role, "role", "", "only runs of this role")
	fs.StringVar(&f.flow, "flow", "", "only runs of this flow")
	fs.StringVar(&f.outcome, "outcome", "", "only runs with this outcome: passed, failed, errored or abandoned")
	fs.StringVar(&f.since, "since", "", "only runs whose lease was acquired at or after this time (RFC 3339, or a duration before now: 24h)")
	fs.StringVar(&f.until, "until", "", "only runs whose lease was acquired before this time (RFC 3339, or a duration before now)")
	fs.StringVar(&f.after, "after", "", "show the page after this one (as the previous page said)")
	fs.IntVar(&f.limit, "limit", 50, "show at most this many runs (1-200)")
	return list
}

// params returns the query for the flags that were set; now is the time
// a duration of --since or --until counts back from.
func (f *runListFlags) params(cmd *cobra.Command, now time.Time) (openapi.ListRunsParams, error) {
	var p openapi.ListRunsParams
	set := cmd.Flags().Changed
	for _, s := range []struct {
		flag string
		val  string
		dst  **string
	}{{"environment", f.environment, &p.Environment}, {"role", f.role, &p.Role}, {"flow", f.flow, &p.Flow}, {"after", f.after, &p.After}} {
		if set(s.flag) {
			*s.dst = new(s.val)
		}
	}
	if set("outcome") {
		p.Outcome = new(openapi.RunOutcome(f.outcome))
	}
	if set("limit") {
		p.Limit = new(f.limit)
	}
	var err error
	if p.Since, err = timeFlag("since", f.since, now); err != nil {
		return p, err
	}
	p.Until, err = timeFlag("until", f.until, now)
	return p, err
}

// timeFlag reads a --since or --until: "" is none, else an RFC 3339 time
// or a duration before now.
func timeFlag(name, v string, now time.Time) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return &t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return new(now.Add(-d)), nil
	}
	return nil, usageErrorf("--%s must be an RFC 3339 time (2025-01-31T08:00:00Z) or a duration before now (24h), got %q", name, v)
}

func (a *cli) runsShowCommand() *cobra.Command {
	return &cobra.Command{
		Use: "show LEASE_ID", Short: "Show the run of a lease: what it named, how it ended, its message and links", Args: args("lease_id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.GetRunWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, runDetails)
		},
	}
}

func runsTable(w io.Writer, list ...openapi.Run) {
	row(w, "LEASE", "ENVIRONMENT", "ROLE", "FLOW", "OUTCOME", "STATUS", "ACQUIRED", "DURATION", "VERSION")
	for _, r := range list {
		row(w, r.LeaseId, r.Environment, r.Role, orDash(r.Flow), orDashOutcome(r.Outcome), r.LeaseStatus, r.AcquiredAt.UTC().Format(time.RFC3339),
			durationOf(r.DurationSeconds), orDash(r.Version))
	}
}

// deploymentOf is the deployment a run ran against, as "VERSION (deployed
// TIME)", or "-".
func deploymentOf(d *openapi.Deployment) string {
	if d == nil {
		return "-"
	}
	return d.Version + " (deployed " + d.DeployedAt.UTC().Format(time.RFC3339) + ")"
}

// runDetails prints one run as label and value lines; the message keeps
// its lines, each indented under the label.
func runDetails(w io.Writer, r openapi.Run) {
	ended, outcomeAt := "-", "-"
	if r.EndedAt != nil {
		ended = r.EndedAt.UTC().Format(time.RFC3339)
	}
	if r.OutcomeAt != nil {
		outcomeAt = r.OutcomeAt.UTC().Format(time.RFC3339)
	}
	for _, kv := range [][2]string{
		{"Lease", r.LeaseId},
		{"Account", r.AccountId},
		{"Environment", r.Environment},
		{"Role", r.Role},
		{"Holder", r.Holder},
		{"Lease status", string(r.LeaseStatus)},
		{"Acquired", r.AcquiredAt.UTC().Format(time.RFC3339)},
		{"Ended", ended},
		{"Run id", orDash(r.RunId)},
		{"Flow", orDash(r.Flow)},
		{"CI job", orDash(r.CiUrl)},
		{"Version", orDash(r.Version)},
		{"Deployment", deploymentOf(r.Deployment)},
		{"Outcome", orDashOutcome(r.Outcome)},
		{"Outcome at", outcomeAt},
		{"Duration", durationOf(r.DurationSeconds)},
		{"Test", orDash(r.Test)},
		{"Capture", captureStatusOf(r.LeaseId, r.CaptureStatus)},
	} {
		row(w, kv[0], kv[1])
	}
	lines := strings.Split(strings.TrimRight(r.Message, "\n"), "\n")
	row(w, "Message", orDash(lines[0]))
	for _, l := range lines[1:] {
		row(w, "", l)
	}
	for _, l := range r.Links {
		row(w, "Link "+l.Name, l.Url)
	}
}

// captureStatusOf says where the capture of the run of lease id is, and
// the command that shows it, or "-" without one.
func captureStatusOf(id string, st *openapi.CaptureStatus) string {
	if st == nil {
		return "-"
	}
	return string(*st) + " (understudy runs capture " + id + ")"
}

func (a *cli) runsCaptureCommand() *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:   "capture LEASE_ID",
		Short: "Show the account's state at a failed run's end: what changed in each app",
		Long: `Shows the capture of a failed, errored or abandoned run: for each app of its
account, what its state at the run's end changed from the state the lease reset
it to, path by path. With --app, prints that app's whole state as captured
(JSON, whatever --output says). Only the token that acquired the lease, or an
admin token, may read it.`,
		Args: args("lease_id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if app != "" {
				resp, err := c.GetRunCaptureStateWithResponse(cmd.Context(), argv[0], app)
				if err := check(resp, err); err != nil {
					return err
				}
				var buf bytes.Buffer
				if err := json.Indent(&buf, resp.Body, "", "  "); err != nil {
					return fmt.Errorf("the server sent a state that is not JSON: %w", err)
				}
				buf.WriteByte('\n')
				_, err = a.stdout.Write(buf.Bytes())
				return err
			}
			resp, err := c.GetRunCaptureWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, captureDetails)
		},
	}
	cmd.Flags().StringVar(&app, "app", "", "print this app's whole captured state (its name or id)")
	return cmd
}

// rawCapture is a capture whose changes' values are kept as the server
// sent them (as rawDiff's).
type rawCapture struct {
	Status string
	Reason string
	State  string
	Apps   []struct {
		App          string
		Hash         string
		ChangesTotal int `json:"changes_total"`
		Error        string
		rawDiff
	}
}

// captureDetails prints a capture: its status, then each app's changes.
// What an app said (its state's keys, its errors) is printed quoted when
// it holds a control or format character, never as it came: it must not
// drive the terminal.
func captureDetails(w io.Writer, cp rawCapture) {
	row(w, "Status", cp.Status)
	if cp.Reason != "" {
		row(w, "Reason", inert(cp.Reason))
	}
	row(w, "Compared with", "state "+cp.State)
	for _, ap := range cp.Apps {
		fmt.Fprintln(w)
		switch {
		case ap.Error != "" && ap.Hash == "":
			row(w, "App "+ap.App, "not captured: "+inert(ap.Error))
			continue
		case ap.Error != "":
			row(w, "App "+ap.App, "captured "+shortHash(ap.Hash)+", not compared: "+inert(ap.Error))
			continue
		}
		row(w, "App "+ap.App, fmt.Sprintf("captured %s, %d change(s)", shortHash(ap.Hash), ap.ChangesTotal))
		if len(ap.Changes) == 0 {
			continue
		}
		row(w, "PATH", "OP", "BEFORE", "AFTER")
		for _, ch := range ap.Changes {
			row(w, inert(ch.Path), ch.Op, diffValue(ch.Before), diffValue(ch.After))
		}
		if ap.ChangesTotal > len(ap.Changes) {
			row(w, "…", fmt.Sprintf("%d more not kept", ap.ChangesTotal-len(ap.Changes)))
		}
	}
}

// inert returns s, or s quoted (strconv.QuoteToGraphic) when it holds a
// control or format character (an escape sequence, a bidi override, a
// tab that would break the table).
func inert(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) < 0 {
		return s
	}
	return strconv.QuoteToGraphic(s)
}

func orDashOutcome(o *openapi.RunOutcome) string {
	if o == nil {
		return "-"
	}
	return string(*o)
}

// durationOf shows seconds as a duration rounded to the second (to the
// millisecond under a second), or "-".
func durationOf(secs *float64) string {
	if secs == nil {
		return "-"
	}
	d := time.Duration(*secs * float64(time.Second))
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
