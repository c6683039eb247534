package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/understudy-dev/understudy/spec"
	"github.com/understudy-dev/understudy/spec/lang"
)

// warn prints a warning diagnostic without a source: at once, or at the
// end under -compact-warnings.
func (a *cli) warn(summary, detail string) error {
	return a.printDiagnostics(nil, hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: summary, Detail: detail}})
}

// targetingWarning is Terraform's warning on a plan made with -target.
func (a *cli) targetingWarning(p spec.Plan) error {
	if len(p.Targets) == 0 {
		return nil
	}
	return a.warn("Resource targeting is in effect",
		"You are creating a plan with the -target option, which means that the result of this plan may not represent all of the changes requested by the current spec.\n\n"+
			"The -target option is not for routine use: it is there for exceptional situations, such as recovering from errors or mistakes.")
}

// appliedTargetsWarning is Terraform's warning after applying a plan made
// with -target.
func (a *cli) appliedTargetsWarning(p spec.Plan) error {
	if len(p.Targets) == 0 {
		return nil
	}
	return a.warn("Applied changes may be incomplete",
		"The plan was made with the -target option in effect, so some changes the spec asks for may have been left out. "+
			"To check that no other changes are pending, run:\n    understudy plan\n\n"+
			"The -target option is not for routine use: it is there for exceptional situations, such as recovering from errors or mistakes.")
}

// lockWarning says that apply -lock=false changes nothing.
func (a *cli) lockWarning() error {
	return a.warn("-lock=false has no effect on an apply",
		"The server holds the workspace's lock for the whole of every apply, so that two applies never run at once, and a lock taken with "+
			"`understudy workspaces lock` still refuses the apply until `understudy workspaces force-unlock`. The apply goes ahead under the lock.")
}

// deferWarnings keeps diags' warnings back under -compact-warnings, to be
// summed up when the command ends (flushWarnings), and returns what to
// print now. Diagnostics with an error among them are printed whole, as
// Terraform shows warnings in full beside an error.
func (a *cli) deferWarnings(diags hcl.Diagnostics) hcl.Diagnostics {
	if !a.compactWarnings || diags.HasErrors() {
		return diags
	}
	a.warnings = append(a.warnings, diags...)
	return nil
}

// flushWarnings prints the warnings -compact-warnings kept back: one
// summary line each when the command succeeded, in full when it failed.
func (a *cli) flushWarnings(err error) {
	ws := a.warnings
	a.warnings = nil
	if len(ws) == 0 {
		return
	}
	if _, ok := errors.AsType[*specResult](err); err != nil && !ok {
		_ = lang.WriteDiagnostics(a.stderr, nil, ws, a.colorFor(a.stderr, false), 0)
		return
	}
	pal := a.colorFor(a.stderr, false)
	head := "Warnings:"
	if pal {
		head = "\x1b[1m\x1b[33mWarnings:\x1b[0m"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n\n", head)
	// One line a summary, as Terraform consolidates like warnings.
	var order []string
	same := map[string][]*hcl.Diagnostic{}
	for _, d := range ws {
		if same[d.Summary] == nil {
			order = append(order, d.Summary)
		}
		same[d.Summary] = append(same[d.Summary], d)
	}
	for _, summary := range order {
		fmt.Fprintf(&b, "- %s\n", summary)
		first := same[summary][0]
		if first.Subject == nil {
			continue
		}
		fmt.Fprintf(&b, "  on %s line %d", first.Subject.Filename, first.Subject.Start.Line)
		if n := len(same[summary]) - 1; n > 0 {
			fmt.Fprintf(&b, " (and %d more)", n)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nTo see the full warning notes, run Understudy without -compact-warnings.\n")
	_, _ = fmt.Fprint(a.stderr, b.String())
}
