package apps_test

import (
	"context"
	"errors"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/snapshot"
)

func TestAttachRefusesABadProviderByField(t *testing.T) {
	t.Parallel()
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	tx := dbtest.Tx(t)
	sched, err := snapshot.NewScheduler(nil)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := accounts.New(accounts.Config{DB: tx, OpenLeases: lease.OpenLeases, Keyring: kr, EmailDomains: []string{"qa.example.test"}, Provisioning: sched})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := apps.New(apps.Config{DB: tx, Keyring: kr, Accounts: acc, Provisioning: sched})
	if err != nil {
		t.Fatal(err)
	}
	ctx := access.WithRequestID(access.WithCaller(context.Background(), access.Caller{Actor: "test"}), "req-1")
	if _, err := acc.CreateEnvironment(ctx, accounts.Environment{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Attach(ctx, "production", "chirp", apps.Change{Provider: new("carrier-pigeon")})
	e, ok := errors.AsType[*understudy.Error](err)
	if !ok || e.Code != understudy.EINVALID {
		t.Fatalf("error = %v, want %s", err, understudy.EINVALID)
	}
	if len(e.Fields) != 1 || e.Fields[0].Field != "provider" {
		t.Fatalf("fields = %+v", e.Fields)
	}
}
