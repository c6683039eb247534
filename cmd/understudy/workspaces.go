package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/spec"
)

func (a *app) workspacesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "workspaces", Short: "List, show, lock and force-unlock the workspaces of declarative specs"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List the workspaces", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListWorkspacesWithResponse(cmd.Context())
			if err := check(resp, err); err != nil {
				return err
			}
			var list struct {
				Items []spec.Workspace `json:"items"`
			}
			if err := json.Unmarshal(resp.Body, &list); err != nil {
				return err
			}
			return a.show(resp.Body, func(w io.Writer) {
				row(w, "NAME", "SERIAL", "OBJECTS", "LAST APPLIED", "LOCK")
				for _, ws := range list.Items {
					workspaceRow(w, ws)
				}
			})
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use: "show NAME", Short: "Show a workspace and who holds its lock", Args: args("NAME"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.GetWorkspaceWithResponse(cmd.Context(), argv[0])
			return a.showWorkspace(resp.Body, check(resp, err))
		},
	})
	cmd.AddCommand(a.lockWorkspaceCommand(), a.forceUnlockCommand())
	return cmd
}

func (a *app) lockWorkspaceCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use: "lock NAME --reason TEXT", Short: "Lock a workspace so that no apply runs until force-unlock", Args: args("NAME"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if reason == "" {
				return usageErrorf("--reason is required: say why, for whoever finds the workspace locked")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			body, _ := json.Marshal(map[string]string{"reason": reason})
			resp, err := c.LockWorkspaceWithBodyWithResponse(cmd.Context(), argv[0], "application/json", bytes.NewReader(body))
			return a.showWorkspace(resp.Body, check(resp, err))
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the workspace is locked (required)")
	return cmd
}

func (a *app) forceUnlockCommand() *cobra.Command {
	return &cobra.Command{
		Use: "force-unlock NAME", Short: "Remove a workspace's lock taken by hand or left by a server that died (an apply in progress cannot be unlocked)", Args: args("NAME"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.UnlockWorkspaceWithResponse(cmd.Context(), argv[0])
			return a.showWorkspace(resp.Body, check(resp, err))
		},
	}
}

func (a *app) showWorkspace(body []byte, err error) error {
	if err != nil {
		return err
	}
	var ws spec.Workspace
	if err := json.Unmarshal(body, &ws); err != nil {
		return err
	}
	return a.show(body, func(w io.Writer) {
		row(w, "NAME", "SERIAL", "OBJECTS", "LAST APPLIED", "LOCK")
		workspaceRow(w, ws)
	})
}

func workspaceRow(w io.Writer, ws spec.Workspace) {
	last, lock := "never", "-"
	if ws.LastAppliedAt != nil {
		last = ws.LastAppliedAt.UTC().Format(time.RFC3339)
	}
	if ws.Lock != nil {
		lock = fmt.Sprintf("%s since %s (%s)", ws.Lock.Holder, ws.Lock.Since.UTC().Format(time.RFC3339), ws.Lock.Reason)
	}
	row(w, ws.Name, ws.Serial, ws.Objects, last, lock)
}
