package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// The fixture: the spec declares environment specEnvironment; the REST
// baseline creates the same objects in peerEnvironment.
const (
	benchDomain     = "qa.example.test"
	specEnvironment = "bench"
	peerEnvironment = "peer"
	// forEachEnvironment holds the for_each spec's roles; that spec is
	// applied in workspace forEachWorkspace.
	forEachEnvironment = "fe"
	forEachWorkspace   = "foreach"
)

// roleName is the name (and the spec's label) of role i, from 1: r001.
func roleName(i int) string { return fmt.Sprintf("r%03d", i) }

// specFiles returns the files of a spec of environment bench and roles
// r001…r<roles>, each of pool accounts, by file name. They are written as
// understudy fmt would leave them.
func specFiles(roles, pool int) map[string]string {
	var main strings.Builder
	fmt.Fprintf(&main, "# Environment %s and %d roles of %d accounts each: %d accounts, no apps.\n\n", specEnvironment, roles, pool, roles*pool)
	fmt.Fprintf(&main, "environment %q {\n  email_domains = [var.email_domain]\n}\n", specEnvironment)
	for i := 1; i <= roles; i++ {
		fmt.Fprintf(&main, "\nrole %q {\n  environment = environment.%s.name\n  pool_size   = var.pool_size\n}\n", roleName(i), specEnvironment)
	}
	vars := fmt.Sprintf(`variable "email_domain" {
  type    = string
  default = %q
}

variable "pool_size" {
  type    = number
  default = %d
}
`, benchDomain, pool)
	return map[string]string{"main.understudy.hcl": main.String(), "variables.understudy.hcl": vars}
}

// forEachRole is the name of the for_each spec's role i, from 1: f001.
func forEachRole(i int) string { return fmt.Sprintf("f%03d", i) }

// forEachFiles returns the files of a spec of objects objects made with
// for_each: environment fe, and objects-1 roles of one account each
// (f001…) from one role block over a set of their names. They are
// written as understudy fmt would leave them.
func forEachFiles(objects int) map[string]string {
	var main strings.Builder
	fmt.Fprintf(&main, "# Environment %s and %d roles of one account each, from one block: %d objects.\n\n", forEachEnvironment, objects-1, objects)
	main.WriteString("locals {\n  roles = [\n")
	for i := 1; i < objects; i++ {
		fmt.Fprintf(&main, "    %q,\n", forEachRole(i))
	}
	main.WriteString("  ]\n}\n\n")
	fmt.Fprintf(&main, "environment %q {\n  email_domains = [%q]\n}\n\n", forEachEnvironment, benchDomain)
	fmt.Fprintf(&main, "role \"f\" {\n  for_each    = toset(local.roles)\n  environment = environment.%s.name\n  name        = each.key\n  pool_size   = 1\n}\n", forEachEnvironment)
	return map[string]string{"main.understudy.hcl": main.String()}
}

// writeSpec writes specFiles(roles, pool) into dir.
func writeSpec(dir string, roles, pool int) error {
	return writeFiles(dir, specFiles(roles, pool))
}

// writeFiles writes files, by name, into dir.
func writeFiles(dir string, files map[string]string) error {
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			return fmt.Errorf("writing the spec: %w", err)
		}
	}
	return nil
}

// createDirect creates environment env and its roles r001…r<roles> of
// pool accounts through the REST API, one POST per object, as a script
// without the spec would.
func createDirect(ctx context.Context, admin stack.API, env string, roles, pool int) error {
	e := map[string]any{"name": env, "email_domains": []string{benchDomain}}
	if err := admin.Call(ctx, http.MethodPost, "/v1/environments", e, http.StatusCreated, nil); err != nil {
		return err
	}
	for i := 1; i <= roles; i++ {
		r := map[string]any{"name": roleName(i), "pool_size": pool}
		if err := admin.Call(ctx, http.MethodPost, "/v1/environments/"+env+"/roles", r, http.StatusCreated, nil); err != nil {
			return err
		}
	}
	return nil
}

// accountPage is the part of GET /v1/accounts the driver reads.
type accountPage struct {
	Items []struct {
		Status string `json:"status"`
	} `json:"items"`
	NextOffset *int `json:"next_offset"`
}

// pageSize is the limit of each GET /v1/accounts. Not the documented
// maximum, 1000: at 1000 the server answers no next_offset even when more
// accounts follow (the handler asks the store for limit+1 rows to see
// whether a next page exists, and the store caps that at 1000).
const pageSize = 500

// countAccounts returns the active (not retired) accounts of env by
// status, reading every page of GET /v1/accounts.
func countAccounts(ctx context.Context, api stack.API, env string) (map[string]int, error) {
	byStatus := map[string]int{}
	for offset := 0; ; {
		path := "/v1/accounts?limit=" + strconv.Itoa(pageSize) + "&environment=" + url.QueryEscape(env) + "&offset=" + strconv.Itoa(offset)
		var page accountPage
		if err := api.Call(ctx, http.MethodGet, path, nil, http.StatusOK, &page); err != nil {
			return nil, err
		}
		for _, a := range page.Items {
			byStatus[a.Status]++
		}
		if page.NextOffset == nil {
			return byStatus, nil
		}
		if *page.NextOffset <= offset {
			return nil, fmt.Errorf("GET /v1/accounts: next_offset %d after offset %d", *page.NextOffset, offset)
		}
		offset = *page.NextOffset
	}
}

// checkAccounts fails unless env has exactly want active accounts, all
// ready (no app to provision them into).
func checkAccounts(ctx context.Context, api stack.API, env string, want int) error {
	byStatus, err := countAccounts(ctx, api, env)
	if err != nil {
		return err
	}
	if byStatus["ready"] != want || len(byStatus) != 1 {
		return fmt.Errorf("environment %s has accounts %v, want %d ready", env, byStatus, want)
	}
	return nil
}
