package lang

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src in the canonical HCL format, after checking that it
// parses: a file with syntax errors is returned as the diagnostics only.
// filename names src in the diagnostics.
func Format(src []byte, filename string) ([]byte, hcl.Diagnostics) {
	if d := checkNesting(src, filename); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	if _, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos); diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), nil
}

// FormatDir formats every *.understudy.hcl file of dir, writing each back
// unless check is set, and returns the paths of the files that were (or,
// with check, would be) changed. A file that does not parse is reported
// and left as it is; the others are still formatted.
func FormatDir(dir string, check bool) ([]string, hcl.Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the spec directory", Detail: err.Error() + "."}}
	}
	var changed, paths []string
	var diags hcl.Diagnostics
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), Suffix) {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	if len(paths) > MaxFiles {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Too many spec files",
			Detail: fmt.Sprintf("The directory %s holds %d *%s files; a spec may have at most %d.", dir, len(paths), Suffix, MaxFiles)}}
	}
	for _, path := range paths {
		did, d := formatFile(path, check)
		diags = append(diags, d...)
		if did {
			changed = append(changed, path)
		}
	}
	return changed, diags
}

// formatFile formats one file, and reports whether it changed (or, with
// check, would change).
func formatFile(path string, check bool) (bool, hcl.Diagnostics) {
	fail := func(err error) (bool, hcl.Diagnostics) {
		return false, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot format a spec file", Detail: err.Error() + "."}}
	}
	src, d := readSource(path)
	if d != nil {
		return false, hcl.Diagnostics{d}
	}
	out, diags := Format(src, path)
	if diags.HasErrors() || bytes.Equal(src, out) {
		return false, diags
	}
	if check {
		return true, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail(err)
	}
	if err := os.WriteFile(path, out, fi.Mode().Perm()); err != nil {
		return fail(err)
	}
	return true, nil
}
