package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/providers"
)

// probe is one (table, column) that the settings name, what it is for,
// and the table privileges the provider needs on it.
type probe struct {
	table, column, setting, privileges string
	boolean, unique                    bool // the column must be boolean / have a unique index of its own
}

// Test checks the settings against the database's catalog: every table and
// column they name exists, the synthetic column is boolean, the owner
// column has a unique index of its own, and the provider's role may read
// and write every table. It names what is missing (ErrProtocol), or
// returns ErrUnavailable when the database cannot be reached.
func (a *App) Test(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.s.statementTimeout)
	defer cancel()
	probes := a.probes()
	tables, columns, privileges := make([]string, len(probes)), make([]string, len(probes)), make([]string, len(probes))
	for i, p := range probes {
		tables[i], columns[i], privileges[i] = p.table, p.column, p.privileges
	}
	rows, _ := a.pool.Query(ctx, testSQL, tables, columns, privileges)
	var problems []string
	i := 0
	var tableExists, columnExists, unique, allowed bool
	var typ string
	_, err := pgx.ForEachRow(rows, []any{&tableExists, &columnExists, &typ, &unique, &allowed}, func() error {
		p := probes[i]
		i++
		problems = append(problems, p.problems(tableExists, columnExists, typ, unique, allowed)...)
		return nil
	})
	if err != nil {
		return a.fail("testing the configuration", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("testing the configuration of %s: %w: %s", a.name, providers.ErrProtocol, strings.Join(dedupe(problems), "; "))
	}
	return nil
}

func (a *App) probes() []probe {
	users := a.sql.qualified[0]
	ps := []probe{
		{table: users, column: a.s.KeyColumn, setting: "key_column", privileges: "SELECT,INSERT,UPDATE,DELETE"},
		{table: users, column: a.s.SyntheticColumn, setting: "synthetic_column", boolean: true},
	}
	if a.s.OwnerColumn != "" {
		ps = append(ps, probe{table: users, column: a.s.OwnerColumn, setting: "owner_column", unique: true})
	}
	for _, field := range a.s.fields {
		ps = append(ps, probe{table: users, column: a.s.Columns[field], setting: "columns." + field})
	}
	for i, t := range a.s.Tables {
		ps = append(ps, probe{table: a.sql.qualified[i+1], column: t.UserColumn,
			setting: fmt.Sprintf("tables[%d].user_column", i), privileges: "SELECT,INSERT,DELETE"})
	}
	return ps
}

func (p probe) problems(tableExists, columnExists bool, typ string, unique, allowed bool) []string {
	var out []string
	switch {
	case !tableExists:
		return []string{fmt.Sprintf("table %s does not exist", p.table)}
	case !columnExists:
		out = append(out, fmt.Sprintf("column %q of table %s (settings.%s) does not exist", p.column, p.table, p.setting))
	case p.boolean && typ != "boolean":
		out = append(out, fmt.Sprintf("column %q of table %s (settings.%s) is %s, not boolean", p.column, p.table, p.setting, typ))
	case p.unique && !unique:
		out = append(out, fmt.Sprintf("column %q of table %s (settings.%s) has no unique index of its own, which provisioning needs", p.column, p.table, p.setting))
	}
	if p.privileges != "" && !allowed {
		out = append(out, fmt.Sprintf("the connection's role lacks one of %s on table %s", p.privileges, p.table))
	}
	return out
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
