package inbox_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/fake"
)

func appChange() apps.Change { return apps.Change{Provider: new("fake")} }

// reprovision retires the fixture's account and provisions the one that
// fills its slot, returning its id and the provisioning's error.
func (f *totpFixture) reprovision(t *testing.T) (string, error) {
	t.Helper()
	if _, err := f.Accounts.RetireAccount(f.Ctx, f.Account); err != nil {
		t.Fatal(err)
	}
	list, err := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{Environment: "production"})
	if err != nil || len(list) != 1 {
		t.Fatalf("listing the new account: %v (%d accounts)", err, len(list))
	}
	return list[0].ID, f.Snapshots.Provision(f.Ctx, list[0].ID)
}

// TestEnrolAtProvisioning: the secret an app hands back at provisioning
// is kept as the account's secret for that app, audited as such.
func TestEnrolAtProvisioning(t *testing.T) {
	t.Parallel()
	f := newTOTPFixture(t)
	var given string
	f.App.SetTOTPURI(func(a providers.Account) string {
		given = fake.TOTPURIOf(a)
		return given
	})
	id, err := f.reprovision(t)
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.TOTP.List(f.Ctx, id)
	if err != nil || len(list) != 1 || list[0].App != "chirp" || list[0].Issuer != "fake" {
		t.Fatalf("List = %+v, %v; want chirp's secret from the app", list, err)
	}
	c, err := f.TOTP.Code(f.Ctx, id, "chirp")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(given)
	if want, _ := totp.GenerateCode(u.Query().Get("secret"), f.now); c.Code != want {
		t.Errorf("code %s, want the app's secret's %s", c.Code, want)
	}
	events, err := access.NewAudit(f.DB).List(f.Ctx, access.AuditFilter{TargetID: id, Action: "totp.set"})
	if err != nil || len(events) != 1 || events[0].Details["source"] != "provision" || events[0].Details["app"] != "chirp" {
		t.Fatalf("totp.set events %+v, %v; want one from provisioning", events, err)
	}
	b, _ := json.Marshal(events)
	if strings.Contains(string(b), u.Query().Get("secret")[:12]) {
		t.Error("the audit holds the secret")
	}
}

// TestEnrolRefused: a secret that cannot be kept fails the provisioning
// of the app as a contract error naming what is wrong, and the ref is not
// recorded without it.
func TestEnrolRefused(t *testing.T) {
	t.Parallel()
	f := newTOTPFixture(t)
	secret := secretOf(20)
	f.App.SetTOTPURI(func(providers.Account) string { return "otpauth://totp/x?secret=" + secret + "&period=45" })
	id, err := f.reprovision(t)
	if !errors.Is(err, providers.ErrProtocol) || !strings.Contains(err.Error(), "totp_uri.period") {
		t.Fatalf("provisioning: %v, want ErrProtocol naming totp_uri.period", err)
	}
	if strings.Contains(err.Error(), secret[:12]) {
		t.Error("the error holds the secret")
	}
	refs, err := f.Apps.RefNames(f.Ctx, id)
	if err != nil || len(refs) != 0 {
		t.Errorf("refs %v, %v: want none recorded without the secret", refs, err)
	}
}

// TestEnrolAgain: an app provisioned again to take a new password hands
// back its secret; the same one writes nothing, a new one replaces it
// (audited totp.rotate), so the codes handed out are the ones the app
// accepts.
func TestEnrolAgainOnPasswordRotation(t *testing.T) {
	t.Parallel()
	f := newTOTPFixture(t)
	seed := "first-seed-of-twenty"
	f.App.SetTOTPURI(func(providers.Account) string { return "otpauth://totp/chirp:u?secret=" + b32(seed) + "&issuer=chirp" })
	id, err := f.reprovision(t)
	if err != nil {
		t.Fatal(err)
	}
	rotations := func() int {
		events, err := access.NewAudit(f.DB).List(f.Ctx, access.AuditFilter{TargetID: id, Action: "totp.rotate"})
		if err != nil {
			t.Fatal(err)
		}
		return len(events)
	}
	if _, err := f.Snapshots.RotatePassword(f.Ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := rotations(); n != 0 {
		t.Errorf("%d totp.rotate events after the app handed back the same secret, want 0", n)
	}
	seed = "second-seed-of-twent"
	if _, err := f.Snapshots.RotatePassword(f.Ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := rotations(); n != 1 {
		t.Errorf("%d totp.rotate events after the app enrolled a new secret, want 1", n)
	}
	c, err := f.TOTP.Code(f.Ctx, id, "chirp")
	if want, _ := totp.GenerateCode(b32(seed), f.now); err != nil || c.Code != want {
		t.Errorf("code %+v, %v; want the new secret's %s", c, err, want)
	}
}

// TestDetachRemovesSecrets: detaching an app removes the accounts'
// secrets for it, with its refs; attached again, it has none.
func TestDetachRemovesSecrets(t *testing.T) {
	t.Parallel()
	f := newTOTPFixture(t)
	f.attach(t, "shop")
	for _, app := range []string{"chirp", "shop"} {
		if _, err := f.TOTP.Set(f.Ctx, f.Account, app, secretOf(20)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Apps.Detach(f.Ctx, "production", "shop"); err != nil {
		t.Fatal(err)
	}
	list, err := f.TOTP.List(f.Ctx, f.Account)
	if err != nil || len(list) != 1 || list[0].App != "chirp" {
		t.Fatalf("List = %+v, %v; want chirp's secret alone", list, err)
	}
	f.attach(t, "shop")
	_, err = f.TOTP.Code(f.Ctx, f.Account, "shop")
	domaintest.WantCode(t, err, understudy.ENOTFOUND)
}
