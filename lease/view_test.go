package lease_test

import (
	"testing"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
)

// Package accounts reads lease's view of the open leases by a name of its
// own, since it cannot import lease: the two names must stay one.
func TestAccountsReadsTheOpenLeaseViewLeaseOwns(t *testing.T) {
	t.Parallel()
	if accounts.OpenLeaseView != lease.OpenLeaseView {
		t.Errorf("accounts reads the view %q, but lease owns %q", accounts.OpenLeaseView, lease.OpenLeaseView)
	}
}

// Package run lists the runs through lease's view of every lease by a
// name of its own, since it cannot import lease: the two names must stay
// one.
func TestRunReadsTheLeaseDirectoryLeaseOwns(t *testing.T) {
	t.Parallel()
	if run.LeaseView != lease.DirectoryView {
		t.Errorf("run reads the view %q, but lease owns %q", run.LeaseView, lease.DirectoryView)
	}
}
