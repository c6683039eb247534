package openapi

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/snapshot"
)

func TestDeploymentAndFlowMetricsReadTheDatabase(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	at := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return at }
	ctx := access.WithCaller(context.Background(), access.Caller{Actor: "test"})
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	sched, _ := snapshot.NewScheduler(nil)
	acc, err := accounts.New(accounts.Config{DB: pool, OpenLeases: lease.OpenLeases, Keyring: kr, EmailDomains: []string{"qa.example.test"}, Provisioning: sched})
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"production", "staging", "sandbox"} {
		if _, err := acc.CreateEnvironment(ctx, accounts.Environment{Name: env, EmailDomains: []string{"qa.example.test"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := acc.CreateRole(ctx, "production", "buyer", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	deployments, _ := run.NewDeployments(run.DeploymentsConfig{DB: pool, Now: clock})
	flows, _ := run.NewFlows(run.FlowsConfig{DB: pool, Now: clock})

	reg := prometheus.NewRegistry()
	reg.MustRegister(&deploymentsCollector{deployments: deployments}, &flowsCollector{flows: flows})
	if got := gathered(t, reg); len(got) != 0 {
		t.Fatalf("before any deployment or flow: %v; want no series", got)
	}
	for _, d := range []run.DeploymentRecord{
		{Environment: "production", Version: "v2", DeployedAt: at.Add(-10 * time.Minute)},
		{Environment: "production", Version: "v1", DeployedAt: at.Add(-2 * time.Hour)},
		{Environment: "staging", Version: "s1", DeployedAt: at.Add(-90 * time.Second).Add(500 * time.Millisecond)},
	} {
		if _, _, err := deployments.Record(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for name, every := range map[string]string{"checkout": "15m", "sign-up": "1d"} {
		if _, _, err := flows.Put(ctx, "production", name, run.FlowChange{Role: "buyer", Every: every}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]float64{
		`understudy_deployment_last_timestamp_seconds{environment="production"}`:               float64(at.Add(-10 * time.Minute).Unix()),
		`understudy_deployment_last_timestamp_seconds{environment="staging"}`:                  float64(at.Add(-90*time.Second).Unix()) + 0.5,
		`understudy_flow_cadence_seconds{environment="production",flow="checkout"}`:            900,
		`understudy_flow_cadence_seconds{environment="production",flow="sign-up"}`:             86400,
		`understudy_flow_declared_timestamp_seconds{environment="production",flow="checkout"}`: float64(at.Unix()),
		`understudy_flow_declared_timestamp_seconds{environment="production",flow="sign-up"}`:  float64(at.Unix()),
	}
	got := gathered(t, reg)
	if len(got) != len(want) {
		t.Errorf("%d series, want %d: %v", len(got), len(want), got)
	}
	for series, v := range want {
		if got[series] != v {
			t.Errorf("%s = %v, want %v", series, got[series], v)
		}
	}
}

// gathered returns every gauge reg gathers, by name{labels} in the text
// format.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestDeploymentAndFlowMetricsAreLeftOutWhenTheDatabaseFails(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	deployments, _ := run.NewDeployments(run.DeploymentsConfig{DB: pool})
	flows, _ := run.NewFlows(run.FlowsConfig{DB: pool})
	reg := prometheus.NewRegistry()
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "still_here", Help: "A metric that does not need the database."})
	up.Set(1)
	reg.MustRegister(up, &deploymentsCollector{deployments: deployments}, &flowsCollector{flows: flows})
	families, err := reg.Gather()
	if err == nil {
		t.Fatal("gathering reported no error for failed queries")
	}
	if len(families) != 1 || families[0].GetName() != "still_here" {
		t.Fatalf("families = %v, want only still_here", families)
	}
}
