package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
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
	a := api{base: baseURL, auth: "Bearer " + adminSecret, hc: &http.Client{Timeout: 60 * time.Second}}
	env := map[string]any{"name": benchEnvironment, "email_domains": []string{benchDomain}}
	if err := a.call(ctx, http.MethodPost, "/v1/environments", env, http.StatusCreated, nil); err != nil {
		return nil, err
	}
	role := map[string]any{"name": benchRole, "pool_size": poolSize}
	if err := a.call(ctx, http.MethodPost, "/v1/environments/"+benchEnvironment+"/roles", role, http.StatusCreated, nil); err != nil {
		return nil, err
	}
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := a.call(ctx, http.MethodGet, "/v1/accounts?environment="+benchEnvironment, nil, http.StatusOK, &list); err != nil {
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

// api makes the fixture's calls.
type api struct {
	base, auth string
	hc         *http.Client
}

// call sends body (if not nil) as JSON, checks the status is want and
// decodes the answer into out (if not nil).
func (a api) call(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", a.auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d, want %d: %s (%v)", method, path, resp.StatusCode, want, bytes.TrimSpace(raw), err)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}
