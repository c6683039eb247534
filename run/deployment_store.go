package run

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The statements that name table deployments: no other file holds SQL
// for it. An environment's name is read through package accounts' view
// (accounts.EnvironmentDirectory) in the same statement.

const deploymentColumns = `d.id::text, e.name, d.version, d.deployed_at, d.url, d.recorded_by, d.recorded_at`

// deploymentFrom joins each deployment d to its environment e.
const deploymentFrom = ` FROM deployments d JOIN ` + accounts.EnvironmentDirectory + ` e ON e.id = d.environment_id`

func scanDeployment(row pgx.Row, d *Deployment) error {
	return row.Scan(&d.ID, &d.Environment, &d.Version, &d.DeployedAt, &d.URL, &d.RecordedBy, &d.RecordedAt)
}

const (
	// insertDeploymentSQL records a deployment, or nothing when the same
	// (environment, version, time) is already recorded: then no row.
	insertDeploymentSQL = `
WITH d AS (
    INSERT INTO deployments (environment_id, version, deployed_at, url, recorded_by, recorded_at)
    VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()))
    ON CONFLICT (environment_id, version, deployed_at) DO NOTHING
    RETURNING *
)
SELECT ` + deploymentColumns + ` FROM d JOIN ` + accounts.EnvironmentDirectory + ` e ON e.id = d.environment_id`
	existingDeploymentSQL = `SELECT ` + deploymentColumns + deploymentFrom + `
WHERE d.environment_id = $1 AND d.version = $2 AND d.deployed_at = $3`
)

// insertDeployment records r in environment envID inside tx, or reads the
// deployment already recorded for the same environment, version and time
// (created false).
func insertDeployment(ctx context.Context, tx pgx.Tx, envID string, r DeploymentRecord, actor string, now *time.Time) (Deployment, bool, error) {
	d, created, err := pgdb.QueryMaybe(ctx, tx, scanDeployment, pgdb.Conflict{}, insertDeploymentSQL, envID, r.Version, r.DeployedAt, r.URL, actor, now)
	if err != nil || created {
		return d, created, err
	}
	d, err = pgdb.QueryOne(ctx, tx, scanDeployment, "the deployment was recorded and then deleted; try again", existingDeploymentSQL, envID, r.Version, r.DeployedAt)
	return d, false, err
}

// deploymentQuery is a list's statement's parameters.
type deploymentQuery struct {
	environmentID string // empty for every environment
	since, until  time.Time
	// before and beforeID are the (deployed_at, id) a page starts after;
	// a zero before starts at the newest.
	before   time.Time
	beforeID string
	limit    int
}

// The lists, one statement each with and without an environment, so that
// each is planned for its index. Bounds that are not set are infinite.
const (
	listDeploymentsWhere = `
  d.deployed_at >= $1 AND d.deployed_at < $2 AND (d.deployed_at, d.id) < ($3, $4::uuid)
ORDER BY d.deployed_at DESC, d.id DESC LIMIT $5`
	listDeploymentsSQL            = `SELECT ` + deploymentColumns + deploymentFrom + ` WHERE` + listDeploymentsWhere
	listEnvironmentDeploymentsSQL = `SELECT ` + deploymentColumns + deploymentFrom + ` WHERE d.environment_id = $6 AND` + listDeploymentsWhere
	deploymentTimeSQL             = `SELECT deployed_at FROM deployments WHERE id = $1`
)

// maxUUID sorts after every id, for a page that starts at the newest.
const maxUUID = "ffffffff-ffff-ffff-ffff-ffffffffffff"

// bound is t as a statement's bound: inf (-infinity or infinity) when t is
// zero.
func bound(t time.Time, inf pgtype.InfinityModifier) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{InfinityModifier: inf, Valid: true}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

func listDeployments(ctx context.Context, db pgdb.DB, q deploymentQuery) ([]Deployment, error) {
	beforeID := q.beforeID
	if beforeID == "" {
		beforeID = maxUUID
	}
	args := []any{bound(q.since, pgtype.NegativeInfinity), bound(q.until, pgtype.Infinity), bound(q.before, pgtype.Infinity), beforeID, q.limit}
	if q.environmentID == "" {
		return pgdb.QueryAll(ctx, db, scanDeployment, listDeploymentsSQL, args...)
	}
	return pgdb.QueryAll(ctx, db, scanDeployment, listEnvironmentDeploymentsSQL, append(args, q.environmentID)...)
}

// deploymentTime returns the time of deployment id, and false when there
// is none.
func deploymentTime(ctx context.Context, db pgdb.DB, id string) (time.Time, bool, error) {
	return pgdb.QueryMaybe(ctx, db, pgdb.Scalar[time.Time], pgdb.Conflict{}, deploymentTimeSQL, id)
}

// deploymentAtSQL finds, for each (environment id, time) pair n of the
// arrays, the newest deployment of the environment at or before the time,
// one index probe each.
const deploymentAtSQL = `
SELECT k.n, ` + deploymentColumns + `
FROM unnest($1::uuid[], $2::timestamptz[]) WITH ORDINALITY AS k (environment_id, at, n)
CROSS JOIN LATERAL (
    SELECT * FROM deployments x WHERE x.environment_id = k.environment_id AND x.deployed_at <= k.at
    ORDER BY x.deployed_at DESC, x.id DESC LIMIT 1
) d
JOIN ` + accounts.EnvironmentDirectory + ` e ON e.id = d.environment_id`

// DeploymentKey names the moment of an environment a run started at.
type DeploymentKey struct {
	// EnvironmentID is the environment's id (not its name).
	EnvironmentID string
	At            time.Time
}

// DeploymentAt returns the deployment that environment environmentID ran
// at time t: its newest deployment at or before t, and false when it had
// none yet. A run's deployment is this, read when the run is read, so that
// nothing is written on a lease's path. db may be a transaction.
func DeploymentAt(ctx context.Context, db pgdb.DB, environmentID string, t time.Time) (Deployment, bool, error) {
	list, err := DeploymentsAt(ctx, db, []DeploymentKey{{EnvironmentID: environmentID, At: t}})
	if err != nil || list[0] == nil {
		return Deployment{}, false, err
	}
	return *list[0], true, nil
}

// DeploymentsAt is DeploymentAt for a page of runs in one statement: the
// i-th deployment answers keys[i], nil where the environment had none yet.
// db may be a transaction.
func DeploymentsAt(ctx context.Context, db pgdb.DB, keys []DeploymentKey) ([]*Deployment, error) {
	out := make([]*Deployment, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	envs, times := make([]string, len(keys)), make([]time.Time, len(keys))
	for i, k := range keys {
		envs[i], times[i] = k.EnvironmentID, k.At
	}
	type found struct {
		n int
		d Deployment
	}
	rows, err := pgdb.QueryAll(ctx, db, func(row pgx.Row, f *found) error {
		return row.Scan(&f.n, &f.d.ID, &f.d.Environment, &f.d.Version, &f.d.DeployedAt, &f.d.URL, &f.d.RecordedBy, &f.d.RecordedAt)
	}, deploymentAtSQL, envs, times)
	if err != nil {
		return nil, err
	}
	for _, f := range rows {
		out[f.n-1] = &f.d
	}
	return out, nil
}

// lastDeploymentsSQL reads the newest deployment of each environment, one
// index probe per environment.
const lastDeploymentsSQL = `
SELECT ` + deploymentColumns + `
FROM ` + accounts.EnvironmentDirectory + ` e
CROSS JOIN LATERAL (
    SELECT * FROM deployments x WHERE x.environment_id = e.id ORDER BY x.deployed_at DESC, x.id DESC LIMIT 1
) d
ORDER BY e.name`

// LastDeployments returns the newest deployment of each environment that
// has one, by environment name. db may be a transaction.
func LastDeployments(ctx context.Context, db pgdb.DB) ([]Deployment, error) {
	return pgdb.QueryAll(ctx, db, scanDeployment, lastDeploymentsSQL)
}
