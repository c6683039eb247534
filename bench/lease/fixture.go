package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// The fixture: two environments, each with one role whose pool holds one
// account per worker (so a worker always finds a free account), and one
// app: the in-memory fake in one, chirp through the postgres provider in
// the other.
const (
	benchDomain      = "qa.example.test"
	benchRole        = "tester"
	fakeEnvironment  = "bench-fake"
	fakeApp          = "mem"
	chirpEnvironment = "bench-chirp"
	chirpApp         = "chirp"
	// provisionTimeout bounds the wait for every account to be ready.
	provisionTimeout = 2 * time.Minute
)

// createEnvironment creates environment env with a role of pool accounts,
// and attaches app to it (an AppAttach document), which starts the
// accounts' provisioning.
func createEnvironment(ctx context.Context, admin stack.API, env string, pool int, app map[string]any) error {
	e := map[string]any{"name": env, "email_domains": []string{benchDomain}}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments", e, http.StatusCreated, nil); err != nil {
		return err
	}
	role := map[string]any{"name": benchRole, "pool_size": pool}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments/"+env+"/roles", role, http.StatusCreated, nil); err != nil {
		return err
	}
	return admin.Call(ctx, http.MethodPost, "/v1/environments/"+env+"/apps", app, http.StatusCreated, nil)
}

// accountList is the part of GET /v1/accounts the driver reads.
type accountList struct {
	Items []struct {
		ID           string `json:"id"`
		Status       string `json:"status"`
		StatusReason string `json:"status_reason"`
	} `json:"items"`
}

// waitReady polls the accounts of env until want of them are ready, and
// returns their ids (in slot order). An account that failed ends the wait
// with its reason.
func waitReady(ctx context.Context, api stack.API, env string, want int) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, provisionTimeout)
	defer cancel()
	for {
		var list accountList
		if err := api.Call(ctx, http.MethodGet, "/v1/accounts?environment="+url.QueryEscape(env), nil, http.StatusOK, &list); err != nil {
			return nil, err
		}
		var ids, waiting []string
		for _, a := range list.Items {
			switch a.Status {
			case "ready":
				ids = append(ids, a.ID)
			case "failed":
				return nil, fmt.Errorf("account %s of %s failed: %s", a.ID, env, a.StatusReason)
			default:
				waiting = append(waiting, a.ID+" "+a.Status)
			}
		}
		if len(ids) == want && len(waiting) == 0 {
			return ids, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d accounts of %s ready after %s (waiting: %s): %w",
				len(ids), want, env, provisionTimeout, strings.Join(waiting, ", "), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
