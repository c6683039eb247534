package main

import (
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) auditCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit trail"}
	var f auditListFlags
	list := &cobra.Command{
		Use: "list [flags]", Short: "List audit events, newest first", Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListAuditEventsWithResponse(cmd.Context(), f.params(cmd))
			return showReply(a, resp, err, func(w io.Writer, l openapi.AuditEventList) { auditTable(w, l.Items...) })
		},
	}
	fs := list.Flags()
	fs.StringVar(&f.action, "action", "", "only events of this action, e.g. role.create")
	fs.StringVar(&f.targetType, "target-type", "", "only events on this kind of target, e.g. account")
	fs.StringVar(&f.targetID, "target-id", "", "only events on this target")
	fs.StringVar(&f.requestID, "request-id", "", "only events of this request")
	fs.Int64Var(&f.before, "before", 0, "only events older than this id (to page back)")
	fs.IntVar(&f.limit, "limit", 0, "at most this many events, 1-1000 (default 100)")
	cmd.AddCommand(list)
	return cmd
}

// auditListFlags are the filters of audit list.
type auditListFlags struct {
	action, targetType, targetID, requestID string
	before                                  int64
	limit                                   int
}

// params returns the query for the flags that were set.
func (f *auditListFlags) params(cmd *cobra.Command) *openapi.ListAuditEventsParams {
	var p openapi.ListAuditEventsParams
	set := cmd.Flags().Changed
	if set("action") {
		p.Action = new(f.action)
	}
	if set("target-type") {
		p.TargetType = new(f.targetType)
	}
	if set("target-id") {
		p.TargetId = new(f.targetID)
	}
	if set("request-id") {
		p.RequestId = new(f.requestID)
	}
	if set("before") {
		p.Before = new(f.before)
	}
	if set("limit") {
		p.Limit = new(f.limit)
	}
	return &p
}

func auditTable(w io.Writer, list ...openapi.AuditEvent) {
	row(w, "ID", "AT", "ACTOR", "ACTION", "TARGET", "REQUEST ID")
	for _, e := range list {
		row(w, strconv.FormatInt(e.Id, 10), e.At.Format(time.DateTime), e.Actor, e.Action,
			e.TargetType+"/"+e.TargetId, orDash(e.RequestId))
	}
}
