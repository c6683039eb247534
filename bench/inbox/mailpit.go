package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// mailpitModule is the tools module that pins Mailpit; it is a module of
// its own so that Mailpit's dependencies never enter the main go.mod.
const mailpitModule = "tools/mailpit"

// mailpitVersion matches the Mailpit requirement in the tools module's go.mod.
var mailpitVersion = regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/axllent/mailpit\s+(v\S+)`)

// pinnedMailpit returns the Mailpit version tools/mailpit/go.mod requires.
func pinnedMailpit() (string, error) {
	raw, err := os.ReadFile(filepath.Join(mailpitModule, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("reading the Mailpit tools module (run from the repository's root, or pass -mailpit-bin): %w", err)
	}
	m := mailpitVersion.FindSubmatch(raw)
	if m == nil {
		return "", fmt.Errorf("%s/go.mod does not require github.com/axllent/mailpit", mailpitModule)
	}
	return string(m[1]), nil
}

// mailpitBinary returns a Mailpit binary: cfg.MailpitBin when set, else
// the pinned version built with go build into a directory under the
// system's temporary directory named after the version and the toolchain,
// and reused by later runs (a build takes a minute of CPU).
func mailpitBinary(ctx context.Context, cfg Config, progress io.Writer) (string, error) {
	if cfg.MailpitBin != "" {
		return cfg.MailpitBin, nil
	}
	version, err := pinnedMailpit()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(os.TempDir(), "understudy-bench-mailpit-"+version+"-"+runtime.Version()+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	bin := filepath.Join(dir, "mailpit")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "inbox: building Mailpit %s into %s (once)\n", version, dir)
	tmp, err := os.CreateTemp(dir, "mailpit-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp.Name(), "github.com/axllent/mailpit")
	cmd.Dir, cmd.Stderr = mailpitModule, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building Mailpit (go build in %s): %w: %s", mailpitModule, err, strings.TrimSpace(stderr.String()))
	}
	// A rename is atomic: a run in parallel finds the whole binary or none.
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// mailpit is a running Mailpit with its SMTP address.
type mailpit struct {
	*stack.Server
	smtp string
}

// startMailpit starts Mailpit on free loopback ports with its database in
// dir, and waits until its /readyz answers. It runs with its defaults (as
// teams run it), except: no version check (no network here), quiet logs,
// and no reverse DNS lookup of each SMTP client, which only makes
// Mailpit's figures better.
func startMailpit(ctx context.Context, bin, dir string) (*mailpit, error) {
	smtpAddr, err := stack.FreeAddr()
	if err != nil {
		return nil, err
	}
	srv, err := stack.Start(ctx, stack.Command{
		Name: "Mailpit",
		Path: bin,
		Args: func(addr string) []string {
			return []string{"--listen", addr, "--smtp", smtpAddr, "--database", filepath.Join(dir, "mailpit.db"),
				"--disable-version-check", "--quiet", "--smtp-disable-rdns"}
		},
	})
	if err != nil {
		return nil, err
	}
	return &mailpit{Server: srv, smtp: smtpAddr}, nil
}
