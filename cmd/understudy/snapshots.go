package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) snapshotsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "snapshots", Aliases: []string{"snapshot"}, Short: "Capture, read and compare the states of accounts in their apps"}
	cmd.AddCommand(a.snapshotListCommand(), a.snapshotCaptureCommand(), a.snapshotShowCommand(), a.snapshotDiffCommand())
	return cmd
}

func (a *cli) snapshotListCommand() *cobra.Command {
	var state string
	list := &cobra.Command{
		Use: "list ACCOUNT_ID [--state S]", Short: "List an account's snapshots by state, newest version first", Args: args("account-id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var p openapi.ListSnapshotsParams
			if cmd.Flags().Changed("state") {
				p.State = new(state)
			}
			resp, err := c.ListSnapshotsWithResponse(cmd.Context(), argv[0], &p)
			return showReply(a, resp, err, func(w io.Writer, l openapi.SnapshotList) { snapshotTable(w, l.Items...) })
		},
	}
	list.Flags().StringVar(&state, "state", "", "only snapshots of this state, e.g. initial")
	return list
}

func (a *cli) snapshotCaptureCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "capture ACCOUNT_ID STATE",
		Short: "Capture an account's current state in every app as the next version of STATE",
		Args:  args("account-id", "state"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.CaptureStateWithResponse(cmd.Context(), argv[0], argv[1])
			return showReply(a, resp, err, func(w io.Writer, l openapi.SnapshotList) { snapshotTable(w, l.Items...) })
		},
	}
}

func (a *cli) snapshotShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show HASH",
		Short: "Print a snapshot's state document as JSON (the full hash, from snapshots list -o json)",
		Args:  args("hash"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.GetSnapshotContentWithResponse(cmd.Context(), argv[0])
			if err := check(resp, err); err != nil {
				return err
			}
			// The document is JSON whatever --output says: a table of it
			// would say less.
			var buf bytes.Buffer
			if err := json.Indent(&buf, resp.Body, "", "  "); err != nil {
				return fmt.Errorf("the server sent a snapshot that is not JSON: %w", err)
			}
			buf.WriteByte('\n')
			_, err = a.stdout.Write(buf.Bytes())
			return err
		},
	}
}

func (a *cli) snapshotDiffCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "diff FROM_HASH TO_HASH",
		Short: "Show what differs between two snapshots, by JSON path",
		Args:  args("from-hash", "to-hash"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.DiffSnapshotsWithResponse(cmd.Context(), &openapi.DiffSnapshotsParams{From: argv[0], To: argv[1]})
			// Decoded with raw values: the generated type cannot tell a
			// missing before (an added path) from a null one.
			return showReply(a, resp, err, func(w io.Writer, d rawDiff) {
				row(w, "PATH", "OP", "BEFORE", "AFTER")
				for _, ch := range d.Changes {
					row(w, ch.Path, ch.Op, diffValue(ch.Before), diffValue(ch.After))
				}
			})
		},
	}
}

// rawDiff is a snapshot diff whose values are kept as the server sent them.
type rawDiff struct {
	Changes []struct {
		Path, Op      string
		Before, After json.RawMessage
	}
}

// diffValueWidth is how many characters of a value a diff shows.
const diffValueWidth = 60

// diffValue renders a value of a diff as compact JSON cut to
// diffValueWidth characters, or "-" when it is absent.
func diffValue(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "-"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	r := []rune(buf.String())
	if len(r) > diffValueWidth {
		return string(r[:diffValueWidth-1]) + "…"
	}
	return string(r)
}

func snapshotTable(w io.Writer, list ...openapi.Snapshot) {
	row(w, "STATE", "VERSION", "APP", "HASH", "SIZE", "CREATED")
	for _, x := range list {
		row(w, x.State, "v"+strconv.Itoa(x.Version), x.App, shortHash(x.Hash), strconv.Itoa(x.Size), x.CreatedAt.Format("2006-01-02 15:04:05"))
	}
}

// shortHash is the first 12 hex digits of a hash, enough to tell
// snapshots apart at a glance.
func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
