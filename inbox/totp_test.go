package inbox_test

import (
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
)

// totpFixture is a provisioned account in app chirp of production, and a
// TOTP whose clock the test sets.
type totpFixture struct {
	domaintest.Stack
	TOTP    *inbox.TOTP
	Account string
	now     time.Time
}

func newTOTPFixture(t *testing.T) *totpFixture {
	t.Helper()
	s := domaintest.New(t, dbtest.Tx(t), 1)
	f := &totpFixture{Stack: s, now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	var err error
	f.TOTP, err = inbox.NewTOTP(inbox.TOTPConfig{DB: s.DB, Keyring: s.Keyring, Accounts: s.Accounts, Apps: s.Apps,
		Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.Accounts.ListAccounts(s.Ctx, accounts.AccountFilter{Environment: "production"})
	if err != nil || len(list) != 1 {
		t.Fatalf("listing the account: %v (%d accounts)", err, len(list))
	}
	f.Account = list[0].ID
	return f
}

// b32 is the base32 of a seed, without padding.
func b32(seed string) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte(seed))
}

// TestTOTPRFC6238 checks the codes against RFC 6238's Appendix B: every
// algorithm with its seed, 8 digits, 30 s, at each listed time.
func TestTOTPRFC6238(t *testing.T) {
	t.Parallel()
	f := newTOTPFixture(t)
	seeds := map[string]string{
		"SHA1":   "12345678901234567890",
		"SHA256": "12345678901234567890123456789012",
		"SHA512": "1234567890123456789012345678901234567890123456789012345678901234",
	}
	vectors := []struct {
		unix  int64
		codes map[string]string
	}{
		{59, map[string]string{"SHA1": "94287082", "SHA256": "46119246", "SHA512": "90693936"}},
		{1111111109, map[string]string{"SHA1": "07081804", "SHA256": "68084774", "SHA512": "25091201"}},
		{1111111111, map[string]string{"SHA1": "14050471", "SHA256": "67062674", "SHA512": "99943326"}},
		{1234567890, map[string]string{"SHA1": "89005924", "SHA256": "91819424", "SHA512": "93441116"}},
		{2000000000, map[string]string{"SHA1": "69279037", "SHA256": "90698825", "SHA512": "38618901"}},
		{20000000000, map[string]string{"SHA1": "65353130", "SHA256": "77737706", "SHA512": "47863826"}},
	}
	for alg, seed := range seeds {
		app := "rfc-" + strings.ToLower(alg)
		f.attach(t, app)
		uri := "otpauth://totp/RFC:tester?secret=" + b32(seed) + "&digits=8&period=30&algorithm=" + alg
		info, err := f.TOTP.Set(f.Ctx, f.Account, app, uri)
		if err != nil {
			t.Fatalf("setting the %s seed: %v", alg, err)
		}
		if info.Algorithm != alg || info.Digits != 8 || info.Period != 30 || info.Issuer != "RFC" || info.AccountName != "tester" {
			t.Errorf("%s: info %+v, want the URI's parameters", alg, info)
		}
		for _, v := range vectors {
			f.now = time.Unix(v.unix, 0)
			c, err := f.TOTP.Code(f.Ctx, f.Account, app)
			if err != nil {
				t.Fatalf("%s at %d: %v", alg, v.unix, err)
			}
			if want := v.codes[alg]; c.Code != want {
				t.Errorf("%s at %d: code %s, want %s", alg, v.unix, c.Code, want)
			}
			if wantLeft := 30 - int(v.unix%30); c.ValidFor != wantLeft || c.Period != 30 || c.Digits != 8 {
				t.Errorf("%s at %d: valid for %d of %d s with %d digits, want %d of 30 with 8", alg, v.unix, c.ValidFor, c.Period, c.Digits, wantLeft)
			}
		}
	}
}

// attach attaches another app to production (the shared fake).
func (f *totpFixture) attach(t *testing.T, name string) {
	t.Helper()
	if _, err := f.Apps.Attach(f.Ctx, "production", name, appChange()); err != nil {
		t.Fatalf("attaching %s: %v", name, err)
	}
}

// TestTOTPNextCode: a code with fewer than 5 s left comes with the next
// one; a bare secret takes SHA1, 6 digits and 30 s.
func TestTOTPNextCode(t *testing.T) {
	t.Parallel()
	f := newTOTPFixture(t)
	info, err := f.TOTP.Set(f.Ctx, f.Account, "chirp", " "+strings.ToLower(b32("12345678901234567890"))+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if info.Algorithm != "SHA1" || info.Digits != 6 || info.Period != 30 || info.Replaced {
		t.Errorf("a bare secret's info %+v, want SHA1, 6 digits, 30 s, new", info)
	}
	f.now = time.Unix(59, 0) // 1 s left: RFC 6238's 94287082, cut to 6 digits
	c, err := f.TOTP.Code(f.Ctx, f.Account, "chirp")
	if err != nil {
		t.Fatal(err)
	}
	f.now = time.Unix(60, 0)
	next, err := f.TOTP.Code(f.Ctx, f.Account, "chirp")
	if err != nil {
		t.Fatal(err)
	}
	if c.Code != "287082" || c.ValidFor != 1 || c.Next != next.Code || next.Next != "" || next.ValidFor != 30 {
		t.Errorf("at 59: %+v; at 60: %+v; want 287082 valid for 1 s with the next code, then that code for 30 s alone", c, next)
	}
	for _, at := range []int64{55, 56} { // 5 s left: no next code; 4 s: the next one
		f.now = time.Unix(at, 0)
		c, err := f.TOTP.Code(f.Ctx, f.Account, "chirp")
		if err != nil {
			t.Fatal(err)
		}
		if (c.Next != "") != (c.ValidFor < inbox.NextWithin) {
			t.Errorf("at %d (%d s left): next code %q, want one only under %d s", at, c.ValidFor, c.Next, inbox.NextWithin)
		}
	}
}

// secretOf is a valid base32 secret of n bytes.
func secretOf(n int) string { return b32(strings.Repeat("k", n)) }

func TestTOTPRefusals(t *testing.T) {
	t.Parallel()
	f := newTOTPFixture(t)
	good := secretOf(20)
	uri := func(query string) string { return "otpauth://totp/shop:buyer?" + query }
	cases := []struct {
		name, app, input string
		fields           []string
	}{
		{"empty", "chirp", "", []string{"secret"}},
		{"not base32", "chirp", "JBSWY3DP!HPK3PXP", []string{"secret"}},
		{"too short", "chirp", secretOf(9), []string{"secret"}},
		{"too long", "chirp", secretOf(129), []string{"secret"}},
		{"hotp", "chirp", "otpauth://hotp/shop?secret=" + good + "&counter=3", []string{"uri"}},
		{"another type", "chirp", "otpauth://steam/shop?secret=" + good, []string{"uri"}},
		{"URI too long", "chirp", uri("secret=" + good + "&x=" + strings.Repeat("a", inbox.MaxTOTPURI)), []string{"uri"}},
		{"no secret", "chirp", uri("issuer=shop"), []string{"uri.secret"}},
		{"secret twice", "chirp", uri("secret=" + good + "&secret=" + good), []string{"uri.secret"}},
		{"short secret in URI", "chirp", uri("secret=" + secretOf(4)), []string{"uri.secret"}},
		{"7 digits", "chirp", uri("secret=" + good + "&digits=7"), []string{"uri.digits"}},
		{"45 s", "chirp", uri("secret=" + good + "&period=45"), []string{"uri.period"}},
		{"MD5", "chirp", uri("secret=" + good + "&algorithm=MD5"), []string{"uri.algorithm"}},
		{"everything wrong", "chirp", uri("secret=" + good + "&digits=9&period=0&algorithm=sha3"), []string{"uri.algorithm", "uri.digits", "uri.period"}},
		{"control in issuer", "chirp", uri("secret=" + good + "&issuer=a%07b"), []string{"uri.issuer"}},
		{"bad app and secret", "Chirp!", "otpauth://totp/x?secret=" + good + "&digits=5", []string{"app", "uri.digits"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.TOTP.Set(f.Ctx, f.Account, tc.app, tc.input)
			e := domaintest.WantCode(t, err, understudy.EINVALID)
			var got []string
			for _, fe := range e.Fields {
				got = append(got, fe.Field)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.fields) {
				t.Errorf("fields %v (%s), want %v", got, e.Error(), tc.fields)
			}
			if strings.Contains(e.Error(), good[:12]) {
				t.Error("the error holds the secret")
			}
		})
	}
	// Nothing was stored by any refusal.
	if list, err := f.TOTP.List(f.Ctx, f.Account); err != nil || len(list) != 0 {
		t.Errorf("after the refusals: %d secrets, %v; want none", len(list), err)
	}

	_, err := f.TOTP.Set(f.Ctx, f.Account, "shop", good)
	domaintest.WantCode(t, err, understudy.ENOTFOUND) // no app shop in production
	_, err = f.TOTP.Set(f.Ctx, "00000000-0000-0000-0000-000000000000", "chirp", good)
	domaintest.WantCode(t, err, understudy.ENOTFOUND)
	if _, err := f.Accounts.RetireAccount(f.Ctx, f.Account); err != nil {
		t.Fatal(err)
	}
	_, err = f.TOTP.Set(f.Ctx, f.Account, "chirp", good)
	domaintest.WantCode(t, err, understudy.ECONFLICT)
}

// TestTOTPLifecycle: set, rotate, list, code and remove, each audited,
// and the secret in none of what is returned, audited or stored.
func TestTOTPLifecycle(t *testing.T) {
	t.Parallel()
	f := newTOTPFixture(t)
	first, second := secretOf(20), secretOf(32)
	set, err := f.TOTP.Set(f.Ctx, f.Account, "chirp", "otpauth://totp/Chirp:buyer?secret="+first)
	if err != nil || set.Replaced || !set.CreatedAt.Equal(f.now) {
		t.Fatalf("Set = %+v, %v; want a new secret created now", set, err)
	}
	created := f.now
	f.now = f.now.Add(time.Hour)
	rot, err := f.TOTP.Set(f.Ctx, f.Account, "chirp", second)
	if err != nil || !rot.Replaced || !rot.CreatedAt.Equal(created) || !rot.RotatedAt.Equal(f.now) {
		t.Fatalf("Set again = %+v, %v; want the secret replaced, created before, rotated now", rot, err)
	}
	list, err := f.TOTP.List(f.Ctx, f.Account)
	if err != nil || len(list) != 1 || list[0].App != "chirp" || list[0].Issuer != "" || list[0].Digits != 6 {
		t.Fatalf("List = %+v, %v; want chirp's bare secret", list, err)
	}
	if _, err := f.TOTP.Code(f.Ctx, f.Account, "chirp"); err != nil {
		t.Fatal(err)
	}
	if err := f.TOTP.Remove(f.Ctx, f.Account, "chirp"); err != nil {
		t.Fatal(err)
	}
	domaintest.WantCode(t, f.TOTP.Remove(f.Ctx, f.Account, "chirp"), understudy.ENOTFOUND)
	_, err = f.TOTP.Code(f.Ctx, f.Account, "chirp")
	domaintest.WantCode(t, err, understudy.ENOTFOUND)

	events, err := access.NewAudit(f.DB).List(f.Ctx, access.AuditFilter{TargetID: f.Account})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		if strings.HasPrefix(e.Action, "totp.") {
			actions = append(actions, e.Action)
		}
	}
	if want := "[totp.remove totp.read_code totp.rotate totp.set]"; fmt.Sprint(actions) != want {
		t.Errorf("audited %v, want %s", actions, want)
	}
	seen, _ := json.Marshal([]any{set, rot, list, events})
	for _, s := range []string{first, second} {
		if strings.Contains(string(seen), s[:12]) {
			t.Error("an answer or the audit trail holds a secret")
		}
	}
}

// TestTOTPSealed: the stored secret is sealed, and bound to its account
// and app: copied to another app, it does not open.
func TestTOTPSealed(t *testing.T) {
	t.Parallel()
	f := newTOTPFixture(t)
	f.attach(t, "shop")
	secret := secretOf(20)
	if _, err := f.TOTP.Set(f.Ctx, f.Account, "chirp", secret); err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	if err := f.DB.QueryRow(f.Ctx, `SELECT secret_sealed FROM totp_secrets WHERE account_id = $1 AND app = 'chirp'`, f.Account).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), secret[:12]) {
		t.Fatal("the secret is stored in the clear")
	}
	if _, err := f.DB.Exec(f.Ctx, `INSERT INTO totp_secrets (account_id, app, app_id, digits, period, algorithm, secret_key_id, secret_sealed)
SELECT t.account_id, 'shop', p.id, digits, period, algorithm, secret_key_id, secret_sealed FROM totp_secrets t, apps p
WHERE t.account_id = $1 AND p.name = 'shop'`, f.Account); err != nil {
		t.Fatal(err)
	}
	_, err := f.TOTP.Code(f.Ctx, f.Account, "shop")
	domaintest.WantCode(t, err, understudy.EINTERNAL)
}
