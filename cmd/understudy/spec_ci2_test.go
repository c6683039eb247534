package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// runOffline runs the CLI in-process against an address where no server
// listens, with stdout and stderr taken for terminals when terminal is set.
func runOffline(ctx context.Context, terminal bool, argv ...string) cliResult {
	var out, errb bytes.Buffer
	env := map[string]string{"UNDERSTUDY_URL": "http://127.0.0.1:1", "UNDERSTUDY_TOKEN": "ust_unused"}
	a := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: time.Now,
		getenv: func(k string) string { return env[k] }, httpClient: http.DefaultClient}
	if terminal {
		a.isTerminal = func(any) bool { return true }
	}
	code := a.run(ctx, argv)
	return cliResult{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// -no-color means no colour on a terminal, in the diagnostics on stderr
// too, and fmt and validate accept it as Terraform's do.
func TestNoColorMeansNoColourOnATerminal(t *testing.T) {
	t.Parallel()
	broken := specDir(t, map[string]string{"main.understudy.hcl": "environment \"p\" {\n  email_domains = [\n"})
	unformatted := specDir(t, map[string]string{"main.understudy.hcl": unformattedSpec})
	ctx := context.Background()
	// The control: on a terminal, without -no-color, diagnostics are coloured.
	if r := runOffline(ctx, true, "validate", broken); r.Code != 1 || !strings.Contains(r.Stderr, "\x1b[") {
		t.Fatalf("validate on a terminal: code %d\n%q", r.Code, r.Stderr)
	}
	for _, c := range []struct {
		argv []string
		code int
		want string
	}{
		{[]string{"validate", "-no-color", broken}, 1, "Error: "},
		{[]string{"plan", "-no-color", broken}, 1, "Error: "},
		{[]string{"plan", "-no-color", "-detailed-exitcode", "-bogus", broken}, 1, "does not accept the flag -bogus"},
		{[]string{"apply", "-no-color", "-auto-approve", broken}, 1, "Error: "},
		{[]string{"fmt", "-no-color", "-check", unformatted}, 3, ""},
		{[]string{"fmt", "-no-color", broken}, 2, "Error: "}, // as terraform fmt on a file it cannot parse
	} {
		r := runOffline(ctx, true, c.argv...)
		if r.Code != c.code || !strings.Contains(r.Stderr, c.want) || strings.Contains(r.Stderr+r.Stdout, "\x1b[") {
			t.Errorf("%q: code %d, want %d\nstdout: %q\nstderr: %q", c.argv, r.Code, c.code, r.Stdout, r.Stderr)
		}
	}
}

// A negative -lock-timeout is refused before anything is planned.
func TestANegativeLockTimeoutIsRefused(t *testing.T) {
	t.Parallel()
	for _, argv := range [][]string{
		{"apply", "-auto-approve", "-lock-timeout=-5s", exampleSpec},
		{"destroy", "-auto-approve", "-lock-timeout", "-1m"},
	} {
		r := runOffline(context.Background(), false, argv...)
		if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "Error: -lock-timeout must be 0s or more") || strings.Contains(r.Stderr, "cannot reach") {
			t.Errorf("%q: code %d\nstdout: %s\nstderr: %s", argv, r.Code, r.Stdout, r.Stderr)
		}
	}
}

// A signal that cuts a request short is reported as an interruption, not
// as a server that cannot be reached.
func TestAnInterruptedRequestSaysSo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, argv := range [][]string{
		{"plan", "-detailed-exitcode", exampleSpec},
		{"destroy", "-auto-approve"},
	} {
		r := runOffline(ctx, false, argv...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "Error: interrupted before the server answered") || strings.Contains(r.Stderr, "cannot reach") {
			t.Errorf("%q: code %d\nstdout: %s\nstderr: %s", argv, r.Code, r.Stdout, r.Stderr)
		}
	}
}
