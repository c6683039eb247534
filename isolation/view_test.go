package isolation_test

import (
	"testing"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/isolation"
)

// Package accounts reads isolation's view of the quarantining violations
// by a name of its own, since it cannot import isolation: the two names
// must stay one.
func TestAccountsReadsTheQuarantineViewIsolationOwns(t *testing.T) {
	t.Parallel()
	if accounts.QuarantineView != isolation.QuarantineView {
		t.Errorf("accounts reads the view %q, but isolation owns %q", accounts.QuarantineView, isolation.QuarantineView)
	}
}
