package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) accountsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Aliases: []string{"account"}, Short: "Read accounts and their credentials, retire them, rotate passwords"}
	rotate := &cobra.Command{
		Use: "rotate-password ID", Short: "Give an account a new random password and print it once", Args: args("id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.RotatePasswordWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, credentialsTable)
		},
	}
	creds := &cobra.Command{
		Use: "credentials ID", Short: "Print an account's email, username and password (runner or admin token)", Args: args("id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.GetCredentialsWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, credentialsTable)
		},
	}
	cmd.AddCommand(a.accountListCommand(), a.accountGetCommand(), a.accountRetireCommand(), rotate, creds, a.accountResetCommand())
	return cmd
}

func (a *cli) accountResetCommand() *cobra.Command {
	var state string
	reset := &cobra.Command{
		Use: "reset ID [--state S]", Short: "Restore an account's apps to a named state and verify them", Args: args("id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var body openapi.ResetRequest
			if cmd.Flags().Changed("state") {
				body.State = new(state)
			}
			resp, err := c.ResetAccountWithResponse(cmd.Context(), argv[0], body)
			return showReply(a, resp, err, func(w io.Writer, x openapi.Account) {
				fmt.Fprintf(w, "reset account %s to %s: %s\n", x.Id, cmp.Or(state, "initial"), x.Status)
			})
		},
	}
	reset.Flags().StringVar(&state, "state", "", "the state to restore (default initial, the baseline)")
	return reset
}

func (a *cli) accountGetCommand() *cobra.Command {
	return &cobra.Command{
		Use: "get ID", Short: "Show an account and its identity", Args: args("id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.GetAccountWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, accountDetails)
		},
	}
}

func (a *cli) accountRetireCommand() *cobra.Command {
	return &cobra.Command{
		Use: "retire ID", Short: "Retire an account; its slot gets a new account", Args: args("id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.RetireAccountWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, func(w io.Writer, x openapi.Account) {
				fmt.Fprintf(w, "retired account %s (%s/%s slot %d)\n", x.Id, x.Environment, x.Role, x.Slot)
			})
		},
	}
}

func (a *cli) accountListCommand() *cobra.Command {
	var f accountListFlags
	list := &cobra.Command{
		Use:   "list [flags]",
		Short: "List accounts by environment, role and slot (every page unless --limit is given)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			all := !cmd.Flags().Changed("limit")
			page, body, err := listAccounts(cmd.Context(), c, f.params(cmd), all)
			if err != nil {
				return err
			}
			if page.NextOffset != nil && a.output != "json" {
				fmt.Fprintf(a.stderr, "more accounts follow: --offset %d\n", *page.NextOffset)
			}
			return a.show(body, func(w io.Writer) { accountTable(w, page.Items...) })
		},
	}
	fs := list.Flags()
	fs.StringVar(&f.environment, "environment", "", "only accounts of this environment")
	fs.StringVar(&f.role, "role", "", "only accounts of this role (with --environment)")
	fs.StringVar(&f.status, "status", "", "only accounts in this status: pending, provisioning, ready, leased, capturing (a failed run's state being kept), failed or retired")
	fs.BoolVar(&f.includeRetired, "include-retired", false, "without --status, list retired accounts too")
	fs.IntVar(&f.limit, "limit", 0, "show one page of at most this many accounts (1-1000)")
	fs.IntVar(&f.offset, "offset", 0, "skip this many accounts")
	return list
}

// accountListFlags are the filters of accounts list.
type accountListFlags struct {
	environment, role, status string
	includeRetired            bool
	limit, offset             int
}

// params returns the query for the flags that were set; the server's
// defaults apply to the others.
func (f *accountListFlags) params(cmd *cobra.Command) openapi.ListAccountsParams {
	var p openapi.ListAccountsParams
	set := cmd.Flags().Changed
	if set("environment") {
		p.Environment = new(f.environment)
	}
	if set("role") {
		p.Role = new(f.role)
	}
	if set("status") {
		p.Status = new(openapi.AccountStatus(f.status))
	}
	if set("include-retired") {
		p.IncludeRetired = new(f.includeRetired)
	}
	if set("offset") {
		p.Offset = new(f.offset)
	}
	if set("limit") {
		p.Limit = new(f.limit)
	}
	return p
}

// listAccounts fetches one page of accounts, or with all every page from
// p.Offset on. It returns the accounts and the JSON to show: the server's
// body for one page, the merged list (without next_offset) for several.
func listAccounts(ctx context.Context, c *openapi.ClientWithResponses, p openapi.ListAccountsParams, all bool) (openapi.AccountList, []byte, error) {
	var out openapi.AccountList
	for pages := 1; ; pages++ {
		resp, err := c.ListAccountsWithResponse(ctx, &p)
		if err := check(resp, err); err != nil {
			return out, nil, err
		}
		page := *resp.JSON200
		if pages == 1 && (!all || page.NextOffset == nil) {
			return page, resp.Body, nil
		}
		out.Items = append(out.Items, page.Items...)
		if page.NextOffset == nil {
			body, err := json.Marshal(out)
			return out, body, err
		}
		p.Offset = page.NextOffset
	}
}

func accountTable(w io.Writer, list ...openapi.Account) {
	row(w, "ID", "ENVIRONMENT", "ROLE", "SLOT", "STATUS", "EMAIL", "NAME")
	for _, x := range list {
		row(w, x.Id, x.Environment, x.Role, strconv.Itoa(x.Slot), x.Status, x.Identity.Email, x.Identity.DisplayName)
	}
}

// accountDetails prints one account as label and value lines.
func accountDetails(w io.Writer, x openapi.Account) {
	id, ad := x.Identity, x.Identity.Address
	retired := "-"
	if x.RetiredAt != nil {
		retired = x.RetiredAt.Format("2006-01-02 15:04")
	}
	for _, kv := range [][2]string{
		{"ID", x.Id},
		{"Environment", x.Environment},
		{"Role", x.Role},
		{"Slot", fmt.Sprintf("%d (generation %d)", x.Slot, x.Generation)},
		{"Status", string(x.Status)},
		{"Status reason", orDash(x.StatusReason)},
		{"Name", id.DisplayName},
		{"Username", id.Username},
		{"Email", id.Email},
		{"Phone", id.Phone},
		{"Address", fmt.Sprintf("%s, %s, %s %s, %s", ad.Street, ad.City, ad.Region, ad.PostalCode, ad.Country)},
		{"Birth date", id.BirthDate.String()},
		{"Locale", id.Locale},
		{"Time zone", id.TimeZone},
		{"Password rotated", x.PasswordRotatedAt.Format("2006-01-02 15:04")},
		{"Created", x.CreatedAt.Format("2006-01-02 15:04")},
		{"Retired", retired},
	} {
		row(w, kv[0], kv[1])
	}
}

func credentialsTable(w io.Writer, cr openapi.Credentials) {
	row(w, "EMAIL", "USERNAME", "PASSWORD")
	row(w, cr.Email, cr.Username, cr.Password)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
