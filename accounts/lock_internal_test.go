package accounts

import (
	"context"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/internal/dbtest"
)

// The locks that serialize an environment's and a role's writers do not
// block the foreign key checks of other transactions' inserts (a key-share
// lock): a provisioning that holds the exclusion list and inserts rows
// naming the environment or the role must not wait on them, or the two
// deadlock.
func TestWriterLocksLetForeignKeyChecksThrough(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	ctx := context.Background()
	var envID, roleID string
	if err := pool.QueryRow(ctx, `INSERT INTO environments (name, email_domains) VALUES ('production', '{qa.example.test}') RETURNING id`).Scan(&envID); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `INSERT INTO roles (environment_id, name, pool_size) VALUES ($1, 'buyer', 1) RETURNING id`, envID).Scan(&roleID); err != nil {
		t.Fatal(err)
	}
	for _, lock := range []struct {
		name, sql string
		arg       any
	}{{"environment", lockEnvironmentSQL, "production"}, {"role by name", lockRoleSQL, nil}, {"role by id", lockRoleByIDSQL, roleID}} {
		holder, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		args := []any{lock.arg}
		if lock.arg == nil {
			args = []any{"production", "buyer"}
		}
		rows, err := holder.Query(ctx, lock.sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
		// Another transaction takes what a foreign key check of an insert
		// naming the environment and the role takes.
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		other, err := pool.Begin(tctx)
		if err == nil {
			_, err = other.Exec(tctx, `SELECT 1 FROM environments e, roles r WHERE e.id = $1 AND r.id = $2 FOR KEY SHARE`, envID, roleID)
			_ = other.Rollback(ctx)
		}
		cancel()
		if err != nil {
			t.Errorf("with the %s locked, a key-share lock on it: %v; want it not to wait", lock.name, err)
		}
		_ = holder.Rollback(ctx)
	}
}
