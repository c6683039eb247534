package lease_test

import (
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/lease"
)

// What a lease gives (its account's mail, its authenticator codes) is
// given to its token while the lease is active and, on the service's
// clock, not past its expiry.
func TestActiveRefusesAnEndedOrExpiredLease(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	g := f.Lease(t, "ci")
	if l, err := f.Leases.Active(f.Ctx, g.Lease.ID, "totp_read"); err != nil || l.ID != g.Lease.ID || l.AccountID != g.Account.ID {
		t.Fatalf("Active on an active lease: %+v, %v", l, err)
	}
	other := tokenCtx(t, f, "ci-other", access.ScopeRunner)
	_, err := f.Leases.Active(other, g.Lease.ID, "totp_read")
	domaintest.WantCode(t, err, understudy.EFORBIDDEN)

	later, err := lease.New(lease.Config{DB: f.DB, Accounts: f.Accounts, Snapshots: f.Snapshots, Apps: f.Apps,
		AppTimeout: 2 * time.Second, Now: func() time.Time { return g.Lease.ExpiresAt.Add(time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = later.Active(f.Ctx, g.Lease.ID, "totp_read")
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "expired at "+g.Lease.ExpiresAt.Format(time.RFC3339)) {
		t.Errorf("refusal of an expired lease: %q; want its expiry named", e.Message)
	}

	if _, err := f.Leases.Release(f.Ctx, g.Lease.ID, false); err != nil {
		t.Fatal(err)
	}
	_, err = f.Leases.Active(f.Ctx, g.Lease.ID, "totp_read")
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "is released") {
		t.Errorf("refusal of a released lease: %q; want its status named", e.Message)
	}
}
