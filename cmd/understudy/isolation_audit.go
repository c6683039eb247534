package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

// isolationAuditCommand audits an environment's surfaces now.
func (a *cli) isolationAuditCommand() *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "audit --environment ENV",
		Short: "Ask every app who a real viewer sees on each surface, and record violations",
		Long: `Audit an environment now, as the periodic audit does: every synthetic account that an
app shows a real viewer on a surface its role's policy keeps from real viewers opens
a violation; violations no longer seen close. A surface that could not be read is
"failed", not a clean pass.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.RunIsolationAuditWithResponse(cmd.Context(), openapi.IsolationAuditRequest{Environment: env})
			return showReply(a, resp, err, func(w io.Writer, r openapi.IsolationAuditReport) {
				row(w, "APP", "SURFACE", "STATUS", "SEEN", "VIOLATIONS", "ERROR")
				for _, s := range r.Results {
					var why string
					if s.Error != nil {
						why = *s.Error
					}
					row(w, s.App, s.Surface, s.Status, s.Seen, s.Violations, why)
				}
				fmt.Fprintf(w, "\nAudit of %s: %d opened, %d closed, %d open, %d surfaces failed.\n", r.Environment, r.Opened, r.Closed, r.Open, r.Failed)
			})
		},
	}
	cmd.Flags().StringVar(&env, "environment", "", "environment (required)")
	_ = cmd.MarkFlagRequired("environment")
	return cmd
}

// isolationViolationsCommand lists violations.
func (a *cli) isolationViolationsCommand() *cobra.Command {
	var env string
	var all bool
	cmd := &cobra.Command{
		Use:   "violations [--environment ENV] [--all]",
		Short: "List isolation violations (open ones unless --all)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			p := &openapi.ListIsolationViolationsParams{}
			if env != "" {
				p.Environment = &env
			}
			if !all {
				p.Open = new(true)
			}
			resp, err := c.ListIsolationViolationsWithResponse(cmd.Context(), p)
			return showReply(a, resp, err, func(w io.Writer, l openapi.IsolationViolations) {
				row(w, "ID", "ENVIRONMENT", "APP", "SURFACE", "ROLE", "ACCOUNT", "REF", "FIRST SEEN", "LAST SEEN", "CLOSED")
				for _, v := range l.Items {
					closed := "open"
					if v.ClosedAt != nil {
						closed = v.ClosedAt.Format("2006-01-02 15:04:05Z")
					}
					row(w, v.Id, v.Environment, v.App, v.Surface, v.Role, v.AccountId, v.Ref,
						v.FirstSeenAt.Format("2006-01-02 15:04:05Z"), v.LastSeenAt.Format("2006-01-02 15:04:05Z"), closed)
				}
			})
		},
	}
	cmd.Flags().StringVar(&env, "environment", "", "only this environment")
	cmd.Flags().BoolVar(&all, "all", false, "closed violations too")
	return cmd
}
