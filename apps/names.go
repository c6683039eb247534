package apps

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The names of apps by id, for other packages' lists (snapshots,
// isolation violations) that store app ids: they read the names here, one
// statement per list, instead of joining apps.

// Named is an app's id and name.
type Named struct {
	ID   string
	Name string
}

const namesSQL = `SELECT id::text, name FROM apps WHERE id = ANY($1::uuid[]) ORDER BY name, id`

// Names returns the apps among ids, ordered by
// name in the database's collation, so a caller can order by an app's
// name as SQL would. db may be a transaction.
func Names(ctx context.Context, db pgdb.DB, ids []string) ([]Named, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return pgdb.QueryAll(ctx, db, func(r pgx.Row, n *Named) error { return r.Scan(&n.ID, &n.Name) }, namesSQL, ids)
}
