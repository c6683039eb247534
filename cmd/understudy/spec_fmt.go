package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/aymanbagabas/go-udiff"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/spec/lang"
)

// fmtOptions are the flags of fmt, with terraform fmt's meanings.
type fmtOptions struct {
	list, write, diff, check, recursive bool
}

// stdinName names standard input in fmt's output and diagnostics.
const stdinName = "<stdin>"

func (a *cli) fmtCommand() *cobra.Command {
	o := fmtOptions{}
	cmd := &cobra.Command{
		Use:   "fmt [PATH]... [-recursive] [-diff] [-check] [-list=false] [-write=false]",
		Short: "Rewrite spec files (*.understudy.hcl) in the canonical format",
		Long: `Rewrite spec files in the canonical format, as terraform fmt does: the
*.understudy.hcl files of each directory PATH (default: the current
directory), with -recursive those of its subdirectories too (hidden ones
skipped), and each .hcl file PATH names. A value that is a single
interpolation, "${x}", becomes x, and a variable's type in Terraform
0.11's syntax ("string") a type constraint (string). With PATH "-" it
reads standard input and writes the result to standard output.

It prints the name of each file it changes (-list=false: not), writes
it back (-write=false: not), and with -diff prints the changes as a
unified diff; with -list=false -write=false and no -diff, it prints
each file formatted. With -check it changes nothing, lists the files that are
not formatted and exits 3 if there are any. A file that does not parse
is reported with its line and left as it is; the others are still
formatted (exit 1).`,
		RunE: func(_ *cobra.Command, argv []string) error {
			return a.runFmt(argv, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.list, "list", true, "print the name of each file that is not formatted (always off for standard input)")
	f.BoolVar(&o.write, "write", true, "write the result back to each file (always off for standard input and with -check)")
	f.BoolVar(&o.diff, "diff", false, "print the changes as a unified diff")
	f.BoolVar(&o.check, "check", false, "change nothing; list the files that are not formatted and exit 3 if there are any")
	f.BoolVar(&o.recursive, "recursive", false, "also format the spec files of subdirectories")
	f.Bool("no-color", false, "no colour, even on a terminal")
	return cmd
}

// runFmt formats the files (or standard input) that paths name.
func (a *cli) runFmt(paths []string, o fmtOptions) error {
	if o.check {
		o.write = false
	}
	if len(paths) == 1 && paths[0] == "-" {
		o.list, o.write = false, false // as terraform fmt -: -check only sets the exit code
		return a.fmtStdin(o)
	}
	if slices.Contains(paths, "-") {
		return usageErrorf(`"-" (standard input) must be the only path`)
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	files, diags := lang.FormatTargets(paths, o.recursive)
	if diags.HasErrors() {
		return a.fmtErrors(sourcesOf(diags), diags)
	}
	changed := 0
	for _, path := range files {
		src, out, d := lang.FormatFile(path)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		n, d := a.fmtResult(path, src, out, o)
		changed, diags = changed+n, append(diags, d...)
	}
	return a.fmtEnd(sourcesOf(diags), diags, o, changed)
}

// fmtStdin formats standard input, within the limits of a spec file.
func (a *cli) fmtStdin(o fmtOptions) error {
	src, err := io.ReadAll(io.LimitReader(a.stdin, lang.MaxFileSize+1))
	if err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	if len(src) > lang.MaxFileSize {
		return a.fmtErrors(nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Input too large",
			Detail: fmt.Sprintf("standard input has more than %d bytes, the most a spec file may have.", lang.MaxFileSize)}})
	}
	sources := map[string]*hcl.File{stdinName: {Bytes: src}}
	out, diags := lang.Format(src, stdinName)
	changed := 0
	if !diags.HasErrors() {
		changed, diags = a.fmtResult(stdinName, src, out, o)
	}
	return a.fmtEnd(sources, diags, o, changed)
}

// fmtEnd ends fmt: exit 2 with the diagnostics printed if there are
// errors, 3 under -check if a file needs formatting, else 0.
func (a *cli) fmtEnd(sources map[string]*hcl.File, diags hcl.Diagnostics, o fmtOptions, changed int) error {
	if diags.HasErrors() {
		return a.fmtErrors(sources, diags)
	}
	if o.check && changed > 0 {
		return &specResult{code: 3} // the files are listed: Terraform says no more
	}
	return nil
}

// fmtResult prints, writes or diffs the canonical form out of the file
// path whose source is src, as o asks, and returns 1 if it differs from
// src. The canonical form itself is written to stdout when nothing else
// is asked for: for standard input, or a file with -list=false
// -write=false, unless checked or diffed.
func (a *cli) fmtResult(path string, src, out []byte, o fmtOptions) (int, hcl.Diagnostics) {
	changed := !bytes.Equal(src, out)
	if changed && o.list {
		fmt.Fprintln(a.stdout, path)
	}
	if changed && o.write {
		if err := writeKeepingMode(path, out); err != nil {
			return 1, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot write " + path, Detail: err.Error() + "."}}
		}
	}
	if changed && o.diff {
		fmt.Fprint(a.stdout, udiff.Unified("old/"+path, "new/"+path, string(src), string(out)))
	}
	if !o.check && !o.diff && !o.list && !o.write { // as terraform fmt: nothing else is asked for
		if _, err := a.stdout.Write(out); err != nil {
			return 0, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot write the result", Detail: err.Error() + "."}}
		}
	}
	if changed {
		return 1, nil
	}
	return 0, nil
}

// writeKeepingMode replaces the contents of the file at path, keeping
// its permissions.
func writeKeepingMode(path string, b []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, fi.Mode().Perm())
}

// fmtErrors prints diags and returns the error that ends fmt with them:
// exit 2, as terraform fmt ends on a file it cannot parse or find (1 is
// its malformed command line).
func (a *cli) fmtErrors(sources map[string]*hcl.File, diags hcl.Diagnostics) error {
	if err := a.printDiagnostics(sources, diags); err != nil {
		return err
	}
	return &specResult{code: 2}
}
