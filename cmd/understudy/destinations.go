package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) destinationsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "destinations", Aliases: []string{"destination"}, Short: "Attach the analytics destinations an environment's exclusion list is published to"}
	cmd.AddCommand(a.destinationAttachCommand(), a.destinationUpdateCommand(), a.destinationListCommand(), a.destinationGetCommand(),
		a.destinationTestCommand(), a.destinationDetachCommand())
	return cmd
}

// destinationFlags are the flags destinations attach and update share:
// the destination's own, and the settings and secrets.
type destinationFlags struct {
	configFlags
	kind, distinctID, syncInterval string
}

func (f *destinationFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.kind, "kind", "", "the destination's kind: posthog, amplitude, mixpanel, segment or webhook")
	fs.StringVar(&f.distinctID, "distinct-id", "", "which identifier the destination knows users by: email (default), account_id, username, app_ref:<app> or a template of the account's own fields such as 'user-{{.AccountID}}'")
	fs.StringVar(&f.syncInterval, "sync-interval", "", "how often it is synced, a Go duration from 1m to 24h (default 15m)")
	f.configFlags.register(cmd,
		`the publisher's settings as a JSON object, e.g. '{"project_id":1}'`,
		"secret KEY=VALUE (repeat; replaces all secrets); prefer --secret-file",
		"secret KEY=PATH read from a file, one trailing newline dropped (repeat)")
}

// change returns the body for the flags that were set.
func (f *destinationFlags) change(cmd *cobra.Command, stdin io.Reader) (openapi.DestinationUpdate, error) {
	var ch openapi.DestinationUpdate
	set := cmd.Flags().Changed
	if set("kind") {
		ch.Kind = new(f.kind)
	}
	if set("distinct-id") {
		ch.DistinctId = new(f.distinctID)
	}
	if set("sync-interval") {
		ch.SyncInterval = new(f.syncInterval)
	}
	var err error
	ch.Settings, ch.Secrets, err = f.read(cmd, stdin)
	return ch, err
}

func (a *cli) destinationAttachCommand() *cobra.Command {
	var f destinationFlags
	attach := &cobra.Command{
		Use:   "attach ENV NAME --kind K [flags]",
		Short: "Attach an analytics destination; its settings and secrets are checked by building its publisher",
		Args:  args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if !cmd.Flags().Changed("kind") {
				return usageErrorf("--kind is required (posthog, amplitude, mixpanel, segment or webhook)")
			}
			ch, err := f.change(cmd, a.stdin)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.AttachDestinationWithResponse(cmd.Context(), argv[0], openapi.DestinationAttach{Name: argv[1], Kind: *ch.Kind,
				Settings: ch.Settings, Secrets: ch.Secrets, DistinctId: ch.DistinctId, SyncInterval: ch.SyncInterval})
			return showReply(a, resp, err, func(w io.Writer, x openapi.Destination) { destinationTable(w, x) })
		},
	}
	f.register(attach)
	return attach
}

func (a *cli) destinationUpdateCommand() *cobra.Command {
	var f destinationFlags
	update := &cobra.Command{
		Use:   "update ENV NAME [flags]",
		Short: "Change a destination; only the flags given are changed, and secrets given replace them all",
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
			resp, err := c.UpdateDestinationWithResponse(cmd.Context(), argv[0], argv[1], ch)
			return showReply(a, resp, err, func(w io.Writer, x openapi.Destination) { destinationTable(w, x) })
		},
	}
	f.register(update)
	return update
}

func (a *cli) destinationListCommand() *cobra.Command {
	return &cobra.Command{
		Use: "list ENV", Short: "List an environment's destinations with their health", Args: args("env"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListDestinationsWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, func(w io.Writer, l openapi.DestinationList) { destinationTable(w, l.Items...) })
		},
	}
}

func (a *cli) destinationGetCommand() *cobra.Command {
	return &cobra.Command{
		Use: "get ENV NAME", Short: "Show a destination with its settings, the names of its secrets and its manual steps", Args: args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.GetDestinationWithResponse(cmd.Context(), argv[0], argv[1])
			return showReply(a, resp, err, destinationDetails)
		},
	}
}

func (a *cli) destinationTestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "test ENV NAME",
		Short: "Check a destination's credentials and print the steps only its UI can do (exit 1 when the check fails)",
		Args:  args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.TestDestinationWithResponse(cmd.Context(), argv[0], argv[1])
			err = showReply(a, resp, err, func(w io.Writer, x openapi.DestinationCheck) {
				fmt.Fprintf(w, "%s %s in %s: %s\n", verdict(x.Ok), x.Destination, x.Elapsed, orDash(x.Detail))
				for i, s := range x.ManualSteps {
					fmt.Fprintf(w, "manual step %d: %s\n", i+1, s)
				}
			})
			if err == nil && !resp.JSON200.Ok {
				err = &codedError{code: exitError, err: fmt.Errorf("destination %s of environment %s failed its check", argv[1], argv[0])}
			}
			return err
		},
	}
}

func (a *cli) destinationDetachCommand() *cobra.Command {
	return &cobra.Command{
		Use: "detach ENV NAME", Short: "Detach a destination; what the vendor holds stays there", Args: args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.DetachDestinationWithResponse(cmd.Context(), argv[0], argv[1])
			if err := check(resp, err); err != nil {
				return err
			}
			return a.done("detached destination " + argv[1] + " from environment " + argv[0])
		},
	}
}

func destinationTable(w io.Writer, list ...openapi.Destination) {
	row(w, "ENVIRONMENT", "NAME", "KIND", "DISTINCT ID", "INTERVAL", "HEALTH", "SECRETS")
	for _, x := range list {
		row(w, x.Environment, x.Name, x.Kind, x.DistinctId, x.SyncInterval, string(x.Health.Status), secretNames(x.SecretNames))
	}
}

// destinationDetails prints one destination as label and value lines,
// then its settings and manual steps. Secrets are never returned, only
// their names.
func destinationDetails(w io.Writer, x openapi.Destination) {
	at := "-"
	if x.Health.At != nil {
		at = x.Health.At.Format(time.RFC3339)
	}
	for _, kv := range [][2]string{
		{"ID", x.Id}, {"Environment", x.Environment}, {"Name", x.Name}, {"Kind", x.Kind},
		{"Distinct id", x.DistinctId}, {"Sync interval", x.SyncInterval}, {"Secrets", secretNames(x.SecretNames)},
		{"Health", string(x.Health.Status) + " at " + at + ": " + orDash(valueOf(x.Health.Detail))},
		{"Updated", x.UpdatedAt.Format(time.RFC3339)},
	} {
		row(w, kv[0], kv[1])
	}
	settings, err := json.MarshalIndent(x.Settings, "  ", "  ")
	if err != nil || len(x.Settings) == 0 {
		settings = []byte("{}")
	}
	fmt.Fprintf(w, "Settings:\n  %s\n", settings)
	for i, s := range x.ManualSteps {
		fmt.Fprintf(w, "Manual step %d: %s\n", i+1, s)
	}
}

func valueOf[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func itoa(p *int) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(*p)
}
