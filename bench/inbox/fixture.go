package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// The fixture: one environment with one role; waiters accounts are leased
// for the delivery phase before anything is sent, and the ingest and
// memory phases send to the others, so that a waiter's inbox holds only
// what the delivery phase sends it.
const (
	benchEnvironment = "bench-inbox"
	benchRole        = "shopper"
	benchDomain      = "qa.example.test"
	waiters          = 8  // leases held by the delivery phase's waiters
	ingestAccounts   = 16 // accounts the ingest and memory phases send to
	leaseTTL         = 3600
)

// account is a synthetic account the driver sends mail to.
type account struct {
	ID    string
	Email string
}

// createAccounts creates the environment and its role through the API with
// the admin token, and returns the role's accounts. With no app attached,
// every account is ready at once.
func createAccounts(ctx context.Context, admin stack.API) ([]account, error) {
	env := map[string]any{"name": benchEnvironment, "email_domains": []string{benchDomain}}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments", env, http.StatusCreated, nil); err != nil {
		return nil, err
	}
	role := map[string]any{"name": benchRole, "pool_size": waiters + ingestAccounts}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments/"+benchEnvironment+"/roles", role, http.StatusCreated, nil); err != nil {
		return nil, err
	}
	var list struct {
		Items []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Identity struct {
				Email string `json:"email"`
			} `json:"identity"`
		} `json:"items"`
	}
	if err := admin.Call(ctx, http.MethodGet, "/v1/accounts?environment="+url.QueryEscape(benchEnvironment), nil, http.StatusOK, &list); err != nil {
		return nil, err
	}
	var out []account
	for _, it := range list.Items {
		if it.Status != "ready" || it.Identity.Email == "" {
			return nil, fmt.Errorf("account %s of %s is %s with email %q, want ready with an email", it.ID, benchEnvironment, it.Status, it.Identity.Email)
		}
		out = append(out, account{ID: it.ID, Email: it.Identity.Email})
	}
	if len(out) != waiters+ingestAccounts {
		return nil, fmt.Errorf("GET /v1/accounts?environment=%s listed %d accounts, want %d", benchEnvironment, len(out), waiters+ingestAccounts)
	}
	return out, nil
}

// lease is a lease held by a waiter of the delivery phase.
type lease struct {
	ID    string
	Email string
}

// acquireLeases leases n accounts of the role with the runner token.
func acquireLeases(ctx context.Context, runner stack.API, n int) ([]lease, error) {
	out := make([]lease, 0, n)
	for i := range n {
		body := map[string]any{"environment": benchEnvironment, "role": benchRole,
			"holder": fmt.Sprintf("bench-waiter-%d", i), "ttl_seconds": leaseTTL, "wait_seconds": 0}
		var g struct {
			Lease struct {
				ID string `json:"id"`
			} `json:"lease"`
			Credentials struct {
				Email string `json:"email"`
			} `json:"credentials"`
		}
		if err := runner.Call(ctx, http.MethodPost, "/v1/leases", body, http.StatusCreated, &g); err != nil {
			return out, err
		}
		if g.Lease.ID == "" || g.Credentials.Email == "" {
			return out, fmt.Errorf("POST /v1/leases granted lease %q with email %q, want both", g.Lease.ID, g.Credentials.Email)
		}
		out = append(out, lease{ID: g.Lease.ID, Email: g.Credentials.Email})
	}
	return out, nil
}

// releaseLeases releases the leases (at the end of the run, so the
// database is dropped with nothing in flight).
func releaseLeases(ctx context.Context, runner stack.API, leases []lease) error {
	for _, l := range leases {
		if err := runner.Call(ctx, http.MethodPost, "/v1/leases/"+l.ID+"/release", map[string]any{}, http.StatusOK, nil); err != nil {
			return err
		}
	}
	return nil
}

// unleased returns the emails of the accounts no lease holds.
func unleased(accounts []account, leases []lease) []string {
	held := map[string]bool{}
	for _, l := range leases {
		held[l.Email] = true
	}
	var out []string
	for _, a := range accounts {
		if !held[a.Email] {
			out = append(out, a.Email)
		}
	}
	return out
}
