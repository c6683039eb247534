package lang

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src in the canonical format, after checking that it
// parses: a file with syntax errors is returned as the diagnostics only,
// since formatting it could make changes hard to undo. filename names
// src in the diagnostics.
//
// Besides HCL's layout (indentation, aligned equals signs), it makes the
// rewrites terraform fmt makes where the construct exists here: a value
// that is a single interpolation, "${x}", becomes x, block labels are
// quoted ("role buyer {" becomes "role \"buyer\" {"), and a variable's
// type in the syntax of Terraform 0.11 becomes a type constraint
// ("string" becomes string, list becomes list(any), "map" becomes
// map(string)).
func Format(src []byte, filename string) ([]byte, hcl.Diagnostics) {
	if d := checkNesting(src, filename); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	if _, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos); diags.HasErrors() {
		return nil, diags
	}
	f, diags := hclwrite.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	canonicalBody(f.Body(), "")
	return f.Bytes(), nil // Bytes lays the tokens out as hclwrite.Format does
}

// canonicalBody rewrites the attributes and block labels of body, and of
// the blocks nested in it. path is the types of the blocks body is in,
// joined by dots ("" at the top of the file).
func canonicalBody(body *hclwrite.Body, path string) {
	for name, attr := range body.Attributes() {
		tokens := attr.Expr().BuildTokens(nil)
		if path == "variable" && name == "type" {
			if typ, ok := modernType(tokens); ok {
				body.SetAttributeRaw(name, typ)
			}
			continue
		}
		if unwrapped, ok := unwrapInterpolation(tokens); ok {
			body.SetAttributeRaw(name, unwrapped)
		}
	}
	for _, block := range body.Blocks() {
		block.SetLabels(block.Labels())
		canonicalBody(block.Body(), strings.TrimPrefix(path+"."+block.Type(), "."))
	}
}

// modernType returns the type constraint that a variable's type written
// as Terraform 0.11 wrote it stands for, and false for anything else: a
// quoted "string", "list" or "map" (lists and maps of strings then), or a
// bare list, map or set (of any type).
func modernType(tokens hclwrite.Tokens) (hclwrite.Tokens, bool) {
	ident := func(s string) *hclwrite.Token { return &hclwrite.Token{Type: hclsyntax.TokenIdent, Bytes: []byte(s)} }
	call := func(fn, arg string) hclwrite.Tokens {
		return hclwrite.Tokens{ident(fn), {Type: hclsyntax.TokenOParen, Bytes: []byte("(")}, ident(arg),
			{Type: hclsyntax.TokenCParen, Bytes: []byte(")")}}
	}
	var kw string
	switch {
	case len(tokens) == 1 && tokens[0].Type == hclsyntax.TokenIdent:
		kw = string(tokens[0].Bytes)
		if kw == "list" || kw == "map" || kw == "set" {
			return call(kw, "any"), true
		}
	case len(tokens) == 3 && tokens[0].Type == hclsyntax.TokenOQuote && tokens[1].Type == hclsyntax.TokenQuotedLit &&
		tokens[2].Type == hclsyntax.TokenCQuote:
		switch kw = string(tokens[1].Bytes); kw {
		case "string":
			return hclwrite.Tokens{ident(kw)}, true
		case "list", "map":
			return call(kw, "string"), true
		}
	}
	return nil, false
}

// unwrapInterpolation returns the expression inside tokens when tokens
// are a quoted template made of exactly one interpolation, "${x}", and
// false otherwise: a template with literal text or a second
// interpolation ("a${x}", "${x}${y}"), a directive or a heredoc keeps its
// quotes. An expression spanning lines is put in parentheses, so that it
// still parses without the quotes (a conditional split over lines).
func unwrapInterpolation(tokens hclwrite.Tokens) (hclwrite.Tokens, bool) {
	n := len(tokens)
	if n < 5 || tokens[0].Type != hclsyntax.TokenOQuote || tokens[1].Type != hclsyntax.TokenTemplateInterp ||
		tokens[n-2].Type != hclsyntax.TokenTemplateSeqEnd || tokens[n-1].Type != hclsyntax.TokenCQuote {
		return nil, false
	}
	inside := tokens[2 : n-2]
	depth := 0 // of the strings nested in the interpolation: "${f("${y}")}" is one interpolation
	for _, t := range inside {
		switch {
		case t.Type == hclsyntax.TokenOQuote || t.Type == hclsyntax.TokenOHeredoc:
			depth++
		case t.Type == hclsyntax.TokenCQuote || t.Type == hclsyntax.TokenCHeredoc:
			depth--
		case depth > 0:
		case t.Type == hclsyntax.TokenTemplateInterp, t.Type == hclsyntax.TokenTemplateControl,
			t.Type == hclsyntax.TokenTemplateSeqEnd, t.Type == hclsyntax.TokenQuotedLit:
			return nil, false // "${x}${y}", "${x} and ${y}": the outer template has more than one part
		}
	}
	for len(inside) > 0 && inside[0].Type == hclsyntax.TokenNewline {
		inside = inside[1:]
	}
	for len(inside) > 0 && inside[len(inside)-1].Type == hclsyntax.TokenNewline {
		inside = inside[:len(inside)-1]
	}
	if len(inside) == 0 {
		return nil, false
	}
	multiline := false
	for _, t := range inside {
		multiline = multiline || t.Type == hclsyntax.TokenNewline
	}
	if !multiline || inside[0].Type == hclsyntax.TokenOParen && inside[len(inside)-1].Type == hclsyntax.TokenCParen {
		return inside, true
	}
	out := hclwrite.Tokens{{Type: hclsyntax.TokenOParen, Bytes: []byte("(")}}
	out = append(out, inside...)
	return append(out, &hclwrite.Token{Type: hclsyntax.TokenCParen, Bytes: []byte(")")}), true
}

// FormatTargets returns the files that fmt formats for paths, in order:
// a file named in paths is formatted whatever its name, if it ends in
// .hcl (a variables file, say); a directory gives its *.understudy.hcl
// files, the files a spec is loaded from, and with recursive those of
// its subdirectories too, hidden ones (.git, .terraform) skipped. A path
// that does not exist, a file that is not HCL and a directory with more
// spec files than a spec may have are diagnostics naming them.
func FormatTargets(paths []string, recursive bool) ([]string, hcl.Diagnostics) {
	var files []string
	var diags hcl.Diagnostics
	for _, path := range paths {
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No file or directory at " + path})
		case err != nil:
			diags = append(diags, formatError("Cannot read "+path, err))
		case fi.IsDir():
			found, d := formatDir(path, recursive)
			files, diags = append(files, found...), append(diags, d...)
		case strings.HasSuffix(path, ".hcl"):
			files = append(files, path)
		default:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Only .hcl files can be formatted",
				Detail: fmt.Sprintf("%s is not an HCL file: fmt formats the *%s files of a directory, and any .hcl file named on the command line.", path, Suffix)})
		}
	}
	return files, diags
}

// formatDir returns the spec files of dir and, with recursive, of its
// subdirectories that are not hidden.
func formatDir(dir string, recursive bool) ([]string, hcl.Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, hcl.Diagnostics{formatError("Cannot read the directory "+dir, err)}
	}
	var files, subdirs []string
	for _, e := range entries {
		switch {
		case !e.IsDir() && strings.HasSuffix(e.Name(), Suffix):
			files = append(files, filepath.Join(dir, e.Name()))
		case e.IsDir() && recursive && !strings.HasPrefix(e.Name(), "."):
			subdirs = append(subdirs, filepath.Join(dir, e.Name()))
		}
	}
	var diags hcl.Diagnostics
	if len(files) > MaxFiles {
		files, diags = nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Too many spec files",
			Detail: fmt.Sprintf("The directory %s holds %d *%s files; a spec may have at most %d.", dir, len(files), Suffix, MaxFiles)}}
	}
	for _, sub := range subdirs {
		found, d := formatDir(sub, true)
		files, diags = append(files, found...), append(diags, d...)
	}
	return files, diags
}

// FormatFile reads the file at path, within the limits of a spec file,
// and returns its source and canonical form (see Format).
func FormatFile(path string) (src, out []byte, diags hcl.Diagnostics) {
	src, d := readSource(path, false)
	if d != nil {
		return nil, nil, hcl.Diagnostics{d}
	}
	out, diags = Format(src, path)
	return src, out, diags
}

// formatError is a diagnostic of fmt about a path, with the system's
// reason as its detail.
func formatError(summary string, err error) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: err.Error() + "."}
}
