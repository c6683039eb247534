package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/openapi"
)

func TestDeploymentsRecordAndListThroughTheCLI(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	now := time.Now().UTC().Truncate(time.Second)
	first := now.Add(-2 * time.Hour).Format(time.RFC3339)

	// CI records with its runner token.
	res := mustOK(t, s.cli(t, s.Runner, "deployments", "record", "--environment", "production", "--version", "v1.4.1",
		"--time", first, "--url", "https://github.com/acme/shop/actions/runs/41"))
	rs := rows(t, res.Stdout)
	if len(rs) != 1 || rs[0][1] != "production" || rs[0][2] != "v1.4.1" || rs[0][3] != first || rs[0][4] != "test-runner" ||
		rs[0][5] != "https://github.com/acme/shop/actions/runs/41" {
		t.Fatalf("record printed %v", rs)
	}
	id := rs[0][0]
	// A retried step records nothing new.
	res = mustOK(t, s.cli(t, s.Runner, "deployments", "record", "--environment", "production", "--version", "v1.4.1",
		"--time", first, "--url", "https://github.com/acme/shop/actions/runs/41"))
	if rs := rows(t, res.Stdout); len(rs) != 1 || rs[0][0] != id || !strings.Contains(res.Stderr, "already recorded") {
		t.Fatalf("the repeat printed %v / %s; want deployment %s, already recorded", rs, res.Stderr, id)
	}
	// Without --time, the deployment is now.
	d := decode[openapi.Deployment](t, s, "deployments", "record", "--environment", "production", "--version", "v1.4.2")
	if d.Url != nil || d.DeployedAt.Before(now.Add(-time.Minute)) || d.DeployedAt.After(time.Now().Add(time.Minute)) || d.RecordedBy != "test-admin" {
		t.Fatalf("a deployment without --time: %+v", d)
	}

	list := decode[openapi.DeploymentList](t, s, "deployments", "list", "--environment", "production")
	if len(list.Items) != 2 || list.Items[0].Version != "v1.4.2" || list.Items[1].Id != id || list.NextBefore != nil {
		t.Fatalf("list = %+v, want v1.4.2 then v1.4.1", list)
	}
	// A reader lists, a page at a time.
	res = mustOK(t, s.cli(t, s.Reader, "deployments", "list", "--limit", "1"))
	if rs := rows(t, res.Stdout); len(rs) != 1 || rs[0][2] != "v1.4.2" || !strings.Contains(res.Stderr, "--before "+d.Id) {
		t.Fatalf("the first page: %v / %s", rs, res.Stderr)
	}
	res = mustOK(t, s.cli(t, s.Reader, "deployments", "list", "--limit", "1", "--before", d.Id))
	if rs := rows(t, res.Stdout); len(rs) != 1 || rs[0][0] != id || res.Stderr != "" {
		t.Fatalf("the second page: %v / %s", rs, res.Stderr)
	}
	res = mustOK(t, s.cli(t, s.Reader, "deployments", "list", "--since", now.Add(-time.Hour).Format(time.RFC3339)))
	if rs := rows(t, res.Stdout); len(rs) != 1 || rs[0][2] != "v1.4.2" {
		t.Fatalf("--since an hour ago: %v", rs)
	}

	// What is refused, and how it exits.
	mustFail(t, s.cli(t, s.Reader, "deployments", "record", "--environment", "production", "--version", "v2"), exitAuth, "scope")
	mustFail(t, s.cli(t, s.Runner, "deployments", "record", "--environment", "nowhere", "--version", "v2"), exitNotFound, "environment nowhere does not exist")
	mustFail(t, s.cli(t, s.Runner, "deployments", "record", "--environment", "production", "--version", "v2", "--url", "ftp://ci.example.test/1"), exitInvalid, "url:")
	mustFail(t, s.cli(t, s.Runner, "deployments", "record", "--environment", "production", "--version", "v2",
		"--time", time.Now().Add(time.Hour).Format(time.RFC3339)), exitInvalid, "deployed_at:", "ahead")
	mustFail(t, s.cli(t, s.Runner, "deployments", "record", "--environment", "production", "--version", "v1.4.1",
		"--time", first, "--url", "https://github.com/acme/shop/actions/runs/99"), exitConflict, "another url")
	mustFail(t, s.cli(t, s.Runner, "deployments", "record", "--environment", "production"), exitUsage, "--version")
	mustFail(t, s.cli(t, s.Runner, "deployments", "record", "--environment", "production", "--version", "v2", "--time", "yesterday"), exitUsage, "RFC 3339")
	mustFail(t, s.cli(t, s.Reader, "deployments", "list", "--environment", "nowhere"), exitNotFound, "nowhere")
	mustFail(t, s.cli(t, s.Reader, "deployments", "list", "--before", "not-an-id"), exitInvalid, "before")
	mustFail(t, s.cli(t, s.Reader, "deployments", "frobnicate"), exitUsage, "unknown command")

	events := decode[openapi.AuditEventList](t, s, "audit", "list", "--action", "deployment.record")
	if len(events.Items) != 2 || events.Items[0].Actor != "test-admin" || events.Items[1].Actor != "test-runner" || events.Items[1].TargetId != id {
		t.Fatalf("deployment.record events = %+v, want the two recorded, by test-runner then test-admin", events.Items)
	}
}

func TestDeploymentsRESTRefusesByFieldAndScope(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	analytics := s.tokenOf(t, "test-analytics", access.ScopeAnalytics)
	post := func(token, body string) (int, openapi.Problem) {
		t.Helper()
		resp, b := s.raw(t, token, http.MethodPost, "/v1/deployments", "application/json", strings.NewReader(body))
		var p openapi.Problem
		if resp.StatusCode >= 400 {
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatalf("%d without a problem: %s", resp.StatusCode, b)
			}
		}
		return resp.StatusCode, p
	}
	for _, c := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"environment":"production"}`, http.StatusUnprocessableEntity, "version"},
		{`{"environment":"production","version":"v1","deployed_at":"tuesday"}`, http.StatusUnprocessableEntity, "deployed_at"},
		{`{"environment":"production","version":"v1","colour":"red"}`, http.StatusBadRequest, "colour"},
		{`{"environment":"production","version":"` + strings.Repeat("v", 201) + `"}`, http.StatusUnprocessableEntity, "version"},
		{`{"environment":"production","version":"v1\u0007"}`, http.StatusUnprocessableEntity, "version"},
		{`{"environment":"production","version":"v1","url":"https://bot:hunter2@ci.example.test/"}`, http.StatusUnprocessableEntity, "url"},
		{`{"environment":"production","version":"v1","deployed_at":"2001-01-01T00:00:00Z"}`, http.StatusUnprocessableEntity, "deployed_at"},
	} {
		status, p := post(s.Runner, c.body)
		if status != c.status || !problemNames(p, c.field) {
			t.Errorf("%s: %d %+v, want %d naming %s", c.body, status, p, c.status, c.field)
		}
		if strings.Contains(p.Detail, "hunter2") {
			t.Errorf("the problem echoes the url's password: %s", p.Detail)
		}
	}
	if status, p := post(s.Runner, `{"environment":"nowhere","version":"v1"}`); status != http.StatusNotFound || !strings.Contains(p.Detail, "nowhere") {
		t.Errorf("an unknown environment: %d %+v", status, p)
	}
	for _, token := range []string{s.Reader, analytics} {
		if status, _ := post(token, `{"environment":"production","version":"v1"}`); status != http.StatusForbidden {
			t.Errorf("a %s token recorded a deployment: %d", scopeName(s, token), status)
		}
	}
	if resp, _ := s.raw(t, analytics, http.MethodGet, "/v1/deployments", "", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an analytics token listed deployments: %d", resp.StatusCode)
	}
	if status, _ := post(s.Runner, `{"environment":"production","version":"v1"}`); status != http.StatusCreated {
		t.Errorf("a runner's deployment: %d, want 201", status)
	}
	for query, field := range map[string]string{"?limit=0": "limit", "?since=yesterday": "since", "?before=x": "before",
		"?since=2025-01-02T00:00:00Z&until=2025-01-01T00:00:00Z": "until"} {
		resp, b := s.raw(t, s.Reader, http.MethodGet, "/v1/deployments"+query, "", nil)
		var p openapi.Problem
		_ = json.Unmarshal(b, &p)
		if (resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnprocessableEntity) || !problemNames(p, field) {
			t.Errorf("GET /v1/deployments%s: %d %s, want 400 or 422 naming %s", query, resp.StatusCode, b, field)
		}
	}
}

func TestFlowsRESTDeclareReadAndDelete(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	put := func(token, env, name, body string) (int, []byte) {
		t.Helper()
		resp, b := s.raw(t, token, http.MethodPut, "/v1/environments/"+env+"/flows/"+name, "application/json", strings.NewReader(body))
		return resp.StatusCode, b
	}
	if status, b := put(s.Admin, "production", "checkout", `{"role":"buyer","every":"15m"}`); status != http.StatusCreated {
		t.Fatalf("put: %d %s", status, b)
	}
	status, b := put(s.Admin, "production", "checkout", `{"role":"buyer","every":"30m"}`)
	var fl openapi.Flow
	if err := json.Unmarshal(b, &fl); status != http.StatusOK || err != nil || fl.Every != "30m" || fl.EverySeconds != 1800 || fl.Role != "buyer" {
		t.Fatalf("put again: %d %s", status, b)
	}
	c := s.client(t, s.Reader)
	got, err := c.GetFlowWithResponse(t.Context(), "production", "checkout")
	if err != nil || got.JSON200 == nil || got.JSON200.Id != fl.Id || got.JSON200.Every != "30m" {
		t.Fatalf("get: %v %s", err, got.Body)
	}
	list, err := c.ListFlowsWithResponse(t.Context(), "production")
	if err != nil || list.JSON200 == nil || len(list.JSON200.Items) != 1 {
		t.Fatalf("list: %v %s", err, list.Body)
	}

	for _, x := range []struct {
		env, name, body string
		status          int
		field           string
	}{
		{"production", "checkout", `{"role":"buyer"}`, http.StatusUnprocessableEntity, "every"},
		{"production", "checkout", `{"role":"buyer","every":"15m","owner":"me"}`, http.StatusBadRequest, "owner"},
		{"production", "checkout", `{"role":"buyer","every":"10s"}`, http.StatusUnprocessableEntity, "every"},
		{"production", "checkout", `{"role":"buyer","every":"soon"}`, http.StatusUnprocessableEntity, "every"},
		{"production", "checkout", `{"role":"seller","every":"15m"}`, http.StatusUnprocessableEntity, "role"},
		{"production", "Check-Out", `{"role":"buyer","every":"15m"}`, http.StatusUnprocessableEntity, "name"},
	} {
		status, b := put(s.Admin, x.env, x.name, x.body)
		var p openapi.Problem
		_ = json.Unmarshal(b, &p)
		if status != x.status || !problemNames(p, x.field) {
			t.Errorf("PUT %s/%s %s: %d %s, want %d naming %s", x.env, x.name, x.body, status, b, x.status, x.field)
		}
	}
	if status, b := put(s.Admin, "nowhere", "checkout", `{"role":"buyer","every":"15m"}`); status != http.StatusNotFound {
		t.Errorf("an unknown environment: %d %s", status, b)
	}
	for _, token := range []string{s.Runner, s.Reader} {
		if status, _ := put(token, "production", "checkout", `{"role":"buyer","every":"15m"}`); status != http.StatusForbidden {
			t.Errorf("a %s token declared a flow: %d", scopeName(s, token), status)
		}
		if resp, _ := s.raw(t, token, http.MethodDelete, "/v1/environments/production/flows/checkout", "", nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a %s token deleted a flow: %d", scopeName(s, token), resp.StatusCode)
		}
	}
	if resp, _ := s.raw(t, s.Reader, http.MethodGet, "/v1/environments/nowhere/flows", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the flows of an unknown environment: %d", resp.StatusCode)
	}

	if resp, b := s.raw(t, s.Admin, http.MethodDelete, "/v1/environments/production/flows/checkout", "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	if resp, _ := s.raw(t, s.Reader, http.MethodGet, "/v1/environments/production/flows/checkout", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a deleted flow: %d", resp.StatusCode)
	}
	var actions []string
	for _, e := range decode[openapi.AuditEventList](t, s, "audit", "list", "--target-type", "flow").Items {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "flow.delete,flow.update,flow.create" {
		t.Errorf("flow audit events = %v, want create, update, delete", actions)
	}
}

// problemNames reports whether p names field in its errors, or, for a
// parameter, in its detail.
func problemNames(p openapi.Problem, field string) bool {
	if p.Errors != nil {
		for _, f := range *p.Errors {
			if f.Field == field || strings.HasPrefix(f.Field, field+".") || strings.HasPrefix(f.Field, field+"[") {
				return true
			}
		}
	}
	return strings.Contains(p.Detail, field)
}

func scopeName(s *testServer, token string) string {
	switch token {
	case s.Admin:
		return "admin"
	case s.Runner:
		return "runner"
	case s.Reader:
		return "reader"
	}
	return "analytics"
}
