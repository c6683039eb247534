package postgres_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/providertest"
)

// withTable returns chirp's settings with table i replaced by t.
func withTable(t *testing.T, i int, table map[string]any) string {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(chirpSettings), &m); err != nil {
		t.Fatal(err)
	}
	m["tables"].([]any)[i] = table
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// swapTables returns chirp's settings with tables i and j swapped.
func swapTables(t *testing.T, i, j int) string {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(chirpSettings), &m); err != nil {
		t.Fatal(err)
	}
	tables := m["tables"].([]any)
	tables[i], tables[j] = tables[j], tables[i]
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCheckConfig checks chirp's settings, and broken versions of them,
// against chirp's catalog: each broken setting is named exactly, with a
// sentence saying what is wrong, by CheckConfig and by Test.
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var checker providers.ConfigChecker = e.provider
	if err := checker.CheckConfig(t.Context()); err != nil {
		t.Fatalf("CheckConfig of chirp's settings: %v", err)
	}
	// A table of per-user rows whose user column has no foreign key, and
	// one without a primary key.
	for _, ddl := range []string{
		`CREATE TABLE drafts (id bigserial PRIMARY KEY, author_id bigint NOT NULL, body text NOT NULL)`,
		`CREATE TABLE visits (user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE, at timestamptz NOT NULL DEFAULT now())`,
	} {
		if _, err := e.pool.Exec(t.Context(), ddl); err != nil {
			t.Fatal(err)
		}
	}
	replace := func(from, to string) string {
		t.Helper()
		if !strings.Contains(chirpSettings, from) {
			t.Fatalf("chirp's settings do not contain %s", from)
		}
		return strings.Replace(chirpSettings, from, to, 1)
	}
	for _, tc := range []struct{ name, settings, field, detail string }{
		{"missing users table", replace(`"users_table": "users"`, `"users_table": "people"`),
			"settings.users_table", `table "people" does not exist in schema "public"`},
		{"missing key column", replace(`"key_column": "id"`, `"key_column": "user_id"`),
			"settings.key_column", `column "user_id" of table "users" does not exist`},
		{"key column not unique", replace(`"key_column": "id"`, `"key_column": "created_at"`),
			"settings.key_column", `column "created_at" of table "users" has no unique index of its own`},
		{"marker not boolean", replace(`"synthetic_column": "is_synthetic"`, `"synthetic_column": "created_at"`),
			"settings.synthetic_column", `column "created_at" of table "users" is timestamp with time zone, not boolean`},
		{"owner not unique", replace(`"owner_column": "understudy_account_id"`, `"owner_column": "created_at"`),
			"settings.owner_column", `column "created_at" of table "users" has no unique index of its own`},
		{"missing mapped column", replace(`"email": "email"`, `"email": "mail"`),
			"settings.columns.email", `column "mail" of table "users" does not exist`},
		{"missing table", replace(`{"table": "posts", "user_column": "user_id"}`, `{"table": "tweets", "user_column": "user_id"}`),
			"settings.tables[1].table", `table "tweets" does not exist in schema "public"`},
		{"missing user column", replace(`{"table": "posts", "user_column": "user_id"}`, `{"table": "posts", "user_column": "author_id"}`),
			"settings.tables[1].user_column", `column "author_id" of table "posts" does not exist`},
		{"user column that names a post", replace(`{"table": "likes", "user_column": "user_id"}`, `{"table": "likes", "user_column": "post_id"}`),
			"settings.tables[3].user_column", `column "post_id" of table "likes" has no foreign key to users(id); add one, or set unchecked_user_column if the app truly has none`},
		{"user column that names the followee", replace(`{"table": "follows", "user_column": "follower_id"}`, `{"table": "follows", "user_column": "created_at"}`),
			"settings.tables[2].user_column", `column "created_at" of table "follows" has no foreign key to users(id)`},
		{"user column without a foreign key", withTable(t, 6, map[string]any{"table": "drafts", "user_column": "author_id"}),
			"settings.tables[6].user_column", `column "author_id" of table "drafts" has no foreign key to users(id)`},
		{"child before its parent", swapTables(t, 1, 3),
			"settings.tables[1].table", `table "likes" references table "posts" (tables[3]) by a foreign key, so it must be listed after it`},
		{"table without a primary key", withTable(t, 6, map[string]any{"table": "visits", "user_column": "user_id"}),
			"settings.tables[6].table", `table "visits" has no primary key, by which a restore matches its rows; add one`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.newProvider(t, tc.settings)
			err := p.CheckConfig(t.Context())
			ce, ok := errors.AsType[*providers.ConfigError](err)
			if !ok || ce.Field != tc.field || !strings.Contains(ce.Detail, tc.detail) {
				t.Fatalf("CheckConfig: %v\nwant a *providers.ConfigError on %s saying %s", err, tc.field, tc.detail)
			}
			err = p.Test(t.Context())
			if ce, ok := errors.AsType[*providers.ConfigError](err); !ok || ce.Field != tc.field || !errors.Is(err, providers.ErrProtocol) {
				t.Errorf("Test: %v\nwant ErrProtocol and a *providers.ConfigError on %s", err, tc.field)
			}
		})
	}
	t.Run("override of the foreign key check", func(t *testing.T) {
		p := e.newProvider(t, withTable(t, 6, map[string]any{"table": "drafts", "user_column": "author_id", "unchecked_user_column": true}))
		if err := p.CheckConfig(t.Context()); err != nil {
			t.Errorf("CheckConfig with unchecked_user_column: %v, want nil", err)
		}
		if err := p.Test(t.Context()); err != nil {
			t.Errorf("Test with unchecked_user_column: %v, want nil", err)
		}
	})
}

// TestCheckConfigHonoursTheSchema puts the app in a schema of its own,
// beside a users table of the same name in public: a user column must
// reference the users table of the configured schema.
func TestCheckConfigHonoursTheSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, ddl := range []string{
		`CREATE SCHEMA app`,
		`CREATE TABLE app.users (id bigint PRIMARY KEY, is_synthetic boolean NOT NULL DEFAULT false, owner text UNIQUE)`,
		`CREATE TABLE app.notes (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES app.users, body text)`,
		`CREATE TABLE app.pins (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES public.users, body text)`,
	} {
		if _, err := e.pool.Exec(t.Context(), ddl); err != nil {
			t.Fatal(err)
		}
	}
	const base = `{"schema": "app", "users_table": "users", "key_column": "id", "synthetic_column": "is_synthetic", "owner_column": "owner", "tables": [%s]}`
	good := e.newProvider(t, strings.Replace(base, "%s", `{"table": "notes", "user_column": "user_id"}`, 1))
	if err := good.CheckConfig(t.Context()); err != nil {
		t.Errorf("CheckConfig of the app schema: %v", err)
	}
	bad := e.newProvider(t, strings.Replace(base, "%s", `{"table": "notes", "user_column": "user_id"}, {"table": "pins", "user_column": "user_id"}`, 1))
	err := bad.CheckConfig(t.Context())
	if ce, ok := errors.AsType[*providers.ConfigError](err); !ok || ce.Field != "settings.tables[1].user_column" || !strings.Contains(ce.Detail, `column "user_id" of table "pins" has no foreign key to users(id)`) {
		t.Errorf("CheckConfig of a table that references public.users: %v, want a *providers.ConfigError on settings.tables[1].user_column", err)
	}
}

// TestRestoreRefusesAnUncheckedUserColumn configures likes by post_id,
// which names a post and not a user, and never calls CheckConfig: the
// restore must still refuse, before it deletes a real user's like of the
// post whose id is the synthetic user's.
func TestRestoreRefusesAnUncheckedUserColumn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.newProvider(t, strings.Replace(chirpSettings, `{"table": "likes", "user_column": "user_id"}`, `{"table": "likes", "user_column": "post_id"}`, 1))
	acct := providertest.NewAccount(t)
	provisioned, err := p.Provision(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	ref := provisioned.Ref
	target := providers.Target{Ref: ref, AccountID: acct.ID}
	real := e.createUser(t, false)
	// A real user's post whose id is the synthetic user's, liked by its
	// author.
	if _, err := e.pool.Exec(t.Context(), `INSERT INTO posts (id, user_id, body) VALUES ($1, $2, 'hello')`, refID(t, ref), real.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.chirp.Like(t.Context(), real.ID, refID(t, ref)); err != nil {
		t.Fatal(err)
	}
	before := e.fingerprint(t, strconv.FormatInt(real.ID, 10))
	state := `{"user": {"id": ` + ref + `}, "tables": {"likes": []}}`
	err = p.Restore(t.Context(), target, json.RawMessage(state))
	if ce, ok := errors.AsType[*providers.ConfigError](err); !ok || ce.Field != "settings.tables[3].user_column" || !errors.Is(err, providers.ErrProtocol) {
		t.Errorf("Restore with likes.post_id as the user column: %v, want ErrProtocol and a *providers.ConfigError on settings.tables[3].user_column", err)
	}
	err = p.Deprovision(t.Context(), target)
	if ce, ok := errors.AsType[*providers.ConfigError](err); !ok || ce.Field != "settings.tables[3].user_column" {
		t.Errorf("Deprovision with likes.post_id as the user column: %v, want a *providers.ConfigError on settings.tables[3].user_column", err)
	}
	if after := e.fingerprint(t, strconv.FormatInt(real.ID, 10)); after != before {
		t.Errorf("the real user's rows changed:\nbefore: %s\nafter:  %s", before, after)
	}
}

// TestRestoreWithUncheckedUserColumn drives a table with no foreign key,
// declared so with unchecked_user_column: it is restored like the others.
func TestRestoreWithUncheckedUserColumn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.pool.Exec(t.Context(), `CREATE TABLE drafts (id bigserial PRIMARY KEY, author_id bigint NOT NULL, body text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	p := e.newProvider(t, withTable(t, 6, map[string]any{"table": "drafts", "user_column": "author_id", "unchecked_user_column": true}))
	acct := providertest.NewAccount(t)
	provisioned, err := p.Provision(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	ref := provisioned.Ref
	target := providers.Target{Ref: ref, AccountID: acct.ID}
	if _, err := e.pool.Exec(t.Context(), `INSERT INTO drafts (author_id, body) VALUES ($1, 'kept')`, refID(t, ref)); err != nil {
		t.Fatal(err)
	}
	s, err := p.Snapshot(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(t.Context(), `UPDATE drafts SET body = 'changed'`); err != nil {
		t.Fatal(err)
	}
	if err := p.Restore(t.Context(), target, s); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	var body string
	if err := e.pool.QueryRow(t.Context(), `SELECT body FROM drafts WHERE author_id = $1`, refID(t, ref)).Scan(&body); err != nil || body != "kept" {
		t.Errorf("after the restore the draft says %q (%v), want %q", body, err, "kept")
	}
}
