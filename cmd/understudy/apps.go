package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) appsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "apps", Aliases: []string{"app"}, Short: "Attach the apps an environment's accounts are provisioned into"}
	cmd.AddCommand(a.appAttachCommand(), a.appUpdateCommand(), a.appListCommand(), a.appGetCommand(), a.appTestCommand(), a.appDetachCommand())
	return cmd
}

func (a *cli) appAttachCommand() *cobra.Command {
	var f appFlags
	attach := &cobra.Command{
		Use:   "attach ENV NAME --provider P [flags]",
		Short: "Attach an app; every account of the environment is then provisioned into it in the background",
		Args:  args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if !cmd.Flags().Changed("provider") {
				return usageErrorf("--provider is required (webhook, postgres, exec or fake)")
			}
			ch, err := f.change(cmd, a.stdin)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.AttachAppWithResponse(cmd.Context(), argv[0], openapi.AppAttach{Name: argv[1],
				Provider: *ch.Provider, Settings: ch.Settings, Secrets: ch.Secrets})
			return showReply(a, resp, err, func(w io.Writer, x openapi.App) { appTable(w, x) })
		},
	}
	f.register(attach)
	return attach
}

func (a *cli) appUpdateCommand() *cobra.Command {
	var f appFlags
	update := &cobra.Command{
		Use:   "update ENV NAME [flags]",
		Short: "Change an app; only the flags given are changed, and secrets given replace them all",
		Args:  args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			ch, err := f.change(cmd, a.stdin)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.UpdateAppWithResponse(cmd.Context(), argv[0], argv[1], ch)
			return showReply(a, resp, err, func(w io.Writer, x openapi.App) { appTable(w, x) })
		},
	}
	f.register(update)
	return update
}

func (a *cli) appListCommand() *cobra.Command {
	return &cobra.Command{
		Use: "list ENV", Short: "List an environment's apps", Args: args("env"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListAppsWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, func(w io.Writer, l openapi.AppList) { appTable(w, l.Items...) })
		},
	}
}

func (a *cli) appGetCommand() *cobra.Command {
	return &cobra.Command{
		Use: "get ENV NAME", Short: "Show an app with its settings and the names of its secrets", Args: args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.GetAppWithResponse(cmd.Context(), argv[0], argv[1])
			return showReply(a, resp, err, appDetails)
		},
	}
}

func (a *cli) appTestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "test ENV NAME",
		Short: "Check that an app is reachable and speaks its provider's contract (exit 1 when it does not)",
		Args:  args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.TestAppWithResponse(cmd.Context(), argv[0], argv[1])
			err = showReply(a, resp, err, func(w io.Writer, x openapi.AppCheck) {
				fmt.Fprintf(w, "%s %s in %s: %s\n", verdict(x.Ok), x.App, x.Elapsed, orDash(x.Detail))
			})
			if err == nil && !resp.JSON200.Ok {
				err = &codedError{code: exitError, err: fmt.Errorf("app %s of environment %s failed its check", argv[1], argv[0])}
			}
			return err
		},
	}
}

func (a *cli) appDetachCommand() *cobra.Command {
	return &cobra.Command{
		Use: "detach ENV NAME", Short: "Detach an app; its refs and snapshots go, the users it holds stay", Args: args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.DetachAppWithResponse(cmd.Context(), argv[0], argv[1])
			if err := check(resp, err); err != nil {
				return err
			}
			return a.done("detached app " + argv[1] + " from environment " + argv[0])
		},
	}
}

// appFlags are the flags apps attach and apps update share: the provider,
// and the settings and secrets.
type appFlags struct {
	configFlags
	provider string
}

func (f *appFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.provider, "provider", "", "the app's provider: webhook, postgres, exec or fake")
	f.configFlags.register(cmd,
		`the provider's settings as a JSON object, e.g. '{"delay":"10ms"}'`,
		"secret KEY=VALUE (repeat; replaces all secrets; --secret= clears them); prefer --secret-file",
		"secret KEY=PATH read from a file, one trailing newline dropped, so it stays out of shell history (repeat)")
}

// change returns the body for the flags that were set.
func (f *appFlags) change(cmd *cobra.Command, stdin io.Reader) (openapi.AppUpdate, error) {
	var ch openapi.AppUpdate
	if cmd.Flags().Changed("provider") {
		ch.Provider = new(f.provider)
	}
	var err error
	ch.Settings, ch.Secrets, err = f.read(cmd, stdin)
	return ch, err
}

func appTable(w io.Writer, list ...openapi.App) {
	row(w, "ENVIRONMENT", "NAME", "PROVIDER", "SECRETS", "UPDATED")
	for _, x := range list {
		row(w, x.Environment, x.Name, x.Provider, secretNames(x.SecretNames), x.UpdatedAt.Format("2006-01-02 15:04"))
	}
}

// appDetails prints one app as label and value lines, then its settings as
// indented JSON. Secrets are never returned by the server, only their names.
func appDetails(w io.Writer, x openapi.App) {
	for _, kv := range [][2]string{
		{"ID", x.Id},
		{"Environment", x.Environment},
		{"Name", x.Name},
		{"Provider", x.Provider},
		{"Secrets", secretNames(x.SecretNames)},
		{"Created", x.CreatedAt.Format(time.RFC3339)},
		{"Updated", x.UpdatedAt.Format(time.RFC3339)},
	} {
		row(w, kv[0], kv[1])
	}
	settings, err := json.MarshalIndent(x.Settings, "  ", "  ")
	if err != nil || len(x.Settings) == 0 {
		settings = []byte("{}")
	}
	fmt.Fprintf(w, "Settings:\n  %s\n", settings)
}

// verdict is how a check's outcome reads in a table.
func verdict(ok bool) string {
	if ok {
		return "OK"
	}
	return "FAILED"
}

func secretNames(names []string) string {
	if len(names) == 0 {
		return "-"
	}
	return strings.Join(names, ",")
}
