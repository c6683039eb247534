package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/spec"
)

func (a *cli) workspacesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "workspaces", Short: "List, show, lock, force-unlock the workspaces of declarative specs, and forget objects"}
	cmd.AddCommand(&cobra.Command{
		Use: "list", Short: "List the workspaces", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListWorkspacesWithResponse(cmd.Context())
			return showReply(a, resp, err, func(w io.Writer, list workspaceList) { workspaceTable(w, list.Items...) })
		},
	})
	cmd.AddCommand(a.showWorkspaceCommand(), a.forgetCommand(), a.lockWorkspaceCommand(), a.forceUnlockCommand())
	return cmd
}

func (a *cli) showWorkspaceCommand() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "show [NAME]",
		Short: "Show a workspace, who holds its lock, and the addresses of the objects it manages (terraform state list)",
		Long: `Show workspace NAME (without it, the current one: UNDERSTUDY_WORKSPACE, or "default", as plan
and apply take it): its serial, when it was last applied and who holds its lock, then, after a
blank line, the address of each object it manages, one a line, as terraform state list prints them
(understudy_role.buyer). -json (or -o json) prints the workspace as the server answers it.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if jsonOut {
				a.output = "json"
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.GetWorkspaceWithResponse(cmd.Context(), a.workspaceArg(argv))
			return a.showManaged(resp, err)
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the workspace as JSON (as -o json)")
	return cmd
}

func (a *cli) forgetCommand() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "forget [NAME] ADDRESS...",
		Short: "Stop managing objects and leave them on the server (terraform state rm)",
		Long: `Stop workspace NAME managing the objects at the addresses given, and leave them on the server,
as terraform state rm does: a later plan of the spec no longer deletes them. Without NAME, the
workspace is the current one (UNDERSTUDY_WORKSPACE, or "default"); this is never ambiguous, as
every address has a "." (TYPE.NAME) and a workspace name never has one. An address is one of
the JSON plan (understudy_role.buyer) or of the spec (role.buyer); one without an instance key names
every instance of its resource. The workspace is taken as an apply takes it, and its serial moves
on, so a plan saved before is refused as stale. An address the workspace manages nothing at is an
error naming it, and nothing is forgotten.`,
		Args: func(_ *cobra.Command, got []string) error {
			if len(got) == 0 || len(got) == 1 && !isAddress(got[0]) {
				return usageErrorf("expected [NAME] and at least one <ADDRESS> (TYPE.NAME), got %d argument(s)", len(got))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, argv []string) error {
			if jsonOut {
				a.output = "json"
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			workspace, addrs := a.currentWorkspace(), argv
			if !isAddress(argv[0]) {
				workspace, addrs = argv[0], argv[1:]
			}
			resp, err := c.ForgetObjectsWithResponse(cmd.Context(), workspace, openapi.ForgetRequest{Addresses: addrs})
			return showReply(a, resp, err, func(w io.Writer, out spec.Forgotten) {
				for _, m := range out.Forgotten {
					fmt.Fprintf(w, "Removed %s\n", m.Address)
				}
				fmt.Fprintf(w, "Successfully removed %d resource instance(s).\n", len(out.Forgotten))
			})
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print what was forgotten as JSON (as -o json)")
	return cmd
}

// currentWorkspace is the workspace a command without one works on, as
// plan and apply without -workspace: UNDERSTUDY_WORKSPACE, or "default".
func (a *cli) currentWorkspace() string {
	return firstNonEmpty(a.getenv("UNDERSTUDY_WORKSPACE"), spec.DefaultWorkspace)
}

// workspaceArg is the optional NAME argument, the current workspace when
// it is absent.
func (a *cli) workspaceArg(argv []string) string {
	if len(argv) == 0 {
		return a.currentWorkspace()
	}
	return argv[0]
}

// isAddress reports whether arg of forget is an address rather than a
// workspace name: every address has a ".", no workspace name has one.
func isAddress(arg string) bool { return strings.Contains(arg, ".") }

func (a *cli) lockWorkspaceCommand() *cobra.Command {
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
			return showReply(a, resp, err, func(w io.Writer, ws spec.Workspace) { workspaceTable(w, ws) })
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the workspace is locked (required)")
	return cmd
}

func (a *cli) forceUnlockCommand() *cobra.Command {
	return &cobra.Command{
		Use: "force-unlock NAME", Short: "Remove a workspace's lock taken by hand or left by a server that died (an apply in progress cannot be unlocked)", Args: args("NAME"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.UnlockWorkspaceWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, func(w io.Writer, ws spec.Workspace) { workspaceTable(w, ws) })
		},
	}
}

// workspaceList is the answer of GET /v1/workspaces, read as the domain's
// workspaces.
type workspaceList struct {
	Items []spec.Workspace `json:"items"`
}

// showManaged prints the workspace resp answers, then the addresses of the
// objects it manages.
func (a *cli) showManaged(resp *openapi.GetWorkspaceResponse, err error) error {
	var managed []spec.ManagedObject
	err = showReply(a, resp, err, func(w io.Writer, ws spec.Workspace) {
		workspaceTable(w, ws)
		managed = ws.Managed
	})
	if err != nil || len(managed) == 0 {
		return err // with -o json the table, and so the addresses, are not printed
	}
	// The addresses follow the table, one a line, as terraform state list
	// prints them, so that a script may take what follows the blank line.
	var b strings.Builder
	b.WriteString("\n")
	for _, m := range managed {
		b.WriteString(m.Address + "\n")
	}
	_, err = io.WriteString(a.stdout, b.String())
	return err
}

// workspaceTable writes the table of workspaces list.
func workspaceTable(w io.Writer, list ...spec.Workspace) {
	row(w, "NAME", "SERIAL", "OBJECTS", "LAST APPLIED", "LOCK")
	for _, ws := range list {
		workspaceRow(w, ws)
	}
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
