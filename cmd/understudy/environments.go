package main

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) environmentsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "environments", Aliases: []string{"environment", "env"}, Short: "Manage environments and their controlled email domains"}
	var domains, surfaces []string
	var createInbox, updateInbox inboxSettingFlags
	create := &cobra.Command{
		Use: "create NAME --email-domain DOMAIN... [--surface SURFACE...] [--inbox-retention 7d] [--inbox-max-messages 200]", Short: "Create an environment", Args: args("name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			retention, max, err := createInbox.values(cmd)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			in := openapi.EnvironmentCreate{Name: argv[0], EmailDomains: domains, InboxRetentionSeconds: retention, InboxMaxMessages: max}
			if len(surfaces) > 0 {
				in.CustomSurfaces = &surfaces
			}
			resp, err := c.CreateEnvironmentWithResponse(cmd.Context(), in)
			return showReply(a, resp, err, func(w io.Writer, x openapi.Environment) { environmentTable(w, x) })
		},
	}
	create.Flags().StringSliceVar(&domains, "email-domain", nil, "controlled email domain (repeat or comma-separate; the first is used for new accounts)")
	create.Flags().StringSliceVar(&surfaces, "surface", nil, "custom surface of the environment's apps, beyond the built-in ones (repeat or comma-separate)")
	_ = create.MarkFlagRequired("email-domain")
	createInbox.register(create)

	var newDomains, newSurfaces []string
	update := &cobra.Command{
		Use:   "update NAME [--email-domain DOMAIN...] [--surface SURFACE...] [--inbox-retention 7d] [--inbox-max-messages 200]",
		Short: "Change an environment; only the flags given are changed", Args: args("name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			retention, max, err := updateInbox.values(cmd)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			in := openapi.EnvironmentUpdate{InboxRetentionSeconds: retention, InboxMaxMessages: max}
			if cmd.Flags().Changed("email-domain") {
				in.EmailDomains = &newDomains
			}
			if cmd.Flags().Changed("surface") {
				// --surface '' clears them.
				in.CustomSurfaces = new(slices.DeleteFunc(newSurfaces, func(s string) bool { return s == "" }))
			}
			resp, err := c.UpdateEnvironmentWithResponse(cmd.Context(), argv[0], in)
			return showReply(a, resp, err, func(w io.Writer, x openapi.Environment) { environmentTable(w, x) })
		},
	}
	update.Flags().StringSliceVar(&newDomains, "email-domain", nil, "controlled email domains, replacing the current ones (repeat or comma-separate)")
	update.Flags().StringSliceVar(&newSurfaces, "surface", nil, "custom surfaces, replacing the current ones (repeat or comma-separate; '' for none)")
	updateInbox.register(update)

	list := &cobra.Command{
		Use: "list", Short: "List environments", Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListEnvironmentsWithResponse(cmd.Context())
			return showReply(a, resp, err, func(w io.Writer, l openapi.EnvironmentList) { environmentTable(w, l.Items...) })
		},
	}
	get := &cobra.Command{
		Use: "get NAME", Short: "Show an environment", Args: args("name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.GetEnvironmentWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, func(w io.Writer, x openapi.Environment) { environmentTable(w, x) })
		},
	}
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete an environment that never had accounts", Args: args("name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.DeleteEnvironmentWithResponse(cmd.Context(), argv[0])
			if err := check(resp, err); err != nil {
				return err
			}
			return a.done("deleted environment " + argv[0])
		},
	}
	cmd.AddCommand(create, update, list, get, del)
	return cmd
}

func environmentTable(w io.Writer, list ...openapi.Environment) {
	row(w, "NAME", "EMAIL DOMAINS", "CREATED", "CUSTOM SURFACES", "INBOX RETENTION", "INBOX MAX")
	for _, e := range list {
		row(w, e.Name, strings.Join(e.EmailDomains, ","), e.CreatedAt.Format("2006-01-02 15:04"), strings.Join(e.CustomSurfaces, ","),
			accounts.FormatRetention(e.InboxRetentionSeconds), strconv.Itoa(e.InboxMaxMessages))
	}
}

// inboxSettingFlags are the inbox settings environments create and update share.
type inboxSettingFlags struct {
	retention string
	max       int
}

func (f *inboxSettingFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.retention, "inbox-retention", "", "how long accounts keep their mail: whole days (7d) or a duration (36h), 1h to 365d (default 7d)")
	cmd.Flags().IntVar(&f.max, "inbox-max-messages", 0, "messages each account keeps at most, the oldest going first, 1-10000 (default 200)")
}

// values returns the settings given on the command line, in the API's
// units; a retention that is not a duration is a usage error (the server
// checks the bounds).
func (f *inboxSettingFlags) values(cmd *cobra.Command) (retention, max *int, err error) {
	if cmd.Flags().Changed("inbox-retention") {
		d, err := accounts.ParseRetention(f.retention)
		if err != nil {
			return nil, nil, usageErrorf("--inbox-retention: %v", err)
		}
		retention = new(int(d / time.Second))
	}
	if cmd.Flags().Changed("inbox-max-messages") {
		max = new(f.max)
	}
	return retention, max, nil
}
