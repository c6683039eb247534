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
	var createSettings, updateSettings environmentSettingFlags
	create := &cobra.Command{
		Use:   "create NAME --email-domain DOMAIN... [--surface SURFACE...] [--inbox-retention 7d] [--inbox-max-messages 200] [--capture-retention 30d]",
		Short: "Create an environment", Args: args("name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			v, err := createSettings.values(cmd)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			in := openapi.EnvironmentCreate{Name: argv[0], EmailDomains: domains, InboxRetentionSeconds: v.inboxRetention, InboxMaxMessages: v.inboxMax,
				CaptureRetentionSeconds: v.captureRetention}
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
	createSettings.register(create)

	var newDomains, newSurfaces []string
	update := &cobra.Command{
		Use:   "update NAME [--email-domain DOMAIN...] [--surface SURFACE...] [--inbox-retention 7d] [--inbox-max-messages 200] [--capture-retention 30d]",
		Short: "Change an environment; only the flags given are changed", Args: args("name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			v, err := updateSettings.values(cmd)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			in := openapi.EnvironmentUpdate{InboxRetentionSeconds: v.inboxRetention, InboxMaxMessages: v.inboxMax, CaptureRetentionSeconds: v.captureRetention}
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
	updateSettings.register(update)

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
	row(w, "NAME", "EMAIL DOMAINS", "CREATED", "CUSTOM SURFACES", "INBOX RETENTION", "INBOX MAX", "CAPTURE RETENTION")
	for _, e := range list {
		row(w, e.Name, strings.Join(e.EmailDomains, ","), e.CreatedAt.Format("2006-01-02 15:04"), strings.Join(e.CustomSurfaces, ","),
			accounts.FormatRetention(e.InboxRetentionSeconds), strconv.Itoa(e.InboxMaxMessages), accounts.FormatRetention(e.CaptureRetentionSeconds))
	}
}

// environmentSettingFlags are the settings environments create and update
// share: the inbox's and the capture retention.
type environmentSettingFlags struct {
	inboxRetention, captureRetention string
	inboxMax                         int
}

func (f *environmentSettingFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.inboxRetention, "inbox-retention", "", "how long accounts keep their mail: whole days (7d) or a duration (36h), 1h to 365d (default 7d)")
	cmd.Flags().IntVar(&f.inboxMax, "inbox-max-messages", 0, "messages each account keeps at most, the oldest going first, 1-10000 (default 200)")
	cmd.Flags().StringVar(&f.captureRetention, "capture-retention", "", "how long the captured account states of failed runs are kept: whole days (30d) or a duration (36h), 1h to 365d (default 30d)")
}

// environmentSettings are the settings given on the command line, in the
// API's units; nil for those not given.
type environmentSettings struct {
	inboxRetention, inboxMax, captureRetention *int
}

// values returns the settings given on the command line; a retention that
// is not a duration is a usage error (the server checks the bounds).
func (f *environmentSettingFlags) values(cmd *cobra.Command) (environmentSettings, error) {
	var v environmentSettings
	var err error
	if v.inboxRetention, err = retentionFlag(cmd, "inbox-retention", f.inboxRetention); err != nil {
		return v, err
	}
	if v.captureRetention, err = retentionFlag(cmd, "capture-retention", f.captureRetention); err != nil {
		return v, err
	}
	if cmd.Flags().Changed("inbox-max-messages") {
		v.inboxMax = new(f.inboxMax)
	}
	return v, nil
}

// retentionFlag returns the seconds of the retention flag name holds, or
// nil when it is not given.
func retentionFlag(cmd *cobra.Command, name, value string) (*int, error) {
	if !cmd.Flags().Changed(name) {
		return nil, nil
	}
	d, err := accounts.ParseRetention(value)
	if err != nil {
		return nil, usageErrorf("--%s: %v", name, err)
	}
	return new(int(d / time.Second)), nil
}
