package understudy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// declaredCodes reads the error codes declared in error.go: every string
// constant whose name starts with E, so that a code added without a status
// fails the table's test.
func declaredCodes(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "error.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING || !strings.HasPrefix(name.Name, "E") {
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out[name.Name] = v
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("error.go declares no error codes")
	}
	return out
}

// Every declared code has its own status in the table, and the table
// holds nothing else; only EINTERNAL answers 500.
func TestEveryErrorCodeHasAStatus(t *testing.T) {
	declared := declaredCodes(t)
	for name, code := range declared {
		status, ok := codes[code]
		switch {
		case !ok:
			t.Errorf("%s (%q) has no HTTP status in codes", name, code)
		case http.StatusText(status) == "":
			t.Errorf("%s (%q) maps to %d, which is no HTTP status", name, code, status)
		case status == http.StatusInternalServerError && code != EINTERNAL:
			t.Errorf("%s (%q) answers 500, which only EINTERNAL may", name, code)
		}
		if got := ErrorStatusCode(code); got != status {
			t.Errorf("ErrorStatusCode(%q) = %d, want %d", code, got, status)
		}
	}
	if len(codes) != len(declared) {
		t.Errorf("codes has %d entries for %d declared codes", len(codes), len(declared))
	}
}

// A code the table does not know, the empty one included, answers 500.
func TestAnUnknownErrorCodeAnswers500(t *testing.T) {
	for _, code := range []string{"", "teapot", "NOT_FOUND"} {
		if got := ErrorStatusCode(code); got != http.StatusInternalServerError {
			t.Errorf("ErrorStatusCode(%q) = %d, want 500", code, got)
		}
	}
}
