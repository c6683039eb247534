package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// The fixture: environment production with role buyer, whose policy keeps
// its accounts to testers on the leaderboards, and retired accounts of it
// on the exclusion list.
const (
	benchEnvironment = "production"
	benchRole        = "buyer"
	benchSurface     = "leaderboards"
	benchViewer      = "someone@example.com"
)

// createFixture creates the environment and role through the API, then
// the accounts and their identifiers in SQL, and returns the
// environment's id (what the bare join is given, as the check's first
// statement gives it to its second).
func createFixture(ctx context.Context, admin stack.API, dbURL string, accounts int) (string, error) {
	env := map[string]any{"name": benchEnvironment, "email_domains": []string{"qa.example.test"}}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments", env, http.StatusCreated, nil); err != nil {
		return "", err
	}
	role := map[string]any{"name": benchRole, "pool_size": 1, "isolation_policy": map[string]string{benchSurface: "testers_only"}}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments/"+benchEnvironment+"/roles", role, http.StatusCreated, nil); err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", fmt.Errorf("connecting to the scratch database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := stack.FillListed(ctx, conn, accounts); err != nil {
		return "", err
	}
	var envID string
	err = conn.QueryRow(ctx, `SELECT id::text FROM environments WHERE name = $1`, benchEnvironment).Scan(&envID)
	return envID, err
}

// subjects returns n subjects: the even ones listed accounts' emails, the
// odd ones real users' (not on the list).
func subjects(n int) []string {
	out := make([]string, n)
	for i := range out {
		if i%2 == 0 {
			out[i] = fmt.Sprintf("bench-%d@qa.example.test", i/2+1)
		} else {
			out[i] = fmt.Sprintf("real-%d@example.com", i)
		}
	}
	return out
}
