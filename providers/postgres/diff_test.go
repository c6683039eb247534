package postgres_test

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/providertest"
)

// versionsSQL reads the row version (xmin, ctid) of each of a user's rows
// of chirp, keyed by table and primary key: a row that a restore deletes
// and inserts again, or updates, gets a new version; a row it leaves alone
// keeps its own.
const versionsSQL = `
SELECT 'users ' || id, xmin::text || ctid::text FROM users WHERE id = $1
UNION ALL SELECT 'profiles ' || user_id, xmin::text || ctid::text FROM profiles WHERE user_id = $1
UNION ALL SELECT 'posts ' || id, xmin::text || ctid::text FROM posts WHERE user_id = $1
UNION ALL SELECT 'follows ' || followee_id, xmin::text || ctid::text FROM follows WHERE follower_id = $1
UNION ALL SELECT 'likes ' || post_id, xmin::text || ctid::text FROM likes WHERE user_id = $1
UNION ALL SELECT 'scores ' || user_id, xmin::text || ctid::text FROM scores WHERE user_id = $1
UNION ALL SELECT 'notifications ' || id, xmin::text || ctid::text FROM notifications WHERE user_id = $1
UNION ALL SELECT 'cart_items ' || sku, xmin::text || ctid::text FROM cart_items WHERE user_id = $1`

func (e *env) versions(t *testing.T, id int64) map[string]string {
	t.Helper()
	rows, _ := e.pool.Query(t.Context(), versionsSQL, id)
	out := map[string]string{}
	var key, version string
	if _, err := pgx.ForEachRow(rows, []any{&key, &version}, func() error {
		out[key] = version
		return nil
	}); err != nil {
		t.Fatalf("reading the row versions of user %d: %v", id, err)
	}
	return out
}

// TestRestoreKeepsAnotherUsersLikeOfABaselinePost: a real user likes the
// synthetic user's baseline post; the synthetic user then changes its
// state, and is reset. The post is in the baseline, so the restore leaves
// it alone, and the real user's like (which a delete of the post would
// take with it by cascade) is the very same row afterwards.
func TestRestoreKeepsAnotherUsersLikeOfABaselinePost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	acct := providertest.NewAccount(t)
	target := providers.Target{Ref: provision(t, e, acct), AccountID: acct.ID}
	id := refID(t, target.Ref)
	post, err := e.chirp.Post(ctx, id, "a baseline post")
	if err != nil {
		t.Fatal(err)
	}
	baseline, err := e.provider.Snapshot(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	want := e.fingerprint(t, target.Ref)

	real := e.createUser(t, false)
	if err := e.chirp.Like(ctx, real.ID, post); err != nil {
		t.Fatal(err)
	}
	const likeSQL = `SELECT xmin::text || ctid::text FROM likes WHERE user_id = $1 AND post_id = $2`
	var before string
	if err := e.pool.QueryRow(ctx, likeSQL, real.ID, post).Scan(&before); err != nil {
		t.Fatal(err)
	}
	e.mutate(t, target.Ref)

	if err := e.provider.Restore(ctx, target, baseline); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	var after string
	if err := e.pool.QueryRow(ctx, likeSQL, real.ID, post).Scan(&after); err != nil {
		t.Fatalf("the real user's like of the baseline post is gone after the reset: %v", err)
	}
	if after != before {
		t.Errorf("the real user's like was deleted and written again (row version %s, then %s)", before, after)
	}
	if got := e.fingerprint(t, target.Ref); got != want {
		t.Errorf("the restore did not bring the baseline back:\nwant: %s\ngot:  %s", want, got)
	}
}

// TestRestoreWritesOnlyWhatDiffers changes one row of the cart and the
// score, adds a post and deletes a follow: the restore updates the two
// changed rows, deletes the post, inserts the follow again (with its
// timestamp) and leaves every other row, the user's included, untouched.
func TestRestoreWritesOnlyWhatDiffers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	acct := providertest.NewAccount(t)
	target := providers.Target{Ref: provision(t, e, acct), AccountID: acct.ID}
	id := refID(t, target.Ref)
	e.mutate(t, target.Ref)
	if err := e.chirp.AddToCart(ctx, id, "sku-kept", 1); err != nil {
		t.Fatal(err)
	}
	baseline, err := e.provider.Snapshot(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	want := e.fingerprint(t, target.Ref)
	before := e.versions(t, id)

	changes := []string{
		`UPDATE cart_items SET quantity = quantity + 5 WHERE user_id = $1 AND sku <> 'sku-kept'`,
		`UPDATE scores SET points = points + 1 WHERE user_id = $1`,
		`INSERT INTO posts (user_id, body) VALUES ($1, 'written after the baseline')`,
		`DELETE FROM follows WHERE follower_id = $1`,
	}
	for _, sql := range changes {
		if tag, err := e.pool.Exec(ctx, sql, id); err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("%s: %v, %d rows", sql, err, tag.RowsAffected())
		}
	}
	if err := e.provider.Restore(ctx, target, baseline); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := e.fingerprint(t, target.Ref); got != want {
		t.Fatalf("the restore did not bring the baseline back:\nwant: %s\ngot:  %s", want, got)
	}
	after := e.versions(t, id)
	if !slices.Equal(slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(before))) {
		t.Fatalf("rows after the restore: %v, want those of the baseline: %v", slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(before)))
	}
	var rewritten []string
	for key, v := range before {
		if after[key] != v {
			rewritten = append(rewritten, key)
		}
	}
	slices.Sort(rewritten)
	var followee string
	for key := range before {
		if len(key) > 8 && key[:8] == "follows " {
			followee = key
		}
	}
	wantRewritten := []string{"cart_items sku-1", followee, "scores " + target.Ref}
	slices.Sort(wantRewritten)
	if !slices.Equal(rewritten, wantRewritten) {
		t.Errorf("the restore wrote rows %v, want only the changed and the missing ones: %v", rewritten, wantRewritten)
	}

	// Restoring the state the app is already in writes nothing.
	if err := e.provider.Restore(ctx, target, baseline); err != nil {
		t.Fatalf("second Restore: %v", err)
	}
	if again := e.versions(t, id); !maps.Equal(again, after) {
		t.Errorf("restoring the state the app was in rewrote rows:\nbefore: %v\nafter:  %v", after, again)
	}
}

// TestRestoreComparesValuesExactly drives a table with a numeric column,
// whose 1.50 equals 1.5 but is not the same value, and a json column,
// which has no equality operator: a restore sees both changes and undoes
// them.
func TestRestoreComparesValuesExactly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.pool.Exec(ctx, `CREATE TABLE wallets (user_id bigint PRIMARY KEY REFERENCES users, balance numeric NOT NULL, prefs json NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	p := e.newProvider(t, withTable(t, 6, map[string]any{"table": "wallets", "user_column": "user_id"}))
	acct := providertest.NewAccount(t)
	provisioned, err := p.Provision(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	ref := provisioned.Ref
	target := providers.Target{Ref: ref, AccountID: acct.ID}
	if _, err := e.pool.Exec(ctx, `INSERT INTO wallets VALUES ($1, 1.50, '{"a": 1}')`, refID(t, ref)); err != nil {
		t.Fatal(err)
	}
	s, err := p.Snapshot(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	canonical, err := providertest.Canonical(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, change := range []string{`UPDATE wallets SET balance = 1.5`, `UPDATE wallets SET prefs = '{"a": 1, "b": 2}'`} {
		if _, err := e.pool.Exec(ctx, change); err != nil {
			t.Fatal(err)
		}
		if err := p.Restore(ctx, target, canonical); err != nil {
			t.Fatalf("Restore after %s: %v", change, err)
		}
		var balance, prefs string
		if err := e.pool.QueryRow(ctx, `SELECT balance::text, prefs::jsonb::text FROM wallets WHERE user_id = $1`, refID(t, ref)).Scan(&balance, &prefs); err != nil {
			t.Fatal(err)
		}
		if balance != "1.50" || prefs != `{"a": 1}` {
			t.Errorf("after %s and a restore the wallet holds %s, %s; want 1.50, {\"a\": 1}", change, balance, prefs)
		}
	}
}

// TestRestoreFollowsSchemaChanges: the provider keeps what it read of the
// catalog, and reads it again when the app's schema changes under it: a
// column added after the first restore is restored, and one dropped after
// it does not break the next restore.
func TestRestoreFollowsSchemaChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	acct := providertest.NewAccount(t)
	target := providers.Target{Ref: provision(t, e, acct), AccountID: acct.ID}
	id := refID(t, target.Ref)
	if err := e.chirp.AddToCart(ctx, id, "sku-gift", 1); err != nil {
		t.Fatal(err)
	}
	if err := e.provider.Restore(ctx, target, snapshot(t, e, target)); err != nil {
		t.Fatalf("first Restore: %v", err)
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := e.pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	gift := func() string {
		t.Helper()
		var g string
		if err := e.pool.QueryRow(ctx, `SELECT gift FROM cart_items WHERE user_id = $1`, id).Scan(&g); err != nil {
			t.Fatal(err)
		}
		return g
	}

	exec(`ALTER TABLE cart_items ADD COLUMN gift text NOT NULL DEFAULT 'no'`)
	exec(`UPDATE cart_items SET gift = 'wrapped'`)
	withGift := snapshot(t, e, target)
	exec(`UPDATE cart_items SET gift = 'no'`)
	if err := e.provider.Restore(ctx, target, withGift); err != nil {
		t.Fatalf("Restore after a column was added: %v", err)
	}
	if g := gift(); g != "wrapped" {
		t.Errorf("after the restore the new column holds %q, want %q", g, "wrapped")
	}

	exec(`ALTER TABLE cart_items ADD COLUMN note text`)
	if err := e.provider.Restore(ctx, target, snapshot(t, e, target)); err != nil {
		t.Fatalf("Restore with the note column: %v", err)
	}
	exec(`ALTER TABLE cart_items DROP COLUMN note`)
	exec(`UPDATE cart_items SET quantity = 9`)
	if err := e.provider.Restore(ctx, target, withGift); err != nil {
		t.Fatalf("Restore after a column was dropped: %v", err)
	}
	var quantity int
	if err := e.pool.QueryRow(ctx, `SELECT quantity FROM cart_items WHERE user_id = $1`, id).Scan(&quantity); err != nil || quantity != 1 {
		t.Errorf("after the restore the quantity is %d (%v), want 1", quantity, err)
	}
}

// TestRestoreSnapshot: the state RestoreSnapshot returns is the one
// Snapshot reads after it (the state restored), and a refused restore
// returns no state and changes nothing.
func TestRestoreSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	acct := providertest.NewAccount(t)
	target := providers.Target{Ref: provision(t, e, acct), AccountID: acct.ID}
	e.mutate(t, target.Ref)
	baseline := snapshot(t, e, target)
	e.mutate(t, target.Ref)
	after, err := e.provider.RestoreSnapshot(ctx, target, baseline)
	if err != nil {
		t.Fatalf("RestoreSnapshot: %v", err)
	}
	got, err := providertest.Canonical(after)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(baseline) {
		t.Errorf("RestoreSnapshot returned a state that is not the one restored:\nwant: %s\ngot:  %s", baseline, got)
	}
	if now := snapshot(t, e, target); string(now) != string(baseline) {
		t.Errorf("Snapshot after RestoreSnapshot is not the state restored:\nwant: %s\ngot:  %s", baseline, now)
	}

	e.mutate(t, target.Ref)
	changed := snapshot(t, e, target)
	other := providers.Target{Ref: target.Ref, AccountID: providertest.NewAccount(t).ID}
	if s, err := e.provider.RestoreSnapshot(ctx, other, baseline); !errors.Is(err, providers.ErrNotOwned) || s != nil {
		t.Errorf("RestoreSnapshot of another account's user = %d bytes, %v; want nothing and ErrNotOwned", len(s), err)
	}
	if now := snapshot(t, e, target); string(now) != string(changed) {
		t.Errorf("a refused RestoreSnapshot changed the user")
	}
}
