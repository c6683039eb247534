package run

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The statements that name table flows: no other file holds SQL for it.
// An environment's name and its roles are read through package accounts'
// views (accounts.EnvironmentDirectory, accounts.RoleDirectory).

const flowColumns = `f.id::text, e.name, f.name, f.role, f.every_seconds, f.created_at, f.updated_at`

func scanFlow(row pgx.Row, f *Flow) error {
	if err := row.Scan(&f.ID, &f.Environment, &f.Name, &f.Role, &f.EverySeconds, &f.CreatedAt, &f.UpdatedAt); err != nil {
		return err
	}
	f.Every = FormatEvery(f.EverySeconds)
	return nil
}

// flowReturning reads the flow a write returns as f.
const flowReturning = ` RETURNING *)
SELECT ` + flowColumns + ` FROM f JOIN ` + accounts.EnvironmentDirectory + ` e ON e.id = f.environment_id`

const (
	flowFrom    = ` FROM flows f JOIN ` + accounts.EnvironmentDirectory + ` e ON e.id = f.environment_id`
	getFlowSQL  = `SELECT ` + flowColumns + flowFrom + ` WHERE f.environment_id = $1 AND f.name = $2`
	lockFlowSQL = getFlowSQL + ` FOR UPDATE OF f`
	// listFlowsSQL lists one environment's flows, or with $1 NULL every
	// environment's.
	listFlowsSQL = `SELECT ` + flowColumns + flowFrom + ` WHERE $1::uuid IS NULL OR f.environment_id = $1 ORDER BY e.name, f.name`
	// insertFlowSQL creates a flow, or nothing (no row) when one of its
	// name already exists.
	insertFlowSQL = `WITH f AS (
INSERT INTO flows (environment_id, name, role, every_seconds, created_at, updated_at)
VALUES ($1, $2, $3, $4, coalesce($5::timestamptz, now()), coalesce($5::timestamptz, now()))
ON CONFLICT (environment_id, name) DO NOTHING` + flowReturning
	updateFlowSQL = `WITH f AS (
UPDATE flows SET role = $2, every_seconds = $3, updated_at = coalesce($4::timestamptz, now()) WHERE id = $1` + flowReturning
	deleteFlowSQL = `WITH f AS (DELETE FROM flows WHERE environment_id = $1 AND name = $2` + flowReturning
	roleExistsSQL = `SELECT EXISTS (SELECT 1 FROM ` + accounts.RoleDirectory + ` WHERE environment_id = $1 AND name = $2 AND deleted_at IS NULL)`
)

func getFlow(ctx context.Context, db pgdb.DB, envID, name string) (Flow, bool, error) {
	return pgdb.QueryMaybe(ctx, db, scanFlow, pgdb.Conflict{}, getFlowSQL, envID, name)
}

// lockFlow reads flow name of envID and locks it until tx ends.
func lockFlow(ctx context.Context, tx pgx.Tx, envID, name string) (Flow, bool, error) {
	return pgdb.QueryMaybe(ctx, tx, scanFlow, pgdb.Conflict{}, lockFlowSQL, envID, name)
}

// listFlows lists the flows of envID, or of every environment when envID
// is empty.
func listFlows(ctx context.Context, db pgdb.DB, envID string) ([]Flow, error) {
	var id *string
	if envID != "" {
		id = &envID
	}
	return pgdb.QueryAll(ctx, db, scanFlow, listFlowsSQL, id)
}

func insertFlow(ctx context.Context, tx pgx.Tx, envID, name, role string, every int, now *time.Time) (Flow, bool, error) {
	return pgdb.QueryMaybe(ctx, tx, scanFlow, pgdb.Conflict{}, insertFlowSQL, envID, name, role, every, now)
}

func updateFlow(ctx context.Context, tx pgx.Tx, id, role string, every int, now *time.Time) (Flow, error) {
	return pgdb.QueryOne(ctx, tx, scanFlow, "the flow was deleted meanwhile", updateFlowSQL, id, role, every, now)
}

// deleteFlow deletes flow name of envID and returns it, or false when there
// is none.
func deleteFlow(ctx context.Context, tx pgx.Tx, envID, name string) (Flow, bool, error) {
	return pgdb.QueryMaybe(ctx, tx, scanFlow, pgdb.Conflict{}, deleteFlowSQL, envID, name)
}

// roleExists reports whether environment envID has a role named role (not
// deleted).
func roleExists(ctx context.Context, tx pgx.Tx, envID, role string) (bool, error) {
	return pgdb.QueryOne(ctx, tx, pgdb.Scalar[bool], "", roleExistsSQL, envID, role)
}

// lastPassedSQL reads, for every flow that passed within the last
// LastPassedWindow ($1), when its last passed run recorded that outcome:
// the flow's leases are walked newest first through leases_acquired, back
// to the window's start at most, so a scrape never reads all the runs (the
// runs carry no index of their own: their outcome's update stays HOT).
const lastPassedSQL = `SELECT e.name, f.name, p.outcome_at FROM flows f JOIN ` + accounts.EnvironmentDirectory + ` e ON e.id = f.environment_id
CROSS JOIN LATERAL (
    SELECT x.outcome_at FROM ` + LeaseView + ` l
    JOIN runs x ON x.lease_id = l.id
    JOIN ` + accounts.RoleDirectory + ` rd ON rd.id = l.role_id
    WHERE l.acquired_at > now() - $1::interval AND x.flow = f.name AND x.outcome = 'passed' AND rd.environment_id = f.environment_id
    ORDER BY l.acquired_at DESC, l.id DESC LIMIT 1
) p
ORDER BY e.name, f.name`

// LastPassedWindow is how far back LastPassed looks: twice the longest
// cadence a flow may have (MaxEvery). A flow that has not passed within it
// is late whatever its cadence, and alerts tell it by the flow's declared
// time (understudy_flow_declared_timestamp_seconds).
const LastPassedWindow = 14 * 24 * time.Hour

// FlowSuccess is when a flow's last passed run recorded its outcome.
type FlowSuccess struct {
	Environment, Flow string
	At                time.Time
}

// LastPassed returns, for every declared flow that has passed within
// LastPassedWindow, when its last passed run recorded that outcome, by
// environment and name. A run counts for the flow of its name in its
// lease's environment.
func (f *Flows) LastPassed(ctx context.Context) ([]FlowSuccess, error) {
	return pgdb.QueryAll(ctx, f.db, func(row pgx.Row, s *FlowSuccess) error {
		return row.Scan(&s.Environment, &s.Flow, &s.At)
	}, lastPassedSQL, LastPassedWindow)
}
