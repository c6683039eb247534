package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"golang.org/x/crypto/bcrypt"

	"github.com/understudy-dev/understudy/bench/internal/stack"
	"github.com/understudy-dev/understudy/examples/chirp"
)

// chirpTable is one of chirp's per-user tables and the column that names
// the user.
type chirpTable struct{ table, userColumn string }

// chirpTables are chirp's per-user tables in foreign-key order (parents
// first): the postgres provider's settings and the raw restore of phase
// (d) both come from this list.
var chirpTables = []chirpTable{
	{"profiles", "user_id"}, {"posts", "user_id"}, {"follows", "follower_id"}, {"likes", "user_id"},
	{"scores", "user_id"}, {"notifications", "user_id"}, {"cart_items", "user_id"},
}

// chirpAttach is the AppAttach document of chirp through the postgres
// provider, on the database at dsn.
func chirpAttach(dsn string) map[string]any {
	tables := make([]map[string]string, len(chirpTables))
	for i, t := range chirpTables {
		tables[i] = map[string]string{"table": t.table, "user_column": t.userColumn}
	}
	return map[string]any{
		"name": chirpApp, "provider": "postgres",
		"settings": map[string]any{
			"users_table": "users", "key_column": "id", "synthetic_column": "is_synthetic",
			"owner_column": "understudy_account_id",
			"columns":      map[string]string{"email": "email", "username": "username", "display_name": "display_name"},
			"tables":       tables,
		},
		"secrets": map[string]string{"dsn": dsn},
	}
}

// What seed gives each chirp user, on top of the user row that
// provisioning wrote. Likes are of the user's own posts, so that no user's
// rows depend on another's posts (a reset deletes the posts written since
// the baseline, and with them, in cascade, other users' likes of them).
//
// Follows go to other synthetic users, which also gives each user
// notifications. By default those are fixture users: synthetic users of
// chirp's own that no Understudy account owns, so no reset ever locks
// them; each of them also follows every account's user. With peer
// follows, users follow the next users of the pool instead, which makes
// concurrent resets deadlock in the postgres provider (see
// bench/README.md).
const (
	seedPosts   = 5
	seedFollows = 3
	seedLikes   = 2
	seedCart    = 2
)

const seedProfileSQL = `INSERT INTO profiles (user_id, bio, avatar_url) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING`

// openChirp opens a pool of conns connections on chirp's database,
// migrates it and returns chirp on it.
func openChirp(ctx context.Context, dsn string, conns int) (*pgxpool.Pool, *chirp.App, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing chirp's database URL: %w", err)
	}
	pc.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, nil, fmt.Errorf("opening a pool on chirp's database: %w", err)
	}
	if err := chirp.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	// The cheapest bcrypt cost: this measures leases, not password hashing.
	app, err := chirp.New(chirp.Config{DB: pool, PasswordCost: bcrypt.MinCost})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return pool, app, nil
}

// chirpRefs returns the chirp user id provisioned for each account, in the
// order of accountIDs, from chirp's owner column.
func chirpRefs(ctx context.Context, pool *pgxpool.Pool, accountIDs []string) ([]int64, error) {
	rows, _ := pool.Query(ctx, `SELECT understudy_account_id, id FROM users WHERE is_synthetic AND understudy_account_id = ANY($1)`, accountIDs)
	byAccount := map[string]int64{}
	var account string
	var id int64
	_, err := pgx.ForEachRow(rows, []any{&account, &id}, func() error {
		byAccount[account] = id
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading chirp's synthetic users: %w", err)
	}
	refs := make([]int64, len(accountIDs))
	for i, a := range accountIDs {
		if refs[i] = byAccount[a]; refs[i] == 0 {
			return nil, fmt.Errorf("account %s has no synthetic user in chirp", a)
		}
	}
	return refs, nil
}

// seed gives every user a profile, posts, follows, likes of its own posts
// and a cart, through chirp's Go API (the profile with SQL: chirp has no
// call for it, CreateUser writes it and provisioning does not). With
// peers, users follow one another; else they follow fixture users, who
// follow them back.
func seed(ctx context.Context, pool *pgxpool.Pool, app *chirp.App, refs []int64, peers bool) error {
	var fixtures []int64
	if !peers {
		var err error
		if fixtures, err = fixtureUsers(ctx, app, seedFollows); err != nil {
			return err
		}
	}
	for i, ref := range refs {
		if _, err := pool.Exec(ctx, seedProfileSQL, ref, fmt.Sprintf("Understudy number %d", i), "https://example.test/a.png"); err != nil {
			return fmt.Errorf("seeding the profile of user %d: %w", ref, err)
		}
		var posts []int64
		for p := range seedPosts {
			id, err := app.Post(ctx, ref, fmt.Sprintf("post %d of understudy %d", p, i))
			if err != nil {
				return fmt.Errorf("seeding user %d: %w", ref, err)
			}
			posts = append(posts, id)
		}
		var errs []error
		for _, f := range fixtures {
			errs = append(errs, app.Follow(ctx, ref, f), app.Follow(ctx, f, ref))
		}
		for f := 1; peers && f <= min(seedFollows, len(refs)-1); f++ {
			errs = append(errs, app.Follow(ctx, ref, refs[(i+f)%len(refs)]))
		}
		for _, post := range posts[:seedLikes] {
			errs = append(errs, app.Like(ctx, ref, post))
		}
		for c := range seedCart {
			errs = append(errs, app.AddToCart(ctx, ref, "sku-"+strconv.Itoa(c), c+1))
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("seeding user %d: %w", ref, err)
		}
	}
	return nil
}

// fixtureUsers creates n synthetic chirp users that no account owns.
func fixtureUsers(ctx context.Context, app *chirp.App, n int) ([]int64, error) {
	ids := make([]int64, n)
	for i := range ids {
		name := "bench-fixture-" + strconv.Itoa(i)
		u, err := app.CreateUser(ctx, chirp.NewUser{Username: name, Email: name + "@" + benchDomain, DisplayName: "Fixture " + strconv.Itoa(i), IsSynthetic: true})
		if err != nil {
			return nil, fmt.Errorf("creating fixture user %s: %w", name, err)
		}
		ids[i] = u.ID
	}
	return ids, nil
}

// mutate is what a test does with the account it leased, on its own rows
// only: a post (which adds to the score) and an item put in the cart. It
// makes the next reset of the account restore real differences.
func mutate(ctx context.Context, app *chirp.App, ref int64) error {
	if _, err := app.Post(ctx, ref, "written by a test, undone by the next reset"); err != nil {
		return err
	}
	return app.AddToCart(ctx, ref, "sku-added-by-a-test", 1)
}

// baseline is one user's state as the server restores it.
type baseline struct {
	ref    int64
	user   json.RawMessage
	tables map[string]json.RawMessage
	counts map[string]int // rows per table
}

// rebaseline captures the seeded state of every account as the next
// version of its baseline, which leases and resets restore from then on,
// and returns those baselines.
func rebaseline(ctx context.Context, admin stack.API, accountIDs []string, refs []int64) ([]baseline, error) {
	out := make([]baseline, len(accountIDs))
	for i, id := range accountIDs {
		if err := admin.Call(ctx, http.MethodPost, "/v1/accounts/"+id+"/states/initial", nil, http.StatusCreated, nil); err != nil {
			return nil, err
		}
		b, err := baselineOf(ctx, admin, id)
		if err != nil {
			return nil, err
		}
		b.ref = refs[i]
		out[i] = b
	}
	return out, nil
}

// baselineOf reads the newest version of the account's baseline.
func baselineOf(ctx context.Context, admin stack.API, accountID string) (baseline, error) {
	var list struct {
		Items []struct {
			Version int    `json:"version"`
			Hash    string `json:"hash"`
		} `json:"items"`
	}
	if err := admin.Call(ctx, http.MethodGet, "/v1/accounts/"+accountID+"/snapshots?state=initial", nil, http.StatusOK, &list); err != nil {
		return baseline{}, err
	}
	if len(list.Items) == 0 {
		return baseline{}, fmt.Errorf("account %s has no baseline", accountID)
	}
	newest := list.Items[0]
	for _, s := range list.Items {
		if s.Version > newest.Version {
			newest = s
		}
	}
	var doc struct {
		User   json.RawMessage            `json:"user"`
		Tables map[string]json.RawMessage `json:"tables"`
	}
	if err := admin.Call(ctx, http.MethodGet, "/v1/snapshots/"+newest.Hash, nil, http.StatusOK, &doc); err != nil {
		return baseline{}, err
	}
	b := baseline{user: doc.User, tables: doc.Tables, counts: map[string]int{}}
	for name, raw := range doc.Tables {
		var rows []json.RawMessage
		if err := json.Unmarshal(raw, &rows); err != nil {
			return baseline{}, fmt.Errorf("the baseline of account %s: table %s is not an array: %w", accountID, name, err)
		}
		b.counts[name] = len(rows)
	}
	return b, nil
}

// describe says how many rows of each table b holds, in table order.
func (b baseline) describe() string {
	parts := make([]string, len(chirpTables))
	for i, t := range chirpTables {
		parts[i] = fmt.Sprintf("%s %d", t.table, b.counts[t.table])
	}
	return strings.Join(parts, ", ")
}
