package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) rolesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "roles", Aliases: []string{"role"}, Short: "Manage roles and the size of their account pools"}
	var createFlags, updateFlags roleFlags
	create := &cobra.Command{
		Use: "create ENV NAME [flags]", Short: "Create a role and fill its pool with accounts", Args: args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			ch, err := createFlags.change(cmd)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.CreateRoleWithResponse(cmd.Context(), argv[0], openapi.RoleCreate{Name: argv[1],
				Description: ch.Description, PoolSize: ch.PoolSize, Attributes: ch.Attributes, IsolationPolicy: ch.IsolationPolicy, QuarantineOnViolation: ch.QuarantineOnViolation,
				CodePattern: ch.CodePattern, LinkPattern: ch.LinkPattern})
			return showReply(a, resp, err, func(w io.Writer, x openapi.Role) { roleTable(w, x) })
		},
	}
	createFlags.register(create, "accounts to keep in the pool, 1-100 (default 1)")

	update := &cobra.Command{
		Use:   "update ENV NAME [flags]",
		Short: "Change a role; only the flags given are changed, and the pool grows or shrinks to --pool",
		Args:  args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			ch, err := updateFlags.change(cmd)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.UpdateRoleWithResponse(cmd.Context(), argv[0], argv[1], ch)
			return showReply(a, resp, err, func(w io.Writer, x openapi.Role) { roleTable(w, x) })
		},
	}
	updateFlags.register(update, "accounts to keep in the pool, 1-100; a smaller pool retires the accounts past it")

	cmd.AddCommand(create, update, a.roleListCommand(), a.roleGetCommand(), a.roleDeleteCommand())
	return cmd
}

func (a *cli) roleListCommand() *cobra.Command {
	return &cobra.Command{
		Use: "list ENV", Short: "List an environment's roles", Args: args("env"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListRolesWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, func(w io.Writer, l openapi.RoleList) { roleTable(w, l.Items...) })
		},
	}
}

func (a *cli) roleGetCommand() *cobra.Command {
	return &cobra.Command{
		Use: "get ENV NAME", Short: "Show a role with its attributes and isolation policy", Args: args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.GetRoleWithResponse(cmd.Context(), argv[0], argv[1])
			return showReply(a, resp, err, func(w io.Writer, r openapi.Role) {
				roleTable(w, r)
				fmt.Fprintln(w) // a line without cells ends the table's column block
				row(w, "ATTRIBUTES", joinPairs(r.Attributes))
				row(w, "ISOLATION", joinPairs(r.IsolationPolicy))
				row(w, "QUARANTINE ON VIOLATION", r.QuarantineOnViolation)
				row(w, "CODE PATTERN", orDash(deref(r.CodePattern)))
				row(w, "LINK PATTERN", orDash(deref(r.LinkPattern)))
			})
		},
	}
}

func (a *cli) roleDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use: "delete ENV NAME", Short: "Delete a role and retire its accounts (their history is kept)", Args: args("env", "name"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.DeleteRoleWithResponse(cmd.Context(), argv[0], argv[1])
			if err := check(resp, err); err != nil {
				return err
			}
			return a.done("deleted role " + argv[1] + " of environment " + argv[0])
		},
	}
}

// roleFlags are the flags roles create and roles update share. Only the
// flags given on the command line are sent, so an update keeps the rest.
type roleFlags struct {
	pool        int
	description string
	attributes  []string
	isolation   []string
	quarantine  bool
	code, link  string
}

func (f *roleFlags) register(cmd *cobra.Command, poolUsage string) {
	cmd.Flags().IntVar(&f.pool, "pool", 0, poolUsage)
	cmd.Flags().StringVar(&f.description, "description", "", "what the role is for")
	cmd.Flags().BoolVar(&f.quarantine, "quarantine-on-violation", true, "refuse new leases of an account with an open isolation violation on a hidden surface")
	// StringArray, not StringSlice: an attribute's value may hold a comma.
	cmd.Flags().StringArrayVar(&f.attributes, "attribute", nil,
		"attribute key=value passed to apps (repeat; replaces all attributes; --attribute= clears them)")
	cmd.Flags().StringSliceVar(&f.isolation, "isolation", nil,
		"surface=hidden|testers_only|allowed (repeat or comma-separate; replaces the policy; --isolation= clears it)")
	cmd.Flags().StringVar(&f.code, "code-pattern", "", "RE2 pattern of the role's one-time codes in its mail, its one capture group the code (--code-pattern= removes it)")
	cmd.Flags().StringVar(&f.link, "link-pattern", "", "RE2 pattern of the links of the role's mail to rank first (--link-pattern= removes it)")
}

// change returns the body for the flags that were set. A malformed
// key=value is a usage error.
func (f *roleFlags) change(cmd *cobra.Command) (openapi.RoleUpdate, error) {
	var ch openapi.RoleUpdate
	flags := cmd.Flags()
	if flags.Changed("pool") {
		ch.PoolSize = new(f.pool)
	}
	if flags.Changed("description") {
		ch.Description = new(f.description)
	}
	if flags.Changed("quarantine-on-violation") {
		ch.QuarantineOnViolation = new(f.quarantine)
	}
	if flags.Changed("code-pattern") {
		ch.CodePattern = new(f.code)
	}
	if flags.Changed("link-pattern") {
		ch.LinkPattern = new(f.link)
	}
	if flags.Changed("attribute") {
		m, err := parsePairs("attribute", f.attributes)
		if err != nil {
			return ch, err
		}
		ch.Attributes = new(openapi.Attributes(m))
	}
	if flags.Changed("isolation") {
		m, err := parsePairs("isolation", f.isolation)
		if err != nil {
			return ch, err
		}
		policy := make(openapi.IsolationPolicy, len(m))
		for surface, v := range m {
			policy[surface] = openapi.Visibility(v) // the server names a bad visibility
		}
		ch.IsolationPolicy = &policy
	}
	return ch, nil
}

// parsePairs reads key=value flag values into a map. An empty value adds
// nothing, so --flag= stands for the empty map.
func parsePairs(flag string, vals []string) (map[string]string, error) {
	m := make(map[string]string, len(vals))
	for _, v := range vals {
		if v == "" {
			continue
		}
		key, val, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(key) == "" {
			return nil, usageErrorf("--%s %q: want key=value", flag, v)
		}
		m[key] = val
	}
	return m, nil
}

func roleTable(w io.Writer, list ...openapi.Role) {
	row(w, "ENVIRONMENT", "NAME", "POOL", "DESCRIPTION")
	for _, r := range list {
		row(w, r.Environment, r.Name, strconv.Itoa(r.PoolSize), r.Description)
	}
}

// joinPairs renders a map as k=v, sorted by key, or "-" when empty.
func joinPairs[V ~string, M ~map[string]V](m M) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+string(m[k]))
	}
	return strings.Join(parts, ", ")
}
