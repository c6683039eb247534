package lang

import (
	"io"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// redacted replaces a sensitive value in a diagnostic.
const redacted = "(sensitive value)"

// minRedacted is the length below which a sensitive string is not
// searched for in diagnostics: replacing every "a" would make them
// unreadable, and so short a string is no secret.
const minRedacted = 3

// Diagnostic returns an error diagnostic located at the attribute that
// field names, as the server names it: "<address>.<attribute>"
// (role.buyer.pool_size), or "<address>". A field the spec did not write
// falls back to the closest enclosing one that it did (the attribute, then
// the block); one it cannot place has no subject.
func (c *Config) Diagnostic(field, summary, detail string) *hcl.Diagnostic {
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail}
	for key := field; key != ""; {
		if r, ok := c.Sources[key]; ok {
			d.Subject = r.Ptr()
			break
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return d
}

// WriteDiagnostics writes diags to w as HCL prints them: the summary, the
// file, line and column, the source lines with the subject underlined (in
// colour when color is set), then the detail wrapped at width (0: no
// wrapping). files are the sources, Config.Files.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool, width uint) error {
	return hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostics(diags)
}

// redact removes from diags whatever could show a sensitive value: the
// secrets in their texts, and the expression and evaluation context that
// HCL's writer would print values from.
func redact(diags hcl.Diagnostics, secrets []string) hcl.Diagnostics {
	var list []string
	for _, s := range secrets {
		list = append(list, s, strings.TrimSpace(s)) // file() keeps the final newline
	}
	secrets = slices.DeleteFunc(list, func(s string) bool { return len(s) < minRedacted })
	// The longest first, so that a secret containing another is redacted
	// whole.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, d := range diags {
		d.Expression, d.EvalContext = nil, nil
		for _, s := range secrets {
			d.Summary = strings.ReplaceAll(d.Summary, s, redacted)
			d.Detail = strings.ReplaceAll(d.Detail, s, redacted)
		}
	}
	return diags
}
