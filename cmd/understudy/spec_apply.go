package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/spec"
)

func (a *cli) applyCommand() *cobra.Command {
	var f specFlags
	var refreshOnly, destroy bool
	cmd := &cobra.Command{
		Use:   "apply [DIR | PLANFILE]",
		Short: "Plan the spec in DIR (default .) and apply it after you confirm, or apply exactly the plan saved in PLANFILE",
		Long: `Apply makes the server match the spec. With a directory it plans first and asks for yes (unless -auto-approve);
with a file saved by plan -out it applies exactly that plan, refused as stale when the server's state changed since,
and refused when the file was changed after it was saved. -input=false never asks: apply DIR then needs -auto-approve.
-refresh-only records what changed on the server outside the spec as the workspace's state, changing no object.
-destroy deletes everything the workspace manages, as destroy does.
Exit codes: 0 success, 1 any error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			mode, err := specMode(destroy, refreshOnly)
			if err != nil {
				return err
			}
			return a.apply(cmd, argv, mode, f)
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVar(&refreshOnly, "refresh-only", false, "record what changed on the server outside the spec since the last apply as the workspace's state, changing no object")
	cmd.Flags().BoolVar(&destroy, "destroy", false, "delete everything the workspace manages, as destroy does (objects no spec manages are left alone)")
	cmd.Flags().StringArrayVar(&f.replaces, "replace", nil, replaceHelp)
	return cmd
}

func (a *cli) destroyCommand() *cobra.Command {
	var f specFlags
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Delete everything the workspace manages (objects no spec manages are left alone), after you confirm",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.apply(cmd, nil, spec.ModeDestroy, f)
		},
	}
	f.register(cmd, true)
	return cmd
}

// apply plans (or reads a saved plan), confirms and applies.
func (a *cli) apply(cmd *cobra.Command, argv []string, mode string, f specFlags) error {
	if f.waitLeases < 0 || f.waitLeases > time.Hour {
		return usageErrorf("-wait-leases must be from 0s to 1h, got %s", f.waitLeases)
	}
	if f.lockTimeout < 0 {
		return usageErrorf("-lock-timeout must be 0s or more, got %s (nothing was planned or changed)", f.lockTimeout)
	}
	a.longClient(f.waitLeases + f.lockTimeout)
	a.compactWarnings = f.compactWarnings
	if !f.lock {
		if err := a.lockWarning(); err != nil {
			return err
		}
	}
	if len(argv) == 1 {
		if st, err := os.Stat(argv[0]); err == nil && !st.IsDir() {
			if len(f.targets) > 0 || len(f.replaces) > 0 || mode != spec.ModeNormal {
				return usageErrorf("-target, -replace, -refresh-only and -destroy are given when a plan is made (plan -out): apply %s applies the saved plan as it was made, with its own (nothing was changed)", argv[0])
			}
			p, err := readPlanFile(argv[0])
			if err != nil {
				return err
			}
			if err := a.matchServerPlan(cmd, argv[0], p); err != nil {
				return err
			}
			return a.applyPlan(cmd, p, f)
		}
	}
	if !f.autoApprove && !f.input {
		return fmt.Errorf("%s needs a confirmation, and -input=false forbids asking for it: add -auto-approve (nothing was planned or changed)", cmd.Name())
	}
	p, _, err := a.makePlan(cmd, dirArg(argv), mode, f)
	if err != nil {
		return err
	}
	if err := a.printPlan(p, f); err != nil {
		return err
	}
	if err := a.targetingWarning(p); err != nil {
		return err
	}
	if !p.HasChanges() {
		// As Terraform's: an apply with nothing to do still says so, one
		// blank line after the plan's "No changes.".
		return spec.WriteApplied(a.stdout, p, spec.RenderOptions{Color: a.colorFor(a.stdout, f.noColor)})
	}
	if !f.autoApprove {
		q := "Do you want to perform these actions in workspace \"" + p.Workspace + "\"?\n  Understudy will perform the actions described above."
		switch mode {
		case spec.ModeDestroy:
			q = "Do you really want to destroy everything workspace \"" + p.Workspace + "\" manages?\n  There is no undo."
		case spec.ModeRefreshOnly:
			q = "Would you like to update workspace \"" + p.Workspace + "\" to reflect these detected changes?\n  Understudy will record these changes without changing any object on the server.\n  There is no undo."
		}
		if !a.confirm(cmd.Context(), q) {
			return fmt.Errorf("apply cancelled: only 'yes' is accepted to approve; nothing was changed")
		}
	}
	return a.applyPlan(cmd, p, f)
}

// matchServerPlan refuses a plan file whose plan is not the one the server
// holds under its id (a file edited and given a new digest): the server
// applies its own copy, so the file must show exactly what will run.
func (a *cli) matchServerPlan(cmd *cobra.Command, path string, p spec.Plan) error {
	c, err := a.apiClient()
	if err != nil {
		return err
	}
	resp, err := c.GetPlanWithResponse(cmd.Context(), p.ID)
	if err := check(resp, err); err != nil {
		return err
	}
	var held spec.Plan
	if err := json.Unmarshal(resp.Body, &held); err != nil {
		return fmt.Errorf("reading the server's plan: %w", err)
	}
	if !bytes.Equal(planKey(held), planKey(p)) {
		return fmt.Errorf("the plan file %s does not match the plan the server holds under its id %s: nothing was done; make a new plan with `understudy plan -out`", path, p.ID)
	}
	return nil
}

// planKey is what a plan file must share with the server's plan: what the
// plan does, and to which workspace.
func planKey(p spec.Plan) []byte {
	b, _ := json.Marshal(struct {
		Workspace, Mode string
		Serial          int64
		Changes, Drift  []spec.Change
		Summary         spec.Summary
	}{p.Workspace, p.Mode, p.Serial, p.Changes, p.Drift, p.Summary})
	return b
}

// applyPlan applies plan p on the server, retrying while another apply
// holds the workspace for up to -lock-timeout, and prints what was done.
func (a *cli) applyPlan(cmd *cobra.Command, p spec.Plan, f specFlags) error {
	c, err := a.apiClient()
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"wait_leases": f.waitLeases.String()})
	deadline := a.now().Add(f.lockTimeout)
	for {
		resp, err := c.ApplyPlanWithBodyWithResponse(cmd.Context(), p.ID, "application/json", bytes.NewReader(body))
		if err != nil && cmd.Context().Err() != nil {
			return a.interruptedApply(c, p, f)
		}
		cerr := check(resp, err)
		if cerr == nil {
			var out spec.Plan
			if err := json.Unmarshal(resp.Body, &out); err != nil {
				return fmt.Errorf("reading the applied plan: %w", err)
			}
			if err := spec.WriteApplied(a.stdout, out, spec.RenderOptions{Color: a.colorFor(a.stdout, f.noColor)}); err != nil {
				return err
			}
			return a.appliedTargetsWarning(out)
		}
		if resp != nil && problemType(resp.Body) == understudy.ProblemTypePrefix+spec.LockedType && a.now().Before(deadline) {
			time.Sleep(time.Second)
			continue
		}
		if resp != nil {
			a.printPartial(resp.Body, f)
		}
		return cerr
	}
}

// interruptPoll is how often, and interruptWait how long, an interrupted
// apply asks the server whether its apply has stopped.
var (
	interruptPoll = 250 * time.Millisecond
	interruptWait = time.Minute
)

// interruptedApply follows an apply that a signal interrupted. Dropping
// the request stops it on the server after the change in progress, and
// unlocks the workspace; this waits for that, says what was applied and
// returns the error that ends the command (exit 1).
func (a *cli) interruptedApply(c *openapi.ClientWithResponses, p spec.Plan, f specFlags) error {
	fmt.Fprintln(a.stderr, "Interrupt received: the apply stops after the change in progress. Waiting for the server...")
	ctx, cancel := context.WithTimeout(context.Background(), interruptWait)
	defer cancel()
	started := a.now()
	for {
		resp, err := c.GetPlanWithResponse(ctx, p.ID)
		var held spec.Plan
		if check(resp, err) == nil && json.Unmarshal(resp.Body, &held) == nil {
			switch {
			case held.Status == spec.StatusFailed:
				_ = spec.WriteApplied(a.stderr, held, spec.RenderOptions{Color: a.colorFor(a.stderr, f.noColor)})
				return &reportedError{err: fmt.Errorf("apply of plan %s interrupted", p.ID)}
			case held.Status == spec.StatusApplied:
				_ = spec.WriteApplied(a.stderr, held, spec.RenderOptions{Color: a.colorFor(a.stderr, f.noColor)})
				return fmt.Errorf("interrupted, but only after the apply of plan %s had finished: every change above was made", p.ID)
			case held.Status == spec.StatusPlanned && a.now().Sub(started) > 2*time.Second:
				return fmt.Errorf("interrupted before the apply started: nothing was changed, and plan %s can still be applied", p.ID)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted, and the server did not say within %s whether the apply of plan %s stopped: `understudy show` on a saved plan or `understudy workspaces show %s` says how it ended", interruptWait, p.ID, p.Workspace)
		case <-time.After(interruptPoll):
		}
	}
}

// problemType returns the type of the problem document body, "" when it
// is none.
func problemType(body []byte) string {
	var p struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &p)
	return p.Type
}

// printPartial prints what a failed apply made, from the plan its problem
// carries, so nobody has to guess.
func (a *cli) printPartial(body []byte, f specFlags) {
	var problem struct {
		Plan *spec.Plan `json:"plan"`
	}
	if json.Unmarshal(body, &problem) != nil || problem.Plan == nil || problem.Plan.ApplyError == "" {
		return
	}
	_ = spec.WriteApplied(a.stderr, *problem.Plan, spec.RenderOptions{Color: a.colorFor(a.stderr, f.noColor)})
}

func (a *cli) showCommand() *cobra.Command {
	var f specFlags
	cmd := &cobra.Command{
		Use:   "show [-json] PLANFILE",
		Short: "Show a plan saved by plan -out, with what its apply did when it ran",
		Args:  args("PLANFILE"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			p, err := readPlanFile(argv[0])
			if err != nil {
				return err
			}
			if c, err := a.apiClient(); err == nil {
				if resp, err := c.GetPlanWithResponse(cmd.Context(), p.ID); check(resp, err) == nil {
					_ = json.Unmarshal(resp.Body, &p) // the server's copy says how its apply went
				}
			}
			if err := a.printPlan(p, f); err != nil {
				return err
			}
			if !f.jsonOut && len(p.Applied) > 0 {
				fmt.Fprintln(a.stdout)
				return spec.WriteApplied(a.stdout, p, spec.RenderOptions{Color: a.colorFor(a.stdout, f.noColor)})
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print the plan as Terraform's JSON plan format")
	cmd.Flags().BoolVar(&f.noColor, "no-color", false, "no colour, even on a terminal")
	return cmd
}
