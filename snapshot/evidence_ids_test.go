package snapshot_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
)

// Evidence (and Compare, which the console's account diff calls with the
// id of its URL) reads an account named by any spelling of its uuid that
// uuid.Parse takes, as it did when it read the account first: its refs and
// hashes are read by the account's canonical id, not by the text it was
// given (which PostgreSQL may refuse). An id of no account is ENOTFOUND.
func TestEvidenceReadsAnAccountByAnySpellingOfItsID(t *testing.T) {
	t.Parallel()
	spell := map[string]func(string) string{
		"canonical": func(id string) string { return id },
		"upper":     strings.ToUpper,
		"braces":    func(id string) string { return "{" + id + "}" },
		"urn":       func(id string) string { return "urn:uuid:" + id },
		"hex":       func(id string) string { return strings.ReplaceAll(id, "-", "") },
	}
	for name, of := range spell {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := domaintest.New(t, dbtest.Tx(t), 1) // a failed statement aborts its transaction: one each
			list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{})
			ev, err := f.Snapshots.Evidence(f.Ctx, of(list[0].ID), "")
			if err != nil || len(ev) != 1 || ev[0].App != "chirp" || ev[0].Error != "" || ev[0].Hash == "" || ev[0].Hash != ev[0].Baseline {
				t.Errorf("Evidence(%q) = %+v, %v; want chirp's baseline", of(list[0].ID), ev, err)
			}
			_, err = f.Snapshots.Evidence(f.Ctx, of(uuid.NewString()), "")
			if understudy.ErrorCode(err) != understudy.ENOTFOUND {
				t.Errorf("Evidence of no account (%s): %v, want ENOTFOUND", name, err)
			}
		})
	}
}
