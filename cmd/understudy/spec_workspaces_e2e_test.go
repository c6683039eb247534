package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/spec"
)

// exampleAddresses are the objects the example spec makes, as the JSON
// plan names them, in the order workspaces show lists them.
var exampleAddresses = []string{
	"understudy_environment.production",
	"understudy_environment.staging",
	"understudy_role.buyer",
	"understudy_role.seller",
	`understudy_role.staging["buyer"]`,
	`understudy_role.staging["seller"]`,
}

// addressesShown returns what workspaces show prints after its table's
// blank line: one address a line.
func addressesShown(t *testing.T, out string) []string {
	t.Helper()
	_, list, ok := strings.Cut(out, "\n\n")
	if !ok {
		t.Fatalf("no blank line after the workspace's table:\n%s", out)
	}
	return strings.Split(strings.TrimSuffix(list, "\n"), "\n")
}

// workspaces show lists what the workspace manages as terraform state
// list does; workspaces forget stops managing objects (terraform state
// rm), leaves them on the server, makes a saved plan stale, and is
// audited.
func TestWorkspacesShowListsAndForgetStopsManaging(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	mustOK(t, s.cli(t, s.Admin, "apply", "-auto-approve", exampleSpec))
	r := mustOK(t, s.cli(t, s.Admin, "workspaces", "show", "default"))
	if got := addressesShown(t, r.Stdout); !slices.Equal(got, exampleAddresses) {
		t.Fatalf("workspaces show lists %q, want %q", got, exampleAddresses)
	}
	if rs := rows(t, strings.SplitN(r.Stdout, "\n\n", 2)[0]); len(rs) != 1 || rs[0][0] != "default" || rs[0][2] != "6" {
		t.Fatalf("the workspace's row: %q", rs)
	}
	var ws spec.Workspace
	r = mustOK(t, s.cli(t, s.Admin, "workspaces", "show", "-json", "default"))
	if err := json.Unmarshal([]byte(r.Stdout), &ws); err != nil || len(ws.Managed) != 6 ||
		ws.Managed[2].Address != "understudy_role.buyer" || ws.Managed[2].SpecAddress != "role.buyer" || ws.Managed[2].ID != "production/buyer" {
		t.Fatalf("workspaces show -json: %v\n%s", err, r.Stdout)
	}
	serial := ws.Serial

	saved := filepath.Join(t.TempDir(), "tfplan")
	mustOK(t, s.cli(t, s.Admin, "plan", "-out", saved, exampleSpec))

	// An unknown address is refused by name, and nothing is forgotten.
	r = s.cli(t, s.Admin, "workspaces", "forget", "default", "understudy_role.buyer", "understudy_role.nobody")
	if r.Code == 0 || !strings.Contains(r.Stderr, "understudy_role.nobody") || strings.Contains(r.Stderr, "understudy_role.buyer,") ||
		strings.Count(r.Stderr, "manages no object") != 1 || !strings.Contains(r.Stderr, "`understudy workspaces show default` lists them") {
		t.Fatalf("forget of an unknown address: %d\n%s", r.Code, r.Stderr)
	}
	// Both spellings of an address, and a resource without its key for
	// every instance.
	r = mustOK(t, s.cli(t, s.Admin, "workspaces", "forget", "default", "role.buyer", "understudy_role.staging"))
	want := "Removed understudy_role.buyer\nRemoved understudy_role.staging[\"buyer\"]\nRemoved understudy_role.staging[\"seller\"]\nSuccessfully removed 3 resource instance(s).\n"
	if r.Stdout != want {
		t.Fatalf("forget printed:\n%s\nwant:\n%s", r.Stdout, want)
	}
	r = mustOK(t, s.cli(t, s.Admin, "workspaces", "show", "default"))
	if got := addressesShown(t, r.Stdout); !slices.Equal(got, []string{exampleAddresses[0], exampleAddresses[1], exampleAddresses[3]}) {
		t.Fatalf("after forget, workspaces show lists %q", got)
	}
	after := decode[spec.Workspace](t, s, "workspaces", "show", "default")
	if after.Serial != serial+1 || after.Objects != 3 {
		t.Fatalf("after forget: serial %d (was %d), %d objects", after.Serial, serial, after.Objects)
	}
	// The objects stay on the server; a plan made before is stale.
	if rs := rows(t, mustOK(t, s.cli(t, s.Admin, "roles", "list", "production")).Stdout); len(rs) != 2 {
		t.Fatalf("roles of production after forget: %q", rs)
	}
	if r = s.cli(t, s.Admin, "apply", saved); r.Code != 1 || !strings.Contains(r.Stderr, "stale") {
		t.Fatalf("apply of a plan made before forget: %d\n%s", r.Code, r.Stderr)
	}
	events := decode[openapi.AuditEventList](t, s, "audit", "list", "--action", "workspace.forget", "--target-id", "default")
	if len(events.Items) != 3 {
		t.Fatalf("%d workspace.forget events, want 3", len(events.Items))
	}
}

// A forget takes the workspace as an apply does: a lock by hand refuses
// it, naming the holder's reason.
func TestWorkspacesForgetIsRefusedWhileTheWorkspaceIsLocked(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	mustOK(t, s.cli(t, s.Admin, "apply", "-auto-approve", exampleSpec))
	mustOK(t, s.cli(t, s.Admin, "workspaces", "lock", "default", "--reason", "release freeze"))
	r := s.cli(t, s.Admin, "workspaces", "forget", "default", "understudy_role.buyer")
	if r.Code == 0 || !strings.Contains(r.Stderr, "release freeze") {
		t.Fatalf("forget under a lock: %d\n%s", r.Code, r.Stderr)
	}
	mustOK(t, s.cli(t, s.Admin, "workspaces", "force-unlock", "default"))
	if got := decode[spec.Workspace](t, s, "workspaces", "show", "default"); got.Objects != 6 {
		t.Fatalf("a refused forget forgot: %d objects", got.Objects)
	}
	if r := s.cli(t, s.Admin, "workspaces", "forget", "nowhere", "understudy_role.buyer"); r.Code == 0 || !strings.Contains(r.Stderr, "nowhere does not exist") {
		t.Fatalf("forget in an unknown workspace: %d\n%s", r.Code, r.Stderr)
	}
	if r := s.cli(t, s.Admin, "workspaces", "forget", "default"); r.Code != exitUsage || !strings.Contains(r.Stderr, "ADDRESS") {
		t.Fatalf("forget without an address: %d\n%s", r.Code, r.Stderr)
	}
}

// Without NAME, workspaces show and forget work on the current workspace,
// UNDERSTUDY_WORKSPACE or default, as terraform state list and state rm
// do: an address always has a ".", a workspace name never has one.
func TestWorkspacesShowAndForgetTakeTheCurrentWorkspace(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	team := map[string]string{"UNDERSTUDY_WORKSPACE": "team-a"}
	mustOK(t, s.cliEnv(t, team, s.Admin, "apply", "-auto-approve", exampleSpec))
	r := mustOK(t, s.cliEnv(t, team, s.Admin, "workspaces", "show"))
	if got := addressesShown(t, r.Stdout); !slices.Equal(got, exampleAddresses) || !strings.HasPrefix(rows(t, r.Stdout)[0][0], "team-a") {
		t.Fatalf("workspaces show in team-a:\n%s", r.Stdout)
	}
	if r := s.cli(t, s.Admin, "workspaces", "show"); r.Code == 0 || !strings.Contains(r.Stderr, "default") {
		t.Fatalf("workspaces show without UNDERSTUDY_WORKSPACE is not the default workspace's: %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = mustOK(t, s.cliEnv(t, team, s.Admin, "workspaces", "forget", "understudy_role.buyer", "role.seller"))
	if r.Stdout != "Removed understudy_role.buyer\nRemoved understudy_role.seller\nSuccessfully removed 2 resource instance(s).\n" {
		t.Fatalf("forget in the current workspace printed:\n%s", r.Stdout)
	}
	if got := decode[spec.Workspace](t, s, "workspaces", "show", "team-a"); got.Objects != 4 {
		t.Fatalf("after forget in the current workspace, team-a manages %d objects", got.Objects)
	}
	if r := s.cliEnv(t, team, s.Admin, "workspaces", "forget", "team-a"); r.Code != exitUsage || !strings.Contains(r.Stderr, "ADDRESS") {
		t.Fatalf("forget of a workspace without an address: %d\n%s", r.Code, r.Stderr)
	}
}
