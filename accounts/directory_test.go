package accounts_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/accounts"
)

// TestDirectoriesShowWhatTheyPromise reads each of the views other
// packages join (accounts.EnvironmentDirectory, RoleDirectory,
// AccountDirectory) by the columns their doc comments promise, and checks
// the values against the environment, role and account made here.
func TestDirectoriesShowWhatTheyPromise(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	e := f.env(t, "production")
	r, err := f.svc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{
		IsolationPolicy: map[string]accounts.Visibility{"leaderboards": accounts.TestersOnly}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.ListAccounts(f.ctx, accounts.AccountFilter{Environment: "production", Role: "buyer"})
	if err != nil || len(list) != 1 {
		t.Fatalf("accounts: %v %d", err, len(list))
	}
	a := list[0]

	var name string
	var domains, surfaces []string
	if err := f.db.QueryRow(f.ctx, `SELECT name, email_domains, custom_surfaces FROM `+accounts.EnvironmentDirectory+` WHERE id = $1`, e.ID).
		Scan(&name, &domains, &surfaces); err != nil {
		t.Fatal(err)
	}
	if name != "production" || len(domains) != 1 || domains[0] != "qa.example.test" || len(surfaces) != 0 {
		t.Errorf("environment_directory = %q %q %q", name, domains, surfaces)
	}

	var role, envID, env string
	var deleted *string
	if err := f.db.QueryRow(f.ctx, `SELECT name, environment_id::text, environment, deleted_at::text FROM `+accounts.RoleDirectory+` WHERE id = $1`, r.ID).
		Scan(&role, &envID, &env, &deleted); err != nil {
		t.Fatal(err)
	}
	if role != "buyer" || envID != e.ID || env != "production" || deleted != nil {
		t.Errorf("role_directory = %q %q %q %v", role, envID, env, deleted)
	}

	var accEnv, accRole, status, email, username, roleName string
	var policy json.RawMessage
	if err := f.db.QueryRow(f.ctx, `SELECT environment_id::text, role_id::text, status, email, username, role, isolation_policy
FROM `+accounts.AccountDirectory+` WHERE id = $1 AND created_at IS NOT NULL`, a.ID).
		Scan(&accEnv, &accRole, &status, &email, &username, &roleName, &policy); err != nil {
		t.Fatal(err)
	}
	if accEnv != e.ID || accRole != r.ID || status != string(accounts.StatusReady) || email != a.Identity.Email ||
		username != a.Identity.Username || roleName != "buyer" || string(policy) != `{"leaderboards": "testers_only"}` {
		t.Errorf("account_directory = %q %q %q %q %q %q %s", accEnv, accRole, status, email, username, roleName, policy)
	}
}

// TestAccountDirectoryCostsNoJoinWhenItsRoleIsUnused holds the views to
// their promise that a reader pays only for what it reads: a read of
// account_directory that uses none of the role's columns is planned
// without roles, as a read of accounts alone would be.
func TestAccountDirectoryCostsNoJoinWhenItsRoleIsUnused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOptions{})
	plan := func(sql string) string {
		rows, err := f.db.Query(f.ctx, "EXPLAIN (COSTS OFF) "+sql)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, l)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	id := "00000000-0000-0000-0000-000000000001"
	if p := plan(`SELECT environment_id, role_id, created_at FROM ` + accounts.AccountDirectory + ` WHERE id = '` + id + `'`); strings.Contains(p, "roles") {
		t.Errorf("a read without the role's columns joins roles:\n%s", p)
	}
	if p := plan(`SELECT role, isolation_policy FROM ` + accounts.AccountDirectory + ` WHERE id = '` + id + `'`); !strings.Contains(p, "roles") {
		t.Errorf("a read of the role's columns does not join roles:\n%s", p)
	}
}
