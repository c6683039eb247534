package main

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

// The example rule files shipped for operators: the analytics
// destinations' sync, and the flows and deployments.
const (
	alertsFile     = "../../examples/prometheus/understudy-alerts.yml"
	flowAlertsFile = "../../examples/prometheus/understudy-flow-alerts.yml"
)

// ruleFile is the part of Prometheus's rule file format the checks read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readAlerts(t *testing.T) ruleFile { return readRuleFile(t, alertsFile) }

func readRuleFile(t *testing.T, name string) ruleFile {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// metricName matches the names of the server's own series in an expression.
var metricName = regexp.MustCompile(`\bunderstudy_[a-z0-9_]+`)

func TestExampleAlertsAreComplete(t *testing.T) {
	t.Parallel()
	checkRuleFile(t, readAlerts(t), "$labels.destination",
		"UnderstudyExclusionListNotSynced", "UnderstudyExclusionListNeverSynced", "UnderstudySyncRunsFailing")
	checkRuleFile(t, readRuleFile(t, flowAlertsFile), "$labels.environment",
		"UnderstudyFlowFailingSinceDeployment", "UnderstudyFlowLate", "UnderstudyLeasesAbandoned")
}

// checkRuleFile checks that every rule of f is a complete alert whose
// description names the label what, and that f has the alerts want.
func checkRuleFile(t *testing.T, f ruleFile, what string, want ...string) {
	t.Helper()
	if len(f.Groups) == 0 {
		t.Fatal("no groups")
	}
	alerts := map[string]bool{}
	for _, g := range f.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q has no name or no rules", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: a rule that is not an alert (record %q)", g.Name, r.Record)
				continue
			}
			alerts[r.Alert] = true
			switch {
			case strings.TrimSpace(r.Expr) == "", r.For == "", r.Labels["severity"] == "", r.Annotations["summary"] == "":
				t.Errorf("%s lacks one of expr, for, labels.severity, annotations.summary: %+v", r.Alert, r)
			case !strings.Contains(r.Annotations["description"], what):
				t.Errorf("%s: its description does not name %s", r.Alert, what)
			case !metricName.MatchString(r.Expr):
				t.Errorf("%s reads none of the server's metrics: %s", r.Alert, r.Expr)
			}
		}
	}
	for _, w := range want {
		if !alerts[w] {
			t.Errorf("no alert %s", w)
		}
	}
}

// exportedNames scrapes the server's /metrics and returns the name of
// every series it exports (a histogram's _bucket, _sum and _count too).
func exportedNames(t *testing.T, s *testServer) map[string]bool {
	t.Helper()
	resp, body := s.raw(t, "", http.MethodGet, "/metrics", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	names := map[string]bool{}
	for line := range strings.Lines(string(body)) {
		f := strings.Fields(line)
		if len(f) != 4 || f[1] != "TYPE" {
			continue
		}
		names[f[2]] = true
		if f[3] == "histogram" || f[3] == "summary" {
			names[f[2]+"_bucket"], names[f[2]+"_sum"], names[f[2]+"_count"] = true, true, true
		}
	}
	return names
}

func TestExampleAlertsReadOnlyExportedMetrics(t *testing.T) {
	t.Parallel()
	// A sync run, so that the sync metrics (derived from runs) are exported.
	s := withRole(t, "2")
	ph := posthogtest.New(t, posthogtest.Options{})
	settings := map[string]any{"ingest_host": ph.URL, "app_host": ph.URL, "project_id": ph.ProjectID(), "person_wait": "0s"}
	secrets := map[string]string{"project_api_key": ph.ProjectToken(), "personal_api_key": ph.PersonalKey()}
	admin, ctx := s.client(t, s.Admin), context.Background()
	if r, err := admin.AttachDestinationWithResponse(ctx, "production", openapi.DestinationAttach{Name: "ph", Kind: "posthog",
		Settings: &settings, Secrets: &secrets}); err != nil || r.JSON201 == nil {
		t.Fatalf("attach: %v %s", err, r.Body)
	}
	if r, err := admin.SyncDestinationWithResponse(ctx, "production", "ph", &openapi.SyncDestinationParams{}); err != nil || r.StatusCode() != http.StatusOK {
		t.Fatalf("sync: %v %s", err, r.Body)
	}
	names := exportedNames(t, s)
	for _, want := range []string{"understudy_sync_runs_total", "understudy_exclusion_list_size", "understudy_http_request_duration_seconds_bucket"} {
		if !names[want] {
			t.Fatalf("the scrape lacks %s, so the check below could not fail: %v", want, names)
		}
	}
	for _, g := range readAlerts(t).Groups {
		for _, r := range g.Rules {
			for _, m := range metricName.FindAllString(r.Expr, -1) {
				if !names[m] {
					t.Errorf("%s reads %s, which the server does not export", r.Alert, m)
				}
			}
		}
	}
}

func TestFlowAlertsReadExportedMetrics(t *testing.T) {
	t.Parallel()
	s := withRole(t, "1")
	mustOK(t, s.cli(t, s.Runner, "deployments", "record", "--environment", "production", "--version", "v1"))
	if resp, b := s.raw(t, s.Admin, http.MethodPut, "/v1/environments/production/flows/checkout", "application/json",
		strings.NewReader(`{"role":"buyer","every":"15m"}`)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("declaring a flow: %d %s", resp.StatusCode, b)
	}
	// A passed run of the flow: the runs' series exist once a run has
	// ended, the flow's last success once it has passed.
	mustOK(t, s.cli(t, s.Runner, "lease", "--environment", "production", "--role", "buyer", "--flow", "checkout", "--", "true"))
	names := exportedNames(t, s)
	read := map[string]bool{}
	for _, g := range readRuleFile(t, flowAlertsFile).Groups {
		for _, r := range g.Rules {
			for _, m := range metricName.FindAllString(r.Expr, -1) {
				read[m] = true
				if !names[m] {
					t.Errorf("%s reads %s, which the server does not export", r.Alert, m)
				}
			}
		}
	}
	for _, m := range []string{"understudy_deployment_last_timestamp_seconds", "understudy_flow_cadence_seconds", "understudy_flow_declared_timestamp_seconds",
		"understudy_runs_total", "understudy_flow_last_success_timestamp_seconds"} {
		if !read[m] || !names[m] {
			t.Errorf("%s: read by the rules %v, exported %v; want both", m, read[m], names[m])
		}
	}
}
