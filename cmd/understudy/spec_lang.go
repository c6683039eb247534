package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/spec"
	"github.com/understudy-dev/understudy/spec/lang"
)

func (a *cli) validateCommand() *cobra.Command {
	var vars, varFiles []string
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "validate [DIR] [--var NAME=VALUE]... [--var-file FILE]...",
		Short: "Check the spec in DIR (*.understudy.hcl files) without a server",
		Long: `Parse and evaluate the *.understudy.hcl files of DIR (default: the current
directory), as plan does, and report every problem with its file, line and
source. The server is not contacted: what only it can judge (the email
domain allowlist, the providers it knows, pool size limits) is checked by
plan. Variables take their default, then UNDERSTUDY_VAR_<name>, then each
--var-file in order, then --var. Exit code 1 when the spec has an error.
With -json, stdout holds one JSON object, as terraform validate -json
prints it: format_version, valid, error_count, warning_count and
diagnostics (severity, summary, detail, range).`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if jsonOut {
				return a.validateJSON(cmd.Context(), dirArg(argv), vars, varFiles)
			}
			if _, err := a.loadSpec(cmd.Context(), dirArg(argv), vars, varFiles); err != nil {
				return err
			}
			_, err := fmt.Fprintln(a.stdout, "Success! The configuration is valid.")
			return err
		},
	}
	cmd.Flags().StringArrayVar(&vars, "var", nil, "set a variable: NAME=VALUE (repeat)")
	cmd.Flags().StringArrayVar(&varFiles, "var-file", nil, "read variables from a file of NAME = VALUE lines (repeat; a later file wins)")
	cmd.Flags().Bool("no-color", false, "no colour, even on a terminal")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the outcome as one JSON object, as terraform validate -json does (format_version, valid, error_count, warning_count, diagnostics)")
	return cmd
}

// validateOutput is what validate -json prints: terraform validate
// -json's object, format version 1.0.
type validateOutput struct {
	FormatVersion string              `json:"format_version"`
	Valid         bool                `json:"valid"`
	ErrorCount    int                 `json:"error_count"`
	WarningCount  int                 `json:"warning_count"`
	Diagnostics   []spec.UIDiagnostic `json:"diagnostics"`
}

// validateJSON is validate -json: every diagnostic, a malformed --var
// included, goes into the one JSON object on stdout, and the exit code is
// 1 when the spec is not valid.
func (a *cli) validateJSON(ctx context.Context, dir string, vars, varFiles []string) error {
	var diags hcl.Diagnostics
	values, err := varValues(vars)
	if err != nil {
		diags = hcl.Diagnostics{diagnosticOf(err)}
	} else {
		_, diags = lang.Load(dir, lang.Options{Vars: values, VarFiles: varFiles, Getenv: a.getenv, Context: ctx, MaxWork: specMaxWork})
	}
	out := validateOutput{FormatVersion: "1.0", Diagnostics: []spec.UIDiagnostic{}}
	for _, d := range diags {
		ud := uiDiagnostic(d)
		if ud.Severity == "error" {
			out.ErrorCount++
		} else {
			out.WarningCount++
		}
		out.Diagnostics = append(out.Diagnostics, ud)
	}
	out.Valid = out.ErrorCount == 0
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	if _, err := a.stdout.Write(append(b, '\n')); err != nil {
		return err
	}
	if !out.Valid {
		return &reportedError{err: fmt.Errorf("the spec has %s", plural(out.ErrorCount, "error"))}
	}
	return nil
}

// varValues reads the --var NAME=VALUE options.
func varValues(vars []string) (map[string]string, error) {
	values := map[string]string{}
	for _, kv := range vars {
		name, value, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return nil, usageErrorf("malformed --var %q: want NAME=VALUE", kv)
		case name == "":
			return nil, usageErrorf(`malformed --var: the name before "=" is empty`)
		}
		values[name] = value
	}
	return values, nil
}

// specMaxWork is lang.Options.MaxWork: 0, the default, but for a test
// that needs an evaluation long enough to interrupt.
var specMaxWork int

// loadSpec loads the spec in dir with the --var NAME=VALUE options vars
// and the --var-file paths varFiles, and prints its diagnostics to
// stderr. An error in the spec is an error with exit code 1 saying how
// many there are; a malformed --var is a usage error.
func (a *cli) loadSpec(ctx context.Context, dir string, vars []string, varFiles []string) (*lang.Config, error) {
	values, err := varValues(vars)
	if err != nil {
		return nil, err
	}
	cfg, diags := lang.Load(dir, lang.Options{Vars: values, VarFiles: varFiles, Getenv: a.getenv, Context: ctx, MaxWork: specMaxWork})
	if err := a.printDiagnostics(cfg.Files, diags); err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, specErrors(diags)
	}
	return cfg, nil
}

// printDiagnostics prints diags to stderr with their source lines, in
// colour when stderr is a terminal, unless -no-color or NO_COLOR says
// otherwise.
func (a *cli) printDiagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) error {
	if len(diags) == 0 {
		return nil
	}
	if a.ui != nil {
		return a.uiDiagnostics(diags)
	}
	if diags = a.deferWarnings(diags); len(diags) == 0 {
		return nil
	}
	return lang.WriteDiagnostics(a.stderr, files, diags, a.colorFor(a.stderr, false), 0)
}

// uiDiagnostics writes diags to the machine-readable UI.
func (a *cli) uiDiagnostics(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if err := a.ui.Diagnostic(uiDiagnostic(d)); err != nil {
			return err
		}
	}
	return nil
}

// uiDiagnostic is d as Terraform's JSON diagnostic.
func uiDiagnostic(d *hcl.Diagnostic) spec.UIDiagnostic {
	ud := spec.UIDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
	if d.Severity == hcl.DiagWarning {
		ud.Severity = "warning"
	}
	if r := d.Subject; r != nil {
		ud.Range = &spec.UIRange{Filename: r.Filename,
			Start: spec.UIPos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
			End:   spec.UIPos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte}}
	}
	return ud
}

// specErrors is the error that ends a command whose spec has errors, once
// they are printed: it only counts them.
func specErrors(diags hcl.Diagnostics) error {
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			n++
		}
	}
	return &reportedError{err: fmt.Errorf("the spec has %s", plural(n, "error"))}
}

// sourcesOf reads the files that diags point into, to show their lines.
func sourcesOf(diags hcl.Diagnostics) map[string]*hcl.File {
	files := map[string]*hcl.File{}
	for _, d := range diags {
		if d.Subject == nil || files[d.Subject.Filename] != nil {
			continue
		}
		if b, err := os.ReadFile(d.Subject.Filename); err == nil {
			files[d.Subject.Filename] = &hcl.File{Bytes: b}
		}
	}
	return files
}

// plural returns "1 error", "2 errors".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// dirArg returns the optional directory argument, "." when absent.
func dirArg(argv []string) string {
	if len(argv) == 0 {
		return "."
	}
	return argv[0]
}

// maxArgs returns a cobra.PositionalArgs that reports more than n
// arguments as a usage error.
func maxArgs(n int) cobra.PositionalArgs {
	return func(_ *cobra.Command, got []string) error {
		if len(got) > n {
			return usageErrorf("expected at most %d argument(s), got %d", n, len(got))
		}
		return nil
	}
}
