package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/internal/demo"
	"github.com/understudy-dev/understudy/internal/devcluster"
)

func (a *cli) demoCommand() *cobra.Command {
	var exit bool
	var addr string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show Understudy resetting a real app (chirp) on a private database",
		Long: `Start chirp, the example social app, beside an Understudy server on the embedded
default database (or DATABASE_URL), attach chirp through the webhook provider
(environment production) and through the postgres provider (environment staging),
create two roles, provision their accounts, make each chirp user post, follow and
shop, then reset every account and show what changed and what was restored.
Last, it shows chirp's leaderboard through Understudy's isolation client, as
a real user and as a synthetic one see it, and audits production's isolation:
chirp tells, surface by surface, who a real viewer sees.
It keeps serving until Ctrl-C, or exits at once with --exit.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.demo(cmd.Context(), addr, exit) },
	}
	cmd.Flags().BoolVar(&exit, "exit", false, "exit after the demo instead of serving")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "where the Understudy server listens")
	return cmd
}

// demo runs the demo (internal/demo) on a server booted here, with the
// development secret key and email domain unless they are configured.
func (a *cli) demo(ctx context.Context, addr string, exit bool) error {
	cfg, err := loadConfig(Config{Addr: addr}, "", a.getenv)
	if err != nil {
		return err
	}
	logger := a.logger("error")
	return demo.Run(ctx, demo.Config{Out: a.stdout, DatabaseURL: cfg.DatabaseURL, Exit: exit, Logger: logger,
		Serve: func(ctx context.Context, databaseURL string) (demo.Server, error) {
			m := &Main{Config: cfg, Migrate: true, Logger: logger}
			m.Config.DatabaseURL = databaseURL
			if m.Config.SecretKey == "" {
				key, err := devcluster.SecretKey(devcluster.KeyFile)
				if err != nil {
					return demo.Server{}, err
				}
				m.Config.SecretKey = key
			}
			if len(m.Config.EmailDomains) == 0 {
				m.Config.EmailDomains = []string{"qa.example.test"}
			}
			if m.Config.SMTPAddr == "" {
				// chirp mails its sign-in codes here, on loopback, where
				// there is no sender's DNS to check.
				m.Config.SMTPAddr, m.Config.SMTPCheckSenders = "127.0.0.1:0", new(false)
			}
			if err := m.Run(ctx); err != nil {
				return demo.Server{}, err
			}
			return demo.Server{Addr: m.Addr(), Pool: m.pool, EmailDomains: m.Config.EmailDomains,
				Console: m.Config.ConsoleOn(), SMTPAddr: m.SMTPAddr(), Stop: m.Close}, nil
		}})
}
