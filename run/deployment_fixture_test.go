package run_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/snapshot"
)

// deployNow is the clock of the deployments and flows fixtures.
var deployNow = time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)

// runFixture is environments production and staging, role buyer in
// production, and the deployments and flows services, on a test
// transaction, with the clock at deployNow.
type runFixture struct {
	db          pgdb.DB
	ctx         context.Context
	accounts    *accounts.Service
	deployments *run.Deployments
	flows       *run.Flows
	// envIDs are the environments' ids by name.
	envIDs map[string]string
}

func newRunFixture(t *testing.T) runFixture {
	t.Helper()
	tx := dbtest.Tx(t)
	clock := func() time.Time { return deployNow }
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	sched, err := snapshot.NewScheduler(clock)
	if err != nil {
		t.Fatal(err)
	}
	f := runFixture{db: tx, envIDs: map[string]string{},
		ctx: access.WithRequestID(access.WithCaller(context.Background(), access.Caller{Actor: "ci-deployer", Scope: access.ScopeRunner}), "req-deploy")}
	if f.accounts, err = accounts.New(accounts.Config{DB: tx, OpenLeases: lease.OpenLeases, Keyring: kr, EmailDomains: []string{"qa.example.test"},
		Provisioning: sched, Now: clock}); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"production", "staging"} {
		e, err := f.accounts.CreateEnvironment(f.ctx, accounts.Environment{Name: env, EmailDomains: []string{"qa.example.test"}})
		if err != nil {
			t.Fatal(err)
		}
		f.envIDs[env] = e.ID
	}
	if _, err := f.accounts.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	if f.deployments, err = run.NewDeployments(run.DeploymentsConfig{DB: tx, Now: clock}); err != nil {
		t.Fatal(err)
	}
	if f.flows, err = run.NewFlows(run.FlowsConfig{DB: tx, Now: clock}); err != nil {
		t.Fatal(err)
	}
	return f
}

// record records a deployment or fails the test.
func (f runFixture) record(t *testing.T, env, version string, at time.Time) run.Deployment {
	t.Helper()
	d, created, err := f.deployments.Record(f.ctx, run.DeploymentRecord{Environment: env, Version: version, DeployedAt: at})
	if err != nil || !created {
		t.Fatalf("recording %s %s at %s: created %v, %v", env, version, at, created, err)
	}
	return d
}

// audit returns the audit events of action, newest first.
func (f runFixture) audit(t *testing.T, action string) []access.Event {
	t.Helper()
	list, err := access.NewAudit(f.db).List(f.ctx, access.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// wantFields fails the test unless err is EINVALID naming exactly fields.
func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	e, ok := errors.AsType[*understudy.Error](err)
	if !ok || e.Code != understudy.EINVALID {
		t.Fatalf("error = %v, want %s naming %v", err, understudy.EINVALID, fields)
	}
	var got []string
	for _, fe := range e.Fields {
		got = append(got, fe.Field)
	}
	if len(got) != len(fields) {
		t.Fatalf("fields = %+v, want %v", e.Fields, fields)
	}
	for i := range got {
		if got[i] != fields[i] {
			t.Fatalf("fields = %+v, want %v", e.Fields, fields)
		}
	}
}

// wantCode fails the test unless err is an *understudy.Error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if e, ok := errors.AsType[*understudy.Error](err); !ok || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}
