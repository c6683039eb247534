package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// The fixture: one environment with one role whose pool holds poolSize
// accounts, which the HTTP and SELECT phases read round-robin.
const (
	benchEnvironment = "bench"
	benchRole        = "buyer"
	benchDomain      = "qa.example.test"
	poolSize         = 32
)

// seedAccounts creates the fixture through the API with the admin token and
// returns the ids of its accounts.
func seedAccounts(ctx context.Context, baseURL, adminSecret string) ([]string, error) {
	a := stack.NewAPI(baseURL, adminSecret)
	env := map[string]any{"name": benchEnvironment, "email_domains": []string{benchDomain}}
	if err := a.Call(ctx, http.MethodPost, "/v1/environments", env, http.StatusCreated, nil); err != nil {
		return nil, err
	}
	role := map[string]any{"name": benchRole, "pool_size": poolSize}
	if err := a.Call(ctx, http.MethodPost, "/v1/environments/"+benchEnvironment+"/roles", role, http.StatusCreated, nil); err != nil {
		return nil, err
	}
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := a.Call(ctx, http.MethodGet, "/v1/accounts?environment="+benchEnvironment, nil, http.StatusOK, &list); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(list.Items))
	for _, it := range list.Items {
		ids = append(ids, it.ID)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("GET /v1/accounts?environment=%s listed no accounts after creating a role of %d", benchEnvironment, poolSize)
	}
	return ids, nil
}
