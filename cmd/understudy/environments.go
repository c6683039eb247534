package main

import (
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) environmentsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "environments", Aliases: []string{"environment", "env"}, Short: "Manage environments and their controlled email domains"}
	var domains, surfaces []string
	create := &cobra.Command{
		Use: "create NAME --email-domain DOMAIN... [--surface SURFACE...]", Short: "Create an environment", Args: args("name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			in := openapi.EnvironmentCreate{Name: argv[0], EmailDomains: domains}
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

	var newDomains, newSurfaces []string
	update := &cobra.Command{
		Use: "update NAME --email-domain DOMAIN... [--surface SURFACE...]", Short: "Replace an environment's email domains (and custom surfaces, when given)", Args: args("name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			in := openapi.EnvironmentUpdate{EmailDomains: newDomains}
			if cmd.Flags().Changed("surface") {
				// --surface '' clears them.
				in.CustomSurfaces = new(slices.DeleteFunc(newSurfaces, func(s string) bool { return s == "" }))
			}
			resp, err := c.UpdateEnvironmentWithResponse(cmd.Context(), argv[0], in)
			return showReply(a, resp, err, func(w io.Writer, x openapi.Environment) { environmentTable(w, x) })
		},
	}
	update.Flags().StringSliceVar(&newDomains, "email-domain", nil, "controlled email domain (repeat or comma-separate)")
	update.Flags().StringSliceVar(&newSurfaces, "surface", nil, "custom surfaces, replacing the current ones (repeat or comma-separate; '' for none)")
	_ = update.MarkFlagRequired("email-domain")

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
	row(w, "NAME", "EMAIL DOMAINS", "CREATED", "CUSTOM SURFACES")
	for _, e := range list {
		row(w, e.Name, strings.Join(e.EmailDomains, ","), e.CreatedAt.Format("2006-01-02 15:04"), strings.Join(e.CustomSurfaces, ","))
	}
}
