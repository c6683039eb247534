package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/spec"
	"github.com/understudy-dev/understudy/spec/lang"
)

func (a *app) validateCommand() *cobra.Command {
	var vars, varFiles []string
	cmd := &cobra.Command{
		Use:   "validate [DIR] [--var NAME=VALUE]... [--var-file FILE]...",
		Short: "Check the spec in DIR (*.understudy.hcl files) without a server",
		Long: `Parse and evaluate the *.understudy.hcl files of DIR (default: the current
directory), as plan does, and report every problem with its file, line and
source. The server is not contacted: what only it can judge (the email
domain allowlist, the providers it knows, pool size limits) is checked by
plan. Variables take their default, then UNDERSTUDY_VAR_<name>, then each
--var-file in order, then --var. Exit code 1 when the spec has an error.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
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
	return cmd
}

// specMaxWork is lang.Options.MaxWork: 0, the default, but for a test
// that needs an evaluation long enough to interrupt.
var specMaxWork int

// loadSpec loads the spec in dir with the --var NAME=VALUE options vars
// and the --var-file paths varFiles, and prints its diagnostics to
// stderr. An error in the spec is an error with exit code 1 saying how
// many there are; a malformed --var is a usage error.
func (a *app) loadSpec(ctx context.Context, dir string, vars []string, varFiles []string) (*lang.Config, error) {
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
func (a *app) printDiagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) error {
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
func (a *app) uiDiagnostics(diags hcl.Diagnostics) error {
	for _, d := range diags {
		ud := spec.UIDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			ud.Severity = "warning"
		}
		if r := d.Subject; r != nil {
			ud.Range = &spec.UIRange{Filename: r.Filename,
				Start: spec.UIPos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
				End:   spec.UIPos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte}}
		}
		if err := a.ui.Diagnostic(ud); err != nil {
			return err
		}
	}
	return nil
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
