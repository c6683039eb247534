package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/bench/internal/stack"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

// The fixture: environment production with role buyer, whose retired
// accounts fill the exclusion list, and one PostHog destination.
const (
	benchEnvironment = "production"
	benchRole        = "buyer"
	benchDestination = "posthog"
)

// createFixture creates the environment and role through the API, then
// the accounts and the list in SQL, and returns the list's size.
func createFixture(ctx context.Context, admin stack.API, dbURL string, accounts int) (int, error) {
	env := map[string]any{"name": benchEnvironment, "email_domains": []string{"qa.example.test"}}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments", env, http.StatusCreated, nil); err != nil {
		return 0, err
	}
	role := map[string]any{"name": benchRole, "pool_size": 1}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments/"+benchEnvironment+"/roles", role, http.StatusCreated, nil); err != nil {
		return 0, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, fmt.Errorf("connecting to the scratch database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := stack.FillListed(ctx, conn, accounts); err != nil {
		return 0, err
	}
	var size int
	err = conn.QueryRow(ctx, `SELECT l.size FROM exclusion_lists l JOIN environments e ON e.id = l.environment_id WHERE e.name = $1`,
		benchEnvironment).Scan(&size)
	return size, err
}

// attachDestination attaches a PostHog destination pointed at the fake
// (through the counter at host), without a personal API key (mark only,
// through /batch/) unless cohort, synced every 24h so that the scheduler
// leaves it to the driver.
func attachDestination(ctx context.Context, admin stack.API, fake *posthogtest.Fake, host string, cohort bool) error {
	secrets := map[string]string{"project_api_key": fake.ProjectToken()}
	if cohort {
		secrets["personal_api_key"] = fake.PersonalKey()
	}
	d := map[string]any{
		"name": benchDestination, "kind": "posthog", "sync_interval": "24h",
		"settings": map[string]any{"ingest_host": host, "app_host": host, "project_id": fake.ProjectID(), "person_wait": "1s"},
		"secrets":  secrets,
	}
	return admin.Call(ctx, http.MethodPost, "/v1/environments/"+benchEnvironment+"/destinations", d, http.StatusCreated, nil)
}
