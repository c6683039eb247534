package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/devcluster"
)

// devDefaults fills what is not configured with development defaults and
// returns the function that stops what it started.
func (a *cli) devDefaults(ctx context.Context, m *Main) (func(context.Context) error, error) {
	var stop func(context.Context) error
	if m.Config.DatabaseURL == "" {
		url, stopCluster, err := devcluster.Database(ctx, devcluster.Config{Logger: m.Logger}, "understudy")
		if err != nil {
			return nil, err
		}
		stop = stopCluster
		m.Config.DatabaseURL = url
		m.Logger.Info("using a private PostgreSQL cluster", slog.String("dir", devcluster.ClusterDir))
	}
	if m.Config.SecretKey == "" {
		key, err := devcluster.SecretKey(devcluster.KeyFile)
		if err != nil {
			return stop, err
		}
		m.Config.SecretKey = key
		m.Logger.Warn("development secret key in use", slog.String("file", devcluster.KeyFile))
		fmt.Fprintf(a.stderr, "\n*** WARNING: no UNDERSTUDY_SECRET_KEY. Passwords are sealed with a THROWAWAY development key\n"+
			"*** kept in %s. Never use it for real accounts: set UNDERSTUDY_SECRET_KEY.\n\n", devcluster.KeyFile)
	}
	if len(m.Config.EmailDomains) == 0 {
		m.Config.EmailDomains = []string{"qa.example.test"}
		m.Logger.Warn("no UNDERSTUDY_EMAIL_DOMAINS: allowing only the reserved test domain qa.example.test")
	}
	if m.Config.SMTPAddr == "" {
		// The inbox receives on loopback, where the apps under test on this
		// machine send their sign-in mail; there is no sender's DNS to ask.
		m.Config.SMTPAddr = devSMTPAddr
		if m.Config.SMTPCheckSenders == nil {
			m.Config.SMTPCheckSenders = new(false)
		}
	}
	return stop, nil
}

// devSMTPAddr is where serve --dev receives mail when UNDERSTUDY_SMTP_ADDR
// is not set.
const devSMTPAddr = "127.0.0.1:2525"

// printDevWelcome creates an admin token and a runner token and prints
// them once, with commands to try and the Playwright fixture's settings.
func (a *cli) printDevWelcome(ctx context.Context, m *Main) error {
	stamp := a.now().UTC().Format("20060102-150405")
	ctx = access.WithCaller(ctx, access.Caller{Actor: "serve --dev"})
	tokens := access.NewTokens(m.pool)
	_, admin, err := tokens.Create(ctx, "dev-admin-"+stamp, access.ScopeAdmin)
	if err != nil {
		return fmt.Errorf("creating the development admin token: %w", err)
	}
	_, runner, err := tokens.Create(ctx, "dev-runner-"+stamp, access.ScopeRunner)
	if err != nil {
		return fmt.Errorf("creating the development runner token: %w", err)
	}
	url := "http://" + m.Addr()
	fmt.Fprintf(a.stdout, `
Understudy is running at %s (Ctrl-C stops it).
An admin token (dev-admin-%s) and a runner token (dev-runner-%s) were created
for you; each is shown this once.

With the admin token:

  export UNDERSTUDY_URL=%s
  export UNDERSTUDY_TOKEN=%s

Then try:

  ./bin/understudy environments create production --email-domain qa.example.test
  ./bin/understudy roles create production buyer --pool 2
  ./bin/understudy accounts list --environment production

For the Playwright fixture (examples/playwright) or understudy lease, in the
shell that runs the tests, with the runner token (it leases accounts, nothing more):

  export UNDERSTUDY_URL=%s UNDERSTUDY_TOKEN=%s UNDERSTUDY_ENVIRONMENT=production UNDERSTUDY_ROLE=buyer

`, url, stamp, stamp, url, admin, url, runner)
	if m.Config.ConsoleOn() {
		fmt.Fprintf(a.stdout, "The web console is at %s/ui/ : sign in there with the admin token.\n\n", url)
	}
	if addr := m.SMTPAddr(); addr != "" {
		fmt.Fprintf(a.stdout, "Mail to the accounts' addresses is received over SMTP at %s: point the app's\n"+
			"mail relay there, then read a leased account's inbox with: ./bin/understudy inbox LEASE_ID --wait 30s --code\n\n", addr)
	}
	return nil
}

// devPostgresCommand runs a command with TEST_DATABASE_URL pointing at a
// private cluster: `make test` and `make bench` use it when no database is
// given. Hidden: it is plumbing, not part of the product.
func (a *cli) devPostgresCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:    "dev-postgres --dir DIR -- COMMAND [ARGS...]",
		Short:  "Run COMMAND with TEST_DATABASE_URL set to a private PostgreSQL cluster under DIR",
		Hidden: true,
		Args: func(_ *cobra.Command, argv []string) error {
			if len(argv) == 0 {
				return usageErrorf("expected a command to run after --")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, argv []string) error {
			child := exec.CommandContext(cmd.Context(), argv[0], argv[1:]...)
			child.Stdin, child.Stdout, child.Stderr = a.stdin, a.stdout, a.stderr
			err := devcluster.RunWithDatabase(cmd.Context(), devcluster.Config{Dir: dir, Logger: a.logger("warn")}, child)
			if ee, ok := errors.AsType[*exec.ExitError](err); ok {
				return &codedError{code: ee.ExitCode(), err: fmt.Errorf("%s exited with code %d", argv[0], ee.ExitCode())}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", devcluster.TestClusterDir, "where the cluster lives")
	return cmd
}
