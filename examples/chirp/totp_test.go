package chirp_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/providers"
)

// adminAccount is account id in the role admin, with the test password.
func adminAccount(id string) providers.Account {
	acct := account(id)
	acct.Role, acct.Password = chirp.AdminRole, password
	return acct
}

// provisionAnswer is the answer of the webhook's provision, checked
// against openapi/app-webhook.yaml.
func (e *env) provisionAnswer(acct providers.Account) map[string]any {
	e.t.Helper()
	status, body := e.signed("provision", map[string]any{"account": acct})
	wantStatus(e.t, "provision", status, body, http.StatusOK)
	answer := decode[map[string]any](e.t, body)
	schema := provisionSchema(e.t)
	if _, ok := schema.Properties["totp_uri"]; !ok {
		e.t.Fatal("app-webhook.yaml's provision answer has no totp_uri")
	}
	if err := schema.VisitJSON(answer); err != nil {
		e.t.Fatalf("the provision answer %s does not match app-webhook.yaml: %v", body, err)
	}
	return answer
}

// provisionSchema is the schema of provision's 200 answer in the contract.
func provisionSchema(t *testing.T) *openapi3.Schema {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi/app-webhook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return doc.Paths.Value("/provision").Post.Responses.Status(http.StatusOK).Value.Content.Get("application/json").Schema.Value
}

// provisionAdmin provisions an admin over the webhook and returns its ref and the
// key of its totp_uri, checked.
func (e *env) provisionAdmin(id string) (string, *otp.Key) {
	e.t.Helper()
	acct := adminAccount(id)
	answer := e.provisionAnswer(acct)
	uri, _ := answer["totp_uri"].(string)
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		e.t.Fatalf("totp_uri %q: %v", uri, err)
	}
	if key.Type() != "totp" || key.Issuer() != "chirp" || key.AccountName() != acct.Email || key.Period() != 30 ||
		key.Digits() != otp.DigitsSix || len(key.Secret()) < 32 {
		e.t.Fatalf("totp_uri %q is not chirp's TOTP for %s", uri, acct.Email)
	}
	return answer["ref"].(string), key
}

// code returns the key's current code.
func code(t *testing.T, key *otp.Key) string {
	t.Helper()
	c, err := totp.GenerateCode(key.Secret(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestProvisioningAnAdminEnrollsAnAuthenticator(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref, key := e.provisionAdmin("acct-1")
	again := e.provisionAnswer(adminAccount("acct-1"))
	if again["ref"] != ref || again["totp_uri"] != key.URL() {
		t.Fatalf("provisioning again gave %v, want ref %s and the same totp_uri", again, ref)
	}
	if buyer := e.provisionAnswer(account("acct-2")); len(buyer) != 1 || buyer["ref"] == "" {
		t.Fatalf("a buyer's provision answer = %v, want the ref alone", buyer)
	}
	id, _ := strconv.ParseInt(ref, 10, 64)
	if uri, err := e.app.TOTPURI(t.Context(), id); err != nil || uri != key.URL() {
		t.Fatalf("TOTPURI = %q, %v", uri, err)
	}
}

func TestAnAuthenticatorIsNeededToSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, key := e.provisionAdmin("acct-1")
	email := adminAccount("acct-1").Email
	b := &browser{e: e}
	p := b.signIn(email, password)
	if p.status != http.StatusSeeOther || p.location != "/login/totp" || p.cookie != nil || b.pending == "" {
		t.Fatalf("the password of an admin = %d to %q (session %v), want 303 to /login/totp", p.status, p.location, p.cookie)
	}
	if p := b.do("GET", "/login/totp", nil); p.status != http.StatusOK || p.testID("prompt")[0] != "Enter the code from your authenticator app" {
		t.Fatalf("GET /login/totp = %d\n%s", p.status, p.body)
	}
	if p := b.enter("/login/code", "123456"); p.status != http.StatusSeeOther || p.location != "/login/totp" {
		t.Fatalf("a mailed code that is not due = %d to %q, want 303 to /login/totp", p.status, p.location)
	}
	wantError(t, "a wrong authenticator code", b.enter("/login/totp", wrong(code(t, key))), http.StatusUnauthorized,
		"check your authenticator app")
	b.wantSignedIn("the authenticator code", b.enter("/login/totp", code(t, key)), "understudy-acct-1")

	// A buyer without an authenticator signs in with the password alone.
	buyer := &browser{e: e}
	buyer.wantSignedIn("a buyer's password", buyer.signIn(e.provisionWithPassword("acct-2", password), password), "understudy-acct-2")
}

func TestAnAuthenticatorComesAfterTheMailedCode(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	_, key := m.provisionAdmin("acct-1")
	email := adminAccount("acct-1").Email
	b := &browser{e: m.env}
	mail := m.mailAfterSignIn(b, email)
	if p := b.enter("/login/totp", code(t, key)); p.status != http.StatusSeeOther || p.location != "/login/code" {
		t.Fatalf("the authenticator code before the mailed one = %d to %q, want 303 to /login/code", p.status, p.location)
	}
	if p := b.enter("/login/code", mail.code); p.status != http.StatusSeeOther || p.location != "/login/totp" || p.cookie != nil {
		t.Fatalf("the mailed code of an admin = %d to %q (session %v), want 303 to /login/totp", p.status, p.location, p.cookie)
	}
	b.wantSignedIn("the authenticator code", b.enter("/login/totp", code(t, key)), "understudy-acct-1")

	// The magic link skips the mailed code, not the authenticator.
	mail = m.mailAfterSignIn(&browser{e: m.env}, email)
	other := &browser{e: m.env}
	if p := other.do("GET", strings.TrimPrefix(mail.link, m.srv.URL), nil); p.status != http.StatusSeeOther ||
		p.location != "/login/totp" || p.cookie != nil || other.pending == "" {
		t.Fatalf("an admin's magic link = %d to %q (session %v), want 303 to /login/totp", p.status, p.location, p.cookie)
	}
	for range chirp.MaxCodeTries - 1 {
		wantError(t, "a wrong authenticator code", other.enter("/login/totp", wrong(code(t, key))), http.StatusUnauthorized, "not right")
	}
	wantError(t, "the last wrong authenticator code", other.enter("/login/totp", wrong(code(t, key))), http.StatusUnauthorized,
		"Too many wrong codes")
}

func TestTheAuthenticatorSurvivesAReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref, key := e.provisionAdmin("acct-1")
	id, _ := strconv.ParseInt(ref, 10, 64)
	baseline := e.snapshot(ref, "acct-1")
	e.post(id, "before the reset")
	status, body := e.signed("restore", map[string]any{"ref": ref, "account_id": "acct-1", "state": baseline})
	wantStatus(t, "restore", status, body, http.StatusOK)
	if got := string(e.snapshot(ref, "acct-1")); got != string(baseline) {
		t.Fatalf("the restore did not reset the state: %s", got)
	}
	if strings.Contains(string(baseline), "totp") {
		t.Fatalf("the state carries the authenticator: %s", baseline)
	}
	if uri, err := e.app.TOTPURI(t.Context(), id); err != nil || uri != key.URL() {
		t.Fatalf("after a reset TOTPURI = %q, %v; want the URI provisioned", uri, err)
	}
	b := &browser{e: e}
	if p := b.signIn(adminAccount("acct-1").Email, password); p.location != "/login/totp" {
		t.Fatalf("after a reset the admin's password leads to %q", p.location)
	}
	b.wantSignedIn("the authenticator code after a reset", b.enter("/login/totp", code(t, key)), "understudy-acct-1")
}

func TestExecProvisionOfAnAdminCarriesItsAuthenticator(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.execute(map[string]any{"op": "provision", "account": adminAccount("acct-1")})
	key, err := otp.NewKeyFromURL(resp.TOTPURI)
	if resp.Error != nil || resp.Ref == "" || err != nil || key.AccountName() != adminAccount("acct-1").Email {
		t.Fatalf("exec provision of an admin = %+v (%v)", resp, err)
	}
	if buyer := e.executeRaw(map[string]any{"op": "provision", "account": account("acct-2")}); strings.Contains(buyer, "totp_uri") {
		t.Fatalf("exec provision of a buyer = %s", buyer)
	}
}
