package postgres_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/postgres"
	"github.com/understudy-dev/understudy/providers/providertest"
	"github.com/understudy-dev/understudy/tracing"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	providertest.Run(t, func(t *testing.T) providertest.Harness { return newEnv(t).harness() })
}

func TestProvisionWritesTheMappedColumns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := providertest.NewAccount(t)
	provisioned, err := e.provider.Provision(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	ref := provisioned.Ref
	u, err := e.chirp.GetUser(t.Context(), refID(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != acct.Username || u.Email != acct.Email || u.DisplayName != acct.DisplayName ||
		!u.IsSynthetic || u.UnderstudyAccountID != acct.ID {
		t.Errorf("chirp's user = %+v, want the account's username, email, display name, synthetic, owned by %s", u, acct.ID)
	}
}

func TestProvisionRefusedWhenEmailTaken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	real := e.createUser(t, false)
	acct := providertest.NewAccount(t)
	acct.Email = real.Email
	_, err := e.provider.Provision(t.Context(), acct)
	if !errors.Is(err, providers.ErrRefused) {
		t.Errorf("Provision with a real user's email: %v, want ErrRefused", err)
	}
}

// TestSnapshotShape pins the document: the whole users row, then the
// tables in settings order.
func TestSnapshotShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := providertest.NewAccount(t)
	target := providers.Target{Ref: provision(t, e, acct), AccountID: acct.ID}
	e.mutate(t, target.Ref)
	s, err := e.provider.Snapshot(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		User   map[string]any               `json:"user"`
		Tables map[string][]json.RawMessage `json:"tables"`
	}
	if err := json.Unmarshal(s, &doc); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	if doc.User["email"] != acct.Email || doc.User["is_synthetic"] != true || doc.User["understudy_account_id"] != acct.ID {
		t.Errorf("user = %v, want the whole row of the account", doc.User)
	}
	want := []string{"profiles", "posts", "follows", "likes", "scores", "notifications", "cart_items"}
	last := -1
	for _, name := range want {
		i := bytes.Index(s, []byte(`"`+name+`"`))
		if i < last {
			t.Errorf("table %s is out of settings order in %s", name, s)
		}
		last = i
	}
	for name, wantRows := range map[string]int{"profiles": 0, "posts": 1, "follows": 1, "likes": 1, "scores": 1, "notifications": 1, "cart_items": 1} {
		if got := len(doc.Tables[name]); got != wantRows {
			t.Errorf("%s has %d rows, want %d", name, got, wantRows)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	valid := map[string]any{}
	if err := json.Unmarshal([]byte(chirpSettings), &valid); err != nil {
		t.Fatal(err)
	}
	with := func(change func(map[string]any)) string {
		m := map[string]any{}
		b, _ := json.Marshal(valid)
		_ = json.Unmarshal(b, &m)
		change(m)
		out, _ := json.Marshal(m)
		return string(out)
	}
	dsn := "postgres://user:hunter2@127.0.0.1:1/chirp"
	for _, tc := range []struct {
		name, settings, dsn, field string
	}{
		{"missing users_table", with(func(m map[string]any) { delete(m, "users_table") }), dsn, "settings.users_table"},
		{"missing key_column", with(func(m map[string]any) { delete(m, "key_column") }), dsn, "settings.key_column"},
		{"missing synthetic_column", with(func(m map[string]any) { delete(m, "synthetic_column") }), dsn, "settings.synthetic_column"},
		{"unknown field", with(func(m map[string]any) { m["bogus"] = 1 }), dsn, "settings.bogus"},
		{"wrong type", with(func(m map[string]any) { m["users_table"] = 7 }), dsn, "settings.users_table"},
		{"unknown account field", with(func(m map[string]any) { m["columns"] = map[string]string{"shoe_size": "x"} }), dsn, "settings.columns.shoe_size"},
		{"column written twice", with(func(m map[string]any) { m["columns"] = map[string]string{"email": "is_synthetic"} }), dsn, "settings.columns.email"},
		{"owner is the key", with(func(m map[string]any) { m["owner_column"] = "id" }), dsn, "settings.owner_column"},
		{"table without user_column", with(func(m map[string]any) { m["tables"] = []map[string]string{{"table": "posts"}} }), dsn, "settings.tables[0].user_column"},
		{"table twice", with(func(m map[string]any) {
			m["tables"] = []map[string]string{{"table": "posts", "user_column": "a"}, {"table": "posts", "user_column": "b"}}
		}), dsn, "settings.tables[1].table"},
		{"name too long", with(func(m map[string]any) { m["schema"] = strings.Repeat("s", 64) }), dsn, "settings.schema"},
		{"bad lock_timeout", with(func(m map[string]any) { m["lock_timeout"] = "soon" }), dsn, "settings.lock_timeout"},
		{"bad statement_timeout", with(func(m map[string]any) { m["statement_timeout"] = "0s" }), dsn, "settings.statement_timeout"},
		{"missing dsn", chirpSettings, "", "secrets.dsn"},
		{"unparseable dsn", chirpSettings, "postgres://user:hunter2@[::1/chirp?sslmode=bogus", "secrets.dsn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app, err := postgres.Factory(t.Context(), providers.Config{
				App: "chirp", Settings: json.RawMessage(tc.settings), Secrets: map[string]string{"dsn": tc.dsn},
			})
			ce, ok := errors.AsType[*providers.ConfigError](err)
			if !ok || ce.Field != tc.field {
				if app != nil {
					_ = app.(*postgres.App).Close()
				}
				t.Fatalf("error %v, want a *providers.ConfigError on %s", err, tc.field)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the DSN's password: %v", err)
			}
		})
	}
}

// TestQuotesIdentifiers drives a table whose name is an injection attempt:
// it must be used as a name and nothing else.
func TestQuotesIdentifiers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const evil = `evil"; drop table users; --`
	create := `CREATE TABLE ` + pgx.Identifier{evil}.Sanitize() + ` (user_id bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE, note text NOT NULL)`
	if _, err := e.pool.Exec(t.Context(), create); err != nil {
		t.Fatal(err)
	}
	settings := strings.Replace(chirpSettings, `{"table": "cart_items", "user_column": "user_id"}`,
		`{"table": "cart_items", "user_column": "user_id"}, {"table": "evil\"; drop table users; --", "user_column": "user_id"}`, 1)
	p := e.newProvider(t, settings)
	if err := p.Test(t.Context()); err != nil {
		t.Fatalf("Test: %v", err)
	}
	acct := providertest.NewAccount(t)
	provisioned, err := p.Provision(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	ref := provisioned.Ref
	target := providers.Target{Ref: ref, AccountID: acct.ID}
	if _, err := e.pool.Exec(t.Context(), `INSERT INTO `+pgx.Identifier{evil}.Sanitize()+` VALUES ($1, 'kept')`, refID(t, ref)); err != nil {
		t.Fatal(err)
	}
	s, err := p.Snapshot(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(s, []byte(`"kept"`)) {
		t.Errorf("the snapshot lacks the evil table's row: %s", s)
	}
	if _, err := e.pool.Exec(t.Context(), `DELETE FROM `+pgx.Identifier{evil}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	if err := p.Restore(t.Context(), target, s); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	var note string
	if err := e.pool.QueryRow(t.Context(), `SELECT note FROM `+pgx.Identifier{evil}.Sanitize()).Scan(&note); err != nil || note != "kept" {
		t.Errorf("after restore the evil table holds %q (%v), want the row back", note, err)
	}
	if err := p.Deprovision(t.Context(), target); err != nil {
		t.Fatal(err)
	}
	var users int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM users`).Scan(&users); err != nil {
		t.Fatalf("the users table is gone: %v", err)
	}
}

// TestTesterNamesWhatIsMissing: Test names every setting that cannot
// work, not only the first.
func TestTesterNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := e.provider.Test(t.Context()); err != nil {
		t.Fatalf("Test of chirp's settings: %v", err)
	}
	settings := strings.Replace(chirpSettings, `"synthetic_column": "is_synthetic"`, `"synthetic_column": "is_fake"`, 1)
	settings = strings.Replace(settings, `{"table": "posts", "user_column": "user_id"}`, `{"table": "tweets", "user_column": "user_id"}`, 1)
	p := e.newProvider(t, settings)
	err := p.Test(t.Context())
	for _, want := range []string{
		`settings.synthetic_column: column "is_fake" of table "users" does not exist`,
		`settings.tables[1].table: table "tweets" does not exist in schema "public"`,
	} {
		if !errors.Is(err, providers.ErrProtocol) || !strings.Contains(err.Error(), want) {
			t.Errorf("Test: %v\nwant ErrProtocol saying %s", err, want)
		}
	}
}

// TestRestoreFailingMidwayChangesNothing restores states that fail in
// their last table, after every other table was rewritten in the
// transaction: a row that breaks a CHECK constraint, and two that the
// upsert refuses once it has read them (a row of another user, a primary
// key twice). The failure rolls back what the statements before it wrote,
// though the COMMIT rides in their batch.
func TestRestoreFailingMidwayChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := providertest.NewAccount(t)
	target := providers.Target{Ref: provision(t, e, acct), AccountID: acct.ID}
	real := e.realUser(t)
	e.mutate(t, target.Ref)
	s, err := e.provider.Snapshot(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	e.mutate(t, target.Ref) // the app now differs from s in every table
	before, realBefore := e.fingerprint(t, target.Ref), e.fingerprint(t, real)
	for name, change := range map[string]func(cart []any) []any{
		"a row that breaks a CHECK": func(cart []any) []any {
			cart[0].(map[string]any)["quantity"] = 0 // CHECK (quantity > 0)
			return cart
		},
		"a row of a real user": func(cart []any) []any {
			return append(cart, map[string]any{"user_id": json.Number(real), "sku": "foreign-sku", "quantity": 1})
		},
		"a primary key twice": func(cart []any) []any {
			twice := maps.Clone(cart[0].(map[string]any))
			twice["quantity"] = 7
			return append(cart, twice)
		},
	} {
		t.Run(name, func(t *testing.T) {
			var doc map[string]any
			dec := json.NewDecoder(bytes.NewReader(s))
			dec.UseNumber()
			if err := dec.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			doc["user"].(map[string]any)["display_name"] = "Changed By The Restore"
			tables := doc["tables"].(map[string]any)
			tables["cart_items"] = change(tables["cart_items"].([]any))
			bad, _ := json.Marshal(doc)

			err := e.provider.Restore(t.Context(), target, bad)
			if !errors.Is(err, providers.ErrRefused) || !strings.Contains(err.Error(), "cart_items") {
				t.Errorf("Restore: %v, want ErrRefused naming cart_items", err)
			}
			if after := e.fingerprint(t, target.Ref); after != before {
				t.Errorf("a failed restore changed the app:\nbefore: %s\nafter:  %s", before, after)
			}
			if after := e.fingerprint(t, real); after != realBefore {
				t.Errorf("a failed restore changed the real user:\nbefore: %s\nafter:  %s", realBefore, after)
			}
		})
	}
}

// TestRestoreRefusesRowsOfAnotherUser proves that a crafted state cannot
// write rows for someone else.
func TestRestoreRefusesRowsOfAnotherUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := providertest.NewAccount(t)
	target := providers.Target{Ref: provision(t, e, acct), AccountID: acct.ID}
	real := e.realUser(t)
	before := e.fingerprint(t, real)
	for name, state := range map[string]string{
		"rows of a real user": `{"user": {"id": ` + target.Ref + `}, "tables": {"cart_items": [{"user_id": ` + real + `, "sku": "x", "quantity": 1}]}}`,
		"another user's row":  `{"user": {"id": ` + real + `}, "tables": {}}`,
		"an unknown table":    `{"user": {"id": ` + target.Ref + `}, "tables": {"payments": []}}`,
		"not a state":         `[1, 2, 3]`,
	} {
		if err := e.provider.Restore(t.Context(), target, json.RawMessage(state)); !errors.Is(err, providers.ErrRefused) {
			t.Errorf("Restore of %s: %v, want ErrRefused", name, err)
		}
	}
	if after := e.fingerprint(t, real); after != before {
		t.Errorf("the real user changed:\nbefore: %s\nafter:  %s", before, after)
	}
}

// TestARestoreOfARealUserWritesNothing restores a state that names the
// real user itself, with none of its rows: its check fails in the SQL of
// the restore's one round trip, and none of the writes sent with it runs.
func TestARestoreOfARealUserWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := providertest.NewAccount(t)
	real := e.realUser(t)
	e.mutate(t, real) // rows in every table, which the state would delete
	before := e.fingerprint(t, real)
	state := `{"user": {"id": ` + real + `, "display_name": "Changed By The Restore"}, "tables": {}}`
	err := e.provider.Restore(t.Context(), providers.Target{Ref: real, AccountID: acct.ID}, json.RawMessage(state))
	if !errors.Is(err, providers.ErrNotSynthetic) {
		t.Errorf("Restore of a real user: %v, want ErrNotSynthetic", err)
	}
	if after := e.fingerprint(t, real); after != before {
		t.Errorf("a refused restore changed the real user:\nbefore: %s\nafter:  %s", before, after)
	}
}

// TestConcurrentRestoresQueue restores one user from several goroutines at
// once: they queue on the user row's lock and all succeed.
func TestConcurrentRestoresQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := providertest.NewAccount(t)
	target := providers.Target{Ref: provision(t, e, acct), AccountID: acct.ID}
	e.mutate(t, target.Ref)
	first := snapshot(t, e, target)
	e.mutate(t, target.Ref)
	second := snapshot(t, e, target)

	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s := first
			if i%2 == 1 {
				s = second
			}
			errs[i] = e.provider.Restore(t.Context(), target, s)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("restore %d: %v", i, err)
		}
	}
	got := snapshot(t, e, target)
	if !bytes.Equal(got, first) && !bytes.Equal(got, second) {
		t.Errorf("after concurrent restores the state is neither of those restored:\n%s", got)
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // nothing listens there now
	dsn := dbtest.WithHost(t, "host=127.0.0.1 port=5432 user=postgres dbname=chirp sslmode=disable", "127.0.0.1", port)
	app, err := postgres.Factory(t.Context(), providers.Config{
		App: "chirp", Settings: json.RawMessage(chirpSettings), Secrets: map[string]string{"dsn": dsn},
	})
	if err != nil {
		t.Fatalf("a database that is down is not a configuration error: %v", err)
	}
	p := app.(*postgres.App)
	defer p.Close()
	acct := providertest.NewAccount(t)
	target := providers.Target{Ref: "1", AccountID: acct.ID}
	start := time.Now()
	calls := map[string]error{
		"Test":        p.Test(t.Context()),
		"Verify":      p.Verify(t.Context(), target),
		"Restore":     p.Restore(t.Context(), target, json.RawMessage(`{"user": {"id": 1}, "tables": {}}`)),
		"Deprovision": p.Deprovision(t.Context(), target),
	}
	_, calls["Provision"] = p.Provision(t.Context(), acct)
	_, calls["Snapshot"] = p.Snapshot(t.Context(), target)
	for name, err := range calls {
		if !errors.Is(err, providers.ErrUnavailable) {
			t.Errorf("%s with the database down: %v, want ErrUnavailable", name, err)
		}
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("six calls to a closed port took %v, want a few seconds at most", elapsed)
	}
}

func provision(t *testing.T, e *env, acct providers.Account) string {
	t.Helper()
	provisioned, err := e.provider.Provision(t.Context(), acct)
	if err != nil {
		t.Fatal(err)
	}
	ref := provisioned.Ref
	return ref
}

func snapshot(t *testing.T, e *env, target providers.Target) []byte {
	t.Helper()
	s, err := e.provider.Snapshot(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	c, err := providertest.Canonical(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTheTransactionNamesItsTrace holds the user row's lock while a
// restore made in a trace waits for it: its application_name, in
// pg_stat_activity, is the traceparent of that work, and the request id is
// the transaction's understudy.request_id.
func TestTheTransactionNamesItsTrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.newProvider(t, chirpSettings)
	acct := providertest.NewAccount(t)
	target := providers.Target{Ref: provision(t, e, acct), AccountID: acct.ID}
	s := snapshot(t, e, target)

	tx, err := e.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	if _, err := tx.Exec(t.Context(), `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, refID(t, target.Ref)); err != nil {
		t.Fatal(err)
	}
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := tracing.Remote(access.WithRequestID(t.Context(), "req-trace-7"), traceparent, "")
	done := make(chan error, 1)
	go func() { done <- p.Restore(ctx, target, s) }()
	var query string
	for deadline := time.Now().Add(30 * time.Second); query == "" && time.Now().Before(deadline); {
		err := e.pool.QueryRow(t.Context(), `SELECT coalesce(max(query), '') FROM pg_stat_activity WHERE application_name = $1`, traceparent).Scan(&query)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if query == "" {
		t.Error("no transaction named by the traceparent showed in pg_stat_activity while the restore waited")
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Restore: %v", err)
	}
	// The settings were the transaction's own: no connection keeps the name.
	var left int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, traceparent).Scan(&left); err != nil || left != 0 {
		t.Errorf("after the restore, %d connections are still named by the traceparent (%v)", left, err)
	}

	// The app's triggers read the request id: a restore that deletes a
	// post the state lacks records it.
	if _, err := e.pool.Exec(t.Context(), `CREATE TABLE seen (request_id text);
CREATE FUNCTION see() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO seen VALUES (current_setting('understudy.request_id', true)); RETURN OLD; END $$;
CREATE TRIGGER see AFTER DELETE ON posts FOR EACH ROW EXECUTE FUNCTION see()`); err != nil {
		t.Fatal(err)
	}
	e.mutate(t, target.Ref)
	if err := p.Restore(ctx, target, s); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	var seen []string
	rows, _ := e.pool.Query(t.Context(), `SELECT coalesce(request_id, '') FROM seen`)
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		seen = append(seen, id)
	}
	if rows.Err() != nil || len(seen) == 0 || slices.ContainsFunc(seen, func(id string) bool { return id != "req-trace-7" }) {
		t.Errorf("the trigger saw request ids %v (%v), want req-trace-7 for each deleted post", seen, rows.Err())
	}
}

// TestLockTimeout holds the user row's lock while a restore waits for it:
// the restore gives up after lock_timeout with ErrUnavailable, and the
// request id shows in pg_stat_activity while it waits.
func TestLockTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.newProvider(t, strings.Replace(chirpSettings, `"lock_timeout": "5s"`, `"lock_timeout": "1s"`, 1))
	acct := providertest.NewAccount(t)
	target := providers.Target{Ref: provision(t, e, acct), AccountID: acct.ID}
	s := snapshot(t, e, target)

	tx, err := e.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	if _, err := tx.Exec(t.Context(), `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, refID(t, target.Ref)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- p.Restore(access.WithRequestID(t.Context(), "req-lock-42"), target, s)
	}()
	var seen bool
	for !seen && time.Since(start) < 900*time.Millisecond {
		err := e.pool.QueryRow(t.Context(),
			`SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'understudy req-lock-42')`).Scan(&seen)
		if err != nil {
			t.Fatal(err)
		}
	}
	if !seen {
		t.Error("the waiting restore did not show its request id in pg_stat_activity")
	}
	err = <-done
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("Restore while the row is locked: %v, want ErrUnavailable", err)
	}
	if elapsed := time.Since(start); elapsed < time.Second || elapsed > 4*time.Second {
		t.Errorf("the restore gave up after %v, want about the 1s lock_timeout", elapsed)
	}
}
