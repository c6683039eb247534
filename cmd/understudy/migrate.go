package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/migrations"
)

func (a *cli) migrateCommand() *cobra.Command {
	var flags Config
	var configPath string
	var lockTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, revert or inspect the database schema",
		Long: `Apply, revert or inspect the database schema (DATABASE_URL).

Replicas that migrate at once are serialised by an advisory lock; one that
waits longer than --lock-timeout gives up with an error instead of hanging.`,
	}
	cmd.PersistentFlags().StringVar(&flags.DatabaseURL, "database-url", "", "PostgreSQL connection string (or DATABASE_URL)")
	cmd.PersistentFlags().StringVar(&configPath, "config", "", "YAML config file (or UNDERSTUDY_CONFIG)")
	cmd.PersistentFlags().DurationVar(&lockTimeout, "lock-timeout", migrations.DefaultLockTimeout, "how long to wait for another replica's migration")
	open := func() (*migrations.Migrator, error) {
		cfg, err := loadConfig(flags, configPath, a.getenv)
		if err != nil {
			return nil, &codedError{code: exitUsage, err: err}
		}
		if cfg.DatabaseURL == "" {
			return nil, usageErrorf("no database: set DATABASE_URL or pass --database-url")
		}
		return migrations.Open(cfg.DatabaseURL, lockTimeout)
	}
	up := &cobra.Command{Use: "up", Short: "Apply every pending migration", Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := open()
			if err != nil {
				return err
			}
			defer g.Close()
			if err := g.Up(); err != nil {
				return err
			}
			return a.printVersion(g)
		}}
	var steps int
	down := &cobra.Command{Use: "down", Short: "Revert migrations (one by default; --all for every one)", Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := open()
			if err != nil {
				return err
			}
			defer g.Close()
			if err := g.Down(steps); err != nil {
				return err
			}
			return a.printVersion(g)
		}}
	down.Flags().IntVar(&steps, "steps", 1, "how many migrations to revert (0 = all)")
	version := &cobra.Command{Use: "version", Short: "Print the applied schema version", Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := open()
			if err != nil {
				return err
			}
			defer g.Close()
			return a.printVersion(g)
		}}
	force := &cobra.Command{Use: "force VERSION", Short: "Mark VERSION as applied and clean, after fixing a failed migration by hand", Args: args("version"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			v, err := strconv.Atoi(argv[0])
			if err != nil {
				return usageErrorf("VERSION must be a whole number, got %q", argv[0])
			}
			g, err := open()
			if err != nil {
				return err
			}
			defer g.Close()
			if err := g.Force(v); err != nil {
				return err
			}
			return a.printVersion(g)
		}}
	cmd.AddCommand(up, down, version, force)
	return cmd
}

func (a *cli) printVersion(g *migrations.Migrator) error {
	v, dirty, err := g.Version()
	if err != nil {
		return err
	}
	state := "clean"
	if dirty {
		state = "dirty"
	}
	if a.output == "json" {
		_, err = fmt.Fprintf(a.stdout, "{\"version\": %d, \"latest\": %d, \"dirty\": %t}\n", v, migrations.Latest(), dirty)
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "schema version %d of %d (%s)\n", v, migrations.Latest(), state)
	return err
}
