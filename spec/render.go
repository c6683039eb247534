package spec

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// RenderOptions tune the human view of a plan.
type RenderOptions struct {
	// Color paints the output with ANSI escape codes as Terraform does:
	// green for creates, yellow for updates, red for deletes, bold
	// headers. Defaults to false: plain text without any escape code.
	Color bool
}

// WritePlan writes the human view of p to w, laid out as Terraform lays
// out a plan: changes made outside Understudy (drift) first, then each
// change as a block of attribute differences followed by what it does to
// accounts, then the closing "Plan: N to add, M to change, K to destroy."
// line, and the objects the workspace leaves alone. No-op changes are not
// shown. Secrets are never shown: a value under the secrets attribute, or
// of an attribute marked Sensitive, is printed as "(sensitive value)".
// The only error is w's, or a value of p that JSON cannot encode.
func WritePlan(w io.Writer, p Plan, o RenderOptions) error {
	r := planWriter{pal: palette{on: o.Color}}
	if err := r.plan(p); err != nil {
		return err
	}
	_, err := w.Write(r.buf.Bytes())
	return err
}

// planWriter gathers the human view of a plan.
type planWriter struct {
	pal palette
	buf bytes.Buffer
}

// printf writes formatted text.
func (r *planWriter) printf(format string, args ...any) { fmt.Fprintf(&r.buf, format, args...) }

// plan writes the sections of p in Terraform's order.
func (r *planWriter) plan(p Plan) error {
	var shown, drift []Change
	for _, c := range p.Changes {
		if c.Action != NoOp || c.Importing || c.PreviousAddress != "" {
			shown = append(shown, c)
		}
	}
	for _, c := range p.Drift {
		if c.Action != NoOp {
			drift = append(drift, c)
		}
	}
	refresh := p.Mode == ModeRefreshOnly
	if len(drift) > 0 && (refresh || len(shown) > 0) {
		if err := r.drift(drift, refresh); err != nil {
			return err
		}
	}
	switch {
	case len(shown) > 0:
		if len(drift) > 0 {
			r.printf("\n%s\n\n", r.pal.gray(strings.Repeat("─", 77)))
		}
		if err := r.changes(shown); err != nil {
			return err
		}
		r.summary(p.Summary)
	case refresh && len(drift) > 0:
		// The drift section said what applying the plan does.
	default:
		r.noChanges(p.Mode)
	}
	r.unmanaged(p)
	return nil
}

// drift writes the changes made on the server outside Understudy.
func (r *planWriter) drift(drift []Change, refresh bool) error {
	r.printf("%s%s\n\n", r.pal.bold(r.pal.cyan("Note:")), r.pal.bold(" Objects have changed outside of Understudy"))
	r.printf("Understudy detected the following changes made outside of Understudy since the last \"understudy apply\" which may have affected this plan:\n")
	for _, c := range drift {
		r.printf("\n")
		if err := r.change(c, true); err != nil {
			return err
		}
	}
	if refresh {
		r.printf("\n\nThis is a refresh-only plan, so Understudy will not take any actions to undo these. If you were expecting these changes then you can apply this plan to record the updated values in the workspace without changing any objects.\n")
		return nil
	}
	r.printf("\n\nUnless you have made equivalent changes to your spec, the following plan may include actions to undo or respond to these changes.\n")
	return nil
}

// changes writes each change the plan makes.
func (r *planWriter) changes(shown []Change) error {
	r.printf("Understudy will perform the following actions:\n")
	for _, c := range shown {
		r.printf("\n")
		if err := r.change(c, false); err != nil {
			return err
		}
		r.effects(c.Effects)
	}
	return nil
}

// change writes one change: its comment, then its block of differences.
// A forget shows the comment alone: nothing about the object changes.
func (r *planWriter) change(c Change, drift bool) error {
	r.printf("%s\n", r.comment(c, drift))
	if c.Action == Forget {
		return nil
	}
	root, err := diffChange(c)
	if err != nil {
		return err
	}
	kind := c.Kind
	if kind == "" {
		kind, _, _ = strings.Cut(c.Address, ".")
	}
	o := renderOpts{pal: r.pal, showAll: c.Importing}
	r.printf("%s%s %q %s\n", symbol(c.Action, r.pal), kind, label(c.Address), renderObject(root, 0, o, true))
	return nil
}

// comment is the "# address will be created" lines above a change.
func (r *planWriter) comment(c Change, drift bool) string {
	p := r.pal
	var what string
	switch c.Action {
	case Create:
		what = "will be created"
		if drift {
			what = "has been created"
		}
	case Update:
		what = "will be updated in-place"
		if drift {
			what = "has changed"
		}
	case Replace:
		what = "must be " + p.bold(p.red("replaced"))
		if c.ReplaceRequested {
			what = "will be " + p.bold(p.red("replaced")) + ", as requested"
		}
	case Delete:
		what = "will be " + p.bold(p.red("destroyed"))
		if drift {
			what = "has been deleted"
		}
	case Forget:
		what = "will no longer be managed by Understudy; it stays on the server"
	case NoOp:
		if !c.Importing && c.PreviousAddress != "" {
			return p.bold("  # "+c.PreviousAddress) + " has moved to " + p.bold(c.Address)
		}
		what = "will be imported"
	default:
		what = "will be imported"
	}
	lines := []string{p.bold("  # "+c.Address) + " " + what}
	if c.PreviousAddress != "" {
		lines = append(lines, "  # (moved from "+c.PreviousAddress+")")
	}
	if c.Importing && c.Action != NoOp {
		lines = append(lines, fmt.Sprintf("  # (imported from %q)", c.ID))
	}
	if c.Importing && c.Action == Replace {
		lines = append(lines, "  # "+p.yellow("Warning: this will destroy the imported object"))
	}
	if c.Reason != "" && (c.Action == Replace || c.Action == Delete || c.Action == Forget) {
		lines = append(lines, "  # ("+c.Reason+")")
	}
	return strings.Join(lines, "\n")
}

// summary writes the closing "Plan:" line, counting as Terraform counts:
// imports first when there are any, forgets last when there are any.
func (r *planWriter) summary(s Summary) {
	r.printf("\n%s %s.\n", r.pal.bold("Plan:"), s.counts())
}

// counts is the summary's text after "Plan: ", as Terraform words it.
func (s Summary) counts() string {
	var b strings.Builder
	if s.Import > 0 {
		fmt.Fprintf(&b, "%d to import, ", s.Import)
	}
	fmt.Fprintf(&b, "%d to add, %d to change, %d to destroy", s.Add, s.Change, s.Destroy)
	if s.Forget > 0 {
		fmt.Fprintf(&b, ", %d to forget", s.Forget)
	}
	return b.String()
}

// noChanges writes the "No changes." verdict of a plan that changes
// nothing, worded for its mode.
func (r *planWriter) noChanges(mode string) {
	head, body := "The server matches the spec.",
		"Understudy has compared the server against your spec and found no differences, so no changes are needed."
	switch mode {
	case ModeRefreshOnly:
		head, body = "The server still matches the spec.",
			"Understudy has checked that the objects on the server still match the result of your most recent apply, and found no differences."
	case ModeDestroy:
		head, body = "No objects need to be destroyed.",
			"Either you have not created any objects yet or the existing objects were already deleted outside of Understudy."
	}
	r.printf("%s%s\n\n%s\n", r.pal.bold(r.pal.green("No changes.")), r.pal.bold(" "+head), body)
}

// label is the label of the block of an address: "buyer" for role.buyer
// and for its instance role.buyer["key"].
func label(address string) string {
	if _, l, ok := strings.Cut(address, "."); ok {
		l, _, _ = strings.Cut(l, "[") // an instance: role.buyer["key"]
		return l
	}
	return address
}

// palette paints text with ANSI escape codes, or leaves it alone.
type palette struct{ on bool }

// paint wraps s in the escape code and a reset.
func (p palette) paint(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p palette) bold(s string) string   { return p.paint("1", s) }
func (p palette) red(s string) string    { return p.paint("31", s) }
func (p palette) green(s string) string  { return p.paint("32", s) }
func (p palette) yellow(s string) string { return p.paint("33", s) }
func (p palette) cyan(s string) string   { return p.paint("36", s) }
func (p palette) gray(s string) string   { return p.paint("90", s) }
