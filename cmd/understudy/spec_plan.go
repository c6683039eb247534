package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/spec"
	"github.com/understudy-dev/understudy/spec/lang"
)

// specFlags are the flags plan, apply and destroy share.
type specFlags struct {
	workspace        string
	vars, varFiles   []string
	jsonOut, noColor bool
	waitLeases       time.Duration
	lockTimeout      time.Duration
	autoApprove      bool
	input            bool
	// targets and replaces are -target and -replace, as typed.
	targets, replaces []string
	// lock is -lock; see lockHelp for what false means here.
	lock            bool
	compactWarnings bool
}

// targetHelp and replaceHelp describe -target and -replace.
const (
	targetHelp = "plan only the object at ADDR (understudy_role.buyer, understudy_role.team[\"a\"], or the spec's role.buyer) and what it needs: " +
		"a declared object's environment, and what is in an environment that is deleted; without an instance key, every instance of a for_each block (repeatable). " +
		"The plan is incomplete, and says so; not for routine use"
	replaceHelp = "replace the object at ADDR (delete it, then create it) even when nothing of it changed (repeatable); " +
		"an environment that has ever had an account, or holds objects, cannot be replaced"
)

func (f *specFlags) register(cmd *cobra.Command, apply bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.workspace, "workspace", "", "the workspace: the set of objects this spec manages (or UNDERSTUDY_WORKSPACE; default \"default\")")
	fs.StringArrayVar(&f.vars, "var", nil, "set a variable: -var name=value (repeatable)")
	fs.StringArrayVar(&f.varFiles, "var-file", nil, "read variables from a file of name = value lines (repeatable)")
	fs.BoolVar(&f.noColor, "no-color", false, "no colour, even on a terminal")
	fs.BoolVar(&f.input, "input", true, "ask for input when needed; -input=false never asks (apply and destroy of a directory then need -auto-approve)")
	fs.StringArrayVar(&f.targets, "target", nil, targetHelp)
	fs.BoolVar(&f.compactWarnings, "compact-warnings", false, "show each warning as one summary line at the end, unless there are errors too")
	if apply {
		fs.BoolVar(&f.lock, "lock", true, "accepted for Terraform's scripts; -lock=false changes nothing here and says so: "+
			"the server always holds the workspace's lock while it applies, so two applies never run at once, and a lock taken with `workspaces lock` still refuses the apply")
	} else {
		fs.BoolVar(&f.lock, "lock", true, "accepted for Terraform's scripts; a plan never takes the workspace's lock here "+
			"(the server reads its state in one go, and an apply refuses a plan the state moved past), so -lock=false changes nothing")
	}
	if apply {
		fs.BoolVar(&f.autoApprove, "auto-approve", false, "apply without asking for yes")
		fs.DurationVar(&f.waitLeases, "wait-leases", 0, "how long to wait for a lease on an account to retire to end (at most 1h); without it such an apply is refused")
		fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "how long to retry while another apply holds the workspace")
	} else {
		fs.BoolVar(&f.jsonOut, "json", false, "print Terraform's machine-readable UI: one JSON message a line (version, planned_change, resource_drift, change_summary, diagnostic); show -json FILE prints the whole JSON plan")
	}
}

// The spec commands (fmt, validate, plan, apply, destroy, show) follow
// Terraform's exit codes, which CI reads: 0 success, 1 any error (a usage
// error, an unreachable server and a refused token included), 2 only for
// "there are changes" under plan -detailed-exitcode, 3 only for files that
// fmt -check finds unformatted. Their errors are printed once, as
// diagnostics ("Error: …"), without the "understudy:" prefix of the other
// commands.

// specCommand marks cmd as a spec command.
func specCommand(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations["spec"] = "true"
	return cmd
}

func isSpecCommand(cmd *cobra.Command) bool { return cmd.Annotations["spec"] == "true" }

// specResult ends a spec command with an exit code that is an outcome, not
// an error: 2 for changes under -detailed-exitcode, 3 for fmt -check.
type specResult struct{ code int }

func (r *specResult) Error() string { return fmt.Sprintf("exit status %d", r.code) }

// reportedError ends a spec command whose diagnostics are printed
// already: it prints nothing more.
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }

// specExit prints err as a diagnostic, unless it was printed already, and
// returns the exit code of a spec command.
func (a *cli) specExit(err error) int {
	if r, ok := errors.AsType[*specResult](err); ok {
		return r.code
	}
	if _, ok := errors.AsType[*reportedError](err); !ok {
		_ = a.printDiagnostics(nil, hcl.Diagnostics{diagnosticOf(err)})
	}
	return exitError
}

// diagnosticOf is the diagnostic that reports err. A problem the server
// answered has a short summary and the server's words (with what the
// command added around them) as its detail, without the HTTP status,
// which is no part of a Terraform diagnostic.
func diagnosticOf(err error) *hcl.Diagnostic {
	se, ok := errors.AsType[*serverError](err)
	if !ok {
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: err.Error()}
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: se.summary(),
		Detail: strings.Replace(err.Error(), se.Error(), se.msg, 1)}
}

// specFlagError names the flag a spec command does not know: pflag reads
// -lock=false as the shorthand l and would say only "unknown shorthand
// flag: 'l'".
func specFlagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	var flag string
	switch {
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		_, flag, _ = strings.Cut(msg, " in ")
	case strings.HasPrefix(msg, "unknown flag: "):
		flag = strings.TrimPrefix(msg, "unknown flag: ")
	default:
		return err
	}
	flag, _, _ = strings.Cut(flag, "=")
	return fmt.Errorf("%s does not accept the flag %s (its flags: %s -help)", cmd.CommandPath(), flag, cmd.CommandPath())
}

func (a *cli) planCommand() *cobra.Command {
	var f specFlags
	var out string
	var detailed, refreshOnly, destroy bool
	cmd := &cobra.Command{
		Use:   "plan [DIR]",
		Short: "Show what applying the spec in DIR (*.understudy.hcl, default .) would change on the server",
		Long: `Plan evaluates the spec and sends it to the server, which compares it with its own state and answers the plan.
Exit codes: 0 success, 1 error; with -detailed-exitcode: 0 no changes, 1 error, 2 changes.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			a.compactWarnings = f.compactWarnings
			mode, err := specMode(destroy, refreshOnly)
			if err != nil {
				return err
			}
			if f.jsonOut {
				a.ui = spec.NewUIStream(a.stdout, a.now)
				if err := a.ui.Version(cliVersion()); err != nil {
					return err
				}
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
			if out != "" {
				if err := a.savePlan(out, p); err != nil {
					return err
				}
				saved := a.stdout
				if f.jsonOut {
					saved = a.stderr // stdout holds JSON only
				}
				fmt.Fprintf(saved, "\nSaved the plan to: %s\n\nTo perform exactly these actions, run the following command to apply:\n    understudy apply %q\n", out, out)
			}
			if detailed && p.HasChanges() {
				return &specResult{code: 2}
			}
			return nil
		},
	}
	f.register(cmd, false)
	fs := cmd.Flags()
	fs.StringVar(&out, "out", "", "save the plan to FILE, for `understudy apply FILE` (the file holds no secret)")
	fs.BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when there are no changes, 1 on error, 2 when there are changes")
	fs.BoolVar(&refreshOnly, "refresh-only", false, "only report what changed on the server outside the spec since the last apply")
	fs.BoolVar(&destroy, "destroy", false, "plan the deletion of everything the workspace manages")
	fs.StringArrayVar(&f.replaces, "replace", nil, replaceHelp)
	return cmd
}

// specMode is the plan mode that -destroy and -refresh-only ask for.
func specMode(destroy, refreshOnly bool) (string, error) {
	switch {
	case destroy && refreshOnly:
		return "", usageErrorf("-destroy and -refresh-only cannot be used together")
	case destroy:
		return spec.ModeDestroy, nil
	case refreshOnly:
		return spec.ModeRefreshOnly, nil
	}
	return spec.ModeNormal, nil
}

// makePlan loads the spec in dir (none for a destroy) and asks the server
// for its plan. A refusal that names attributes is printed as diagnostics
// at those attributes.
func (a *cli) makePlan(cmd *cobra.Command, dir, mode string, f specFlags) (spec.Plan, *lang.Config, error) {
	req := spec.PlanRequest{Workspace: firstNonEmpty(f.workspace, a.getenv("UNDERSTUDY_WORKSPACE"), spec.DefaultWorkspace), Mode: mode,
		Targets: f.targets, Replace: f.replaces}
	if len(f.replaces) > 0 && mode != spec.ModeNormal {
		return spec.Plan{}, nil, usageErrorf("-replace cannot be used with -%s: it replaces objects the spec declares (nothing was planned)", mode)
	}
	var cfg *lang.Config
	if mode != spec.ModeDestroy {
		var err error
		if cfg, err = a.loadSpec(cmd.Context(), dir, f.vars, f.varFiles); err != nil {
			return spec.Plan{}, nil, err
		}
		req.Desired = cfg.Desired
	}
	c, err := a.apiClient()
	if err != nil {
		return spec.Plan{}, nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return spec.Plan{}, nil, err
	}
	resp, err := c.CreatePlanWithBodyWithResponse(cmd.Context(), "application/json", bytes.NewReader(body))
	if err := check(resp, err); err != nil {
		if resp == nil { // the server was not reached
			return spec.Plan{}, nil, err
		}
		return spec.Plan{}, nil, a.planProblem(cfg, resp.Body, err)
	}
	var p spec.Plan
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		return spec.Plan{}, nil, fmt.Errorf("reading the plan: %w", err)
	}
	if cfg != nil {
		p.Variables = cfg.Variables // for the JSON plan; sensitive ones have no value
	}
	return p, cfg, nil
}

// planProblem prints a refused plan's field errors as diagnostics at the
// attributes they name, and returns a short error.
func (a *cli) planProblem(cfg *lang.Config, body []byte, err error) error {
	var p openapi.Problem
	if cfg == nil || json.Unmarshal(body, &p) != nil || p.Errors == nil || len(*p.Errors) == 0 {
		return err
	}
	var diags hcl.Diagnostics
	for _, fe := range *p.Errors {
		summary := p.Detail
		if parts := strings.SplitN(fe.Field, ".", 3); len(parts) == 3 {
			summary = "Invalid " + parts[2] + " (" + p.Detail + ")"
		}
		diags = append(diags, cfg.Diagnostic(fe.Field, summary, fe.Detail))
	}
	if werr := a.printDiagnostics(cfg.Files, diags); werr != nil {
		return werr
	}
	return &reportedError{err: fmt.Errorf("the server refused the plan: %d error(s), shown above", len(diags))}
}

// printPlan prints p: to the machine-readable UI under plan -json, as
// Terraform's JSON plan under show -json, and for people otherwise.
func (a *cli) printPlan(p spec.Plan, f specFlags) error {
	if a.ui != nil {
		return a.ui.Plan(p)
	}
	if f.jsonOut {
		return spec.WriteTerraformJSON(a.stdout, p)
	}
	return spec.WritePlan(a.stdout, p, spec.RenderOptions{Color: a.colorFor(a.stdout, f.noColor)})
}

// cliVersion is this build's version, "dev" when the build does not
// record one.
func cliVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "dev"
}

// colorFor reports whether to colour output to w: on a terminal, unless
// -no-color or NO_COLOR says otherwise.
func (a *cli) colorFor(w any, noColor bool) bool {
	if noColor || a.noColor || a.getenv("NO_COLOR") != "" {
		return false
	}
	if a.isTerminal != nil {
		return a.isTerminal(w)
	}
	file, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// planFile is what plan -out saves: the plan as the server answered it
// (secrets masked), where it was made, and a SHA-256 digest of both, so
// that a file changed after it was saved is refused rather than applied as
// if it were what was reviewed. apply FILE applies the plan by its id.
type planFile struct {
	Format int             `json:"understudy_plan_format"`
	Server string          `json:"server"`
	Digest string          `json:"sha256"`
	Plan   json.RawMessage `json:"plan"`
}

// planFormat is the version of the plan file; version 1 had no digest.
const planFormat = 2

// errPlanFileChanged is the refusal of a plan file whose digest does not
// match its contents.
var errPlanFileChanged = errors.New("was changed after it was saved (its sha256 does not match its contents): nothing was done; make a new plan with `understudy plan -out`")

// planDigest is the hex SHA-256 of a plan file's server and plan, the
// plan's JSON compacted so that only a change of a value counts.
func planDigest(server string, plan json.RawMessage) (string, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, plan); err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "understudy plan file %d\x00%s\x00", planFormat, server)
	h.Write(compact.Bytes())
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (a *cli) savePlan(path string, p spec.Plan) error {
	plan, err := json.Marshal(p)
	if err != nil {
		return err
	}
	pf := planFile{Format: planFormat, Server: a.serverURL(), Plan: plan}
	if pf.Digest, err = planDigest(pf.Server, plan); err != nil {
		return err
	}
	b, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("saving the plan: %w", err)
	}
	return nil
}

// readPlanFile reads a plan file saved by plan -out and checks its digest.
func readPlanFile(path string) (spec.Plan, error) {
	var p spec.Plan
	b, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("reading the plan file: %w", err)
	}
	var pf planFile
	if err := json.Unmarshal(b, &pf); err != nil || pf.Format == 0 || len(pf.Plan) == 0 {
		return p, fmt.Errorf("%s is not a plan file saved by `understudy plan -out`", path)
	}
	if pf.Format != planFormat {
		return p, fmt.Errorf("the plan file %s has format %d, this understudy reads format %d: make a new plan with `understudy plan -out`", path, pf.Format, planFormat)
	}
	want, err := planDigest(pf.Server, pf.Plan)
	if err != nil || subtle.ConstantTimeCompare([]byte(want), []byte(pf.Digest)) != 1 {
		return p, fmt.Errorf("the plan file %s %w", path, errPlanFileChanged)
	}
	if err := json.Unmarshal(pf.Plan, &p); err != nil || p.ID == "" {
		return p, fmt.Errorf("%s is not a plan file saved by `understudy plan -out`", path)
	}
	return p, nil
}

func (a *cli) serverURL() string {
	return firstNonEmpty(a.url, a.getenv("UNDERSTUDY_URL"), "http://127.0.0.1:8080")
}

// confirm asks for "yes" on stdin, as Terraform does. A signal (ctx done)
// while it waits is a no.
func (a *cli) confirm(ctx context.Context, question string) bool {
	fmt.Fprintf(a.stdout, "\n%s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(a.stdin).ReadString('\n')
		answer <- line
	}()
	var line string
	select {
	case line = <-answer:
	case <-ctx.Done():
	}
	fmt.Fprintln(a.stdout)
	return strings.TrimSpace(line) == "yes"
}

// longClient gives an apply's requests a timeout that covers its wait for
// leases.
func (a *cli) longClient(wait time.Duration) {
	if a.httpClient == nil {
		a.httpClient = &http.Client{Timeout: wait + 30*time.Minute}
	}
}
