package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

// exclusionsCommand prints an environment's exclusion list as it streams
// from the server, and forgets a retired account's identifiers.
func (a *cli) exclusionsCommand() *cobra.Command {
	var env string
	var since int64
	cmd := &cobra.Command{
		Use:   "exclusions --environment ENV [-o text|csv|json|ndjson] [--since VERSION]",
		Short: "Print an environment's exclusion list (every identifier its synthetic accounts appear under)",
		Long: `Print the exclusion list of an environment: every identifier a synthetic account may
appear under (account id, email, username, app refs), for analytics pipelines.
-o text (the default here) prints one identifier a line; csv, json and ndjson
print each identifier with its kind, account and version. --since VERSION
prints only what changed after that version (in text: +added, -removed).`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format := a.output
			if format == "table" {
				format = "text"
			}
			switch format {
			case "text", "csv", "json", "ndjson":
			default:
				return usageErrorf("--output must be text, csv, json or ndjson, got %q", a.output)
			}
			c, err := a.apiClient()
			if err != nil {
				return err
			}
			p := &openapi.GetExclusionsParams{Format: new(openapi.GetExclusionsParamsFormat(format))}
			if since > 0 {
				p.Since = &since
			}
			resp, err := c.GetExclusions(cmd.Context(), env, p)
			if err != nil {
				return &codedError{code: exitUnavailable, err: fmt.Errorf("cannot reach the Understudy server: %w", err)}
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				r, err := openapi.ParseGetExclusionsResponse(resp)
				if err := check(r, err); err != nil {
					return err
				}
				return fmt.Errorf("unexpected answer %d", resp.StatusCode)
			}
			if _, err := io.Copy(a.stdout, resp.Body); err != nil {
				return &codedError{code: exitUnavailable, err: fmt.Errorf("the list was cut off: %w", err)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&env, "environment", "", "environment (required)")
	cmd.Flags().Int64Var(&since, "since", 0, "print only what changed after this list version")
	_ = cmd.MarkFlagRequired("environment")

	forget := &cobra.Command{
		Use:   "forget IDENTIFIER --environment ENV",
		Short: "Take a retired account's identifiers off the exclusion list (named by any of them, or its id)",
		Args:  args("identifier"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ForgetExclusionWithResponse(cmd.Context(), env, argv[0])
			return showReply(a, resp, err, func(w io.Writer, l openapi.ExclusionEntries) {
				row(w, "IDENTIFIER", "KIND", "ACCOUNT", "VERSION")
				for _, e := range l.Items {
					row(w, e.Identifier, string(e.Kind), e.AccountId, strconv.FormatInt(e.Version, 10))
				}
			})
		},
	}
	forget.Flags().StringVar(&env, "environment", "", "environment (required)")
	_ = forget.MarkFlagRequired("environment")
	cmd.AddCommand(forget)
	return cmd
}
