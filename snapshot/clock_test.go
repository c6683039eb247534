package snapshot_test

import (
	"testing"
	"time"

	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
)

// Every time written into a row comes from the injected clock, never
// half from it and half from the database's: the environment, the role,
// the accounts, the app, each account's ref and its baseline snapshot and
// blob.
func TestRowsTakeTheTimesOfTheInjectedClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	st := domaintest.NewAt(t, dbtest.Tx(t), 2, func() time.Time { return at })
	for _, q := range []struct{ what, sql string }{
		{"environment", `SELECT count(*), count(*) FILTER (WHERE created_at = $1 AND updated_at = $1) FROM environments WHERE name = 'production'`},
		{"role", `SELECT count(*), count(*) FILTER (WHERE created_at = $1 AND updated_at = $1) FROM roles WHERE name = 'buyer'`},
		{"account", `SELECT count(*), count(*) FILTER (WHERE created_at = $1 AND password_rotated_at = $1) FROM accounts`},
		{"app", `SELECT count(*), count(*) FILTER (WHERE created_at = $1 AND updated_at = $1) FROM apps WHERE name = 'chirp'`},
		{"ref", `SELECT count(*), count(*) FILTER (WHERE provisioned_at = $1) FROM account_refs`},
		{"snapshot", `SELECT count(*), count(*) FILTER (WHERE created_at = $1) FROM snapshots`},
		{"blob", `SELECT count(*), count(*) FILTER (WHERE b.created_at = $1) FROM snapshot_blobs b WHERE b.hash IN (SELECT hash FROM snapshots)`},
	} {
		var n, onClock int
		if err := st.DB.QueryRow(st.Ctx, q.sql, at).Scan(&n, &onClock); err != nil {
			t.Fatalf("%s: %v", q.what, err)
		}
		if n == 0 || onClock != n {
			t.Errorf("%d of %d %s rows carry the clock's time %v; want all", onClock, n, q.what, at)
		}
	}
}
