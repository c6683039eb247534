package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) syncCommand() *cobra.Command {
	var env, dest string
	var dryRun, full bool
	cmd := &cobra.Command{
		Use:   "sync --environment E [--destination D] [--dry-run | --full]",
		Short: "Publish the exclusion list to a destination (every destination of the environment without --destination); exit 1 when a run is not ok",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if env == "" {
				return usageErrorf("--environment is required")
			}
			if dryRun && full {
				return usageErrorf("--dry-run and --full cannot be used together: a dry run always compares the whole list")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			names := []string{dest}
			if dest == "" {
				resp, err := c.ListDestinationsWithResponse(cmd.Context(), env)
				if err := check(resp, err); err != nil {
					return err
				}
				names = names[:0]
				for _, d := range resp.JSON200.Items {
					names = append(names, d.Name)
				}
			}
			if dryRun {
				return a.syncPlans(cmd, c, env, names)
			}
			return a.syncRuns(cmd, c, env, names, full)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&env, "environment", "e", "", "the environment (required)")
	fs.StringVarP(&dest, "destination", "d", "", "the destination (default: every destination of the environment)")
	fs.BoolVar(&dryRun, "dry-run", false, "print what would be sent, and send nothing")
	fs.BoolVar(&full, "full", false, "compare the whole list with what each destination acknowledged, even when the list has not changed since its last ok run")
	cmd.AddCommand(a.syncRunsCommand())
	return cmd
}

// syncRuns syncs each named destination in turn and prints the runs.
// With full, each run compares the whole list (see SyncDestinationParams.Full).
func (a *cli) syncRuns(cmd *cobra.Command, c *openapi.ClientWithResponses, env string, names []string, full bool) error {
	runs := []openapi.SyncRun{}
	var failed []string
	for _, name := range names {
		params := &openapi.SyncDestinationParams{}
		if full {
			params.Full = new(true)
		}
		resp, err := c.SyncDestinationWithResponse(cmd.Context(), env, name, params)
		run, err := decodeReply[openapi.SyncRun](resp, err)
		if err != nil {
			return err
		}
		runs = append(runs, run)
		if run.Outcome != openapi.SyncRunOutcomeOk {
			failed = append(failed, name)
		}
	}
	body, _ := json.Marshal(map[string]any{"items": runs})
	if err := a.show(body, func(w io.Writer) { runTable(w, runs...) }); err != nil {
		return err
	}
	if len(failed) > 0 {
		return &codedError{code: exitError, err: fmt.Errorf("the sync of %s in environment %s did not succeed (see its error)", strings.Join(failed, ", "), env)}
	}
	return nil
}

// syncPlans prints what a sync of each named destination would send.
func (a *cli) syncPlans(cmd *cobra.Command, c *openapi.ClientWithResponses, env string, names []string) error {
	plans := []openapi.SyncPlan{}
	for _, name := range names {
		resp, err := c.SyncDestinationWithResponse(cmd.Context(), env, name, &openapi.SyncDestinationParams{DryRun: new(true)})
		plan, err := decodeReply[openapi.SyncPlan](resp, err)
		if err != nil {
			return err
		}
		plans = append(plans, plan)
	}
	body, _ := json.Marshal(map[string]any{"items": plans})
	return a.show(body, func(w io.Writer) {
		for _, p := range plans {
			fmt.Fprintf(w, "%s/%s:\n", p.Environment, p.Destination)
			for _, ch := range p.Add {
				fmt.Fprintf(w, "  + %s\t%s\n", ch.DistinctId, actionsText(ch.Actions))
			}
			for _, ch := range p.Remove {
				fmt.Fprintf(w, "  - %s\t%s\n", ch.DistinctId, actionsText(ch.Actions))
			}
			fmt.Fprintf(w, "Sync: %d to add, %d to remove, %d unchanged.\n", len(p.Add), len(p.Remove), p.Unchanged)
			if n := valueOf(p.Note); n != "" {
				fmt.Fprintf(w, "  (%s)\n", n)
			}
			for _, r := range p.Requests {
				printRequest(w, r)
			}
		}
	})
}

// truncatedBody matches the suffix of a body the server cut.
var truncatedBody = regexp.MustCompile(`… \((\d+) bytes\)$`)

// printRequest prints one request a sync would send: its line, then its
// note and body, indented (the headers are in the JSON output).
func printRequest(w io.Writer, r openapi.SyncRequest) {
	fmt.Fprintf(w, "\n  %s %s  (%s, %d identities)\n", r.Method, r.Url, r.Action, r.Identities)
	if n := valueOf(r.Note); n != "" {
		fmt.Fprintf(w, "      note: %s\n", n)
	}
	body := valueOf(r.Body)
	if body == "" {
		return
	}
	for line := range strings.SplitSeq(body, "\n") {
		fmt.Fprintf(w, "      %s\n", line)
	}
	if m := truncatedBody.FindStringSubmatch(body); m != nil {
		fmt.Fprintf(w, "      (body truncated: the first 4 KB of %s bytes are shown)\n", m[1])
	}
}

func actionsText(actions []openapi.SyncChangeActions) string {
	out := make([]string, len(actions))
	for i, x := range actions {
		out[i] = string(x)
	}
	return strings.Join(out, ",")
}

func (a *cli) syncRunsCommand() *cobra.Command {
	var env, dest string
	cmd := &cobra.Command{
		Use: "runs [--environment E] [--destination D]", Short: "List the latest sync runs, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			params := &openapi.ListSyncRunsParams{}
			if env != "" {
				params.Environment = new(env)
			}
			if dest != "" {
				params.Destination = new(dest)
			}
			resp, err := c.ListSyncRunsWithResponse(cmd.Context(), params)
			return showReply(a, resp, err, func(w io.Writer, l openapi.SyncRunList) { runTable(w, l.Items...) })
		},
	}
	cmd.Flags().StringVarP(&env, "environment", "e", "", "only the runs of this environment")
	cmd.Flags().StringVarP(&dest, "destination", "d", "", "only the runs of this destination")
	return cmd
}

func runTable(w io.Writer, runs ...openapi.SyncRun) {
	row(w, "STARTED", "ENVIRONMENT", "DESTINATION", "OUTCOME", "ADDED", "REMOVED", "UNCHANGED", "REQUESTS", "VERIFICATION", "ERROR")
	for _, r := range runs {
		row(w, r.StartedAt.Format("2006-01-02 15:04:05"), r.Environment, r.Destination, string(r.Outcome), r.Added, r.Removed, r.Unchanged,
			itoa(r.Requests), orDash(valueOf(r.Verification)), orDash(valueOf(r.Error)))
	}
}
