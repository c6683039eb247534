package webhook_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/webhook"
)

// totpSecret is the base32 secret of the answers below: no error or log
// line may hold it.
const totpSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

func TestProvisionTOTPURI(t *testing.T) {
	t.Parallel()
	good := "otpauth://totp/shop:buyer%40qa.example.test?secret=" + totpSecret + "&issuer=shop"
	cases := []struct {
		name, body string
		want       string // the URI handed back; "" with an error
		mentions   string // what the ErrProtocol error says
	}{
		{"with a secret", `{"ref":"7","totp_uri":"` + good + `"}`, good, ""},
		{"without one", `{"ref":"7"}`, "", ""},
		{"hotp", `{"ref":"7","totp_uri":"otpauth://hotp/shop?secret=` + totpSecret + `&counter=1"}`, "", "does not start with otpauth://totp/"},
		{"another scheme", `{"ref":"7","totp_uri":"https://shop.example/` + totpSecret + `"}`, "", "does not start with otpauth://totp/"},
		{"too long", `{"ref":"7","totp_uri":"` + good + "&pad=" + strings.Repeat("x", 2048) + `"}`, "", "over the contract's 2048"},
		{"empty", `{"ref":"7","totp_uri":""}`, "", "is empty"},
		{"not a string", `{"ref":"7","totp_uri":{"secret":"` + totpSecret + `"}}`, "", "does not fit the contract"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, tc.body) })
			var logs bytes.Buffer
			c, _ := newClient(t, a.URL, func(c *webhook.Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			p, err := c.Provision(t.Context(), providers.Account{ID: "acct-1"})
			switch {
			case tc.mentions == "" && err != nil:
				t.Fatalf("Provision: %v, want the answer", err)
			case tc.mentions == "" && (p.Ref != "7" || p.TOTPURI != tc.want):
				t.Errorf("Provision = ref %q with the totp_uri given: %v; want ref 7 and the answer's totp_uri", p.Ref, p.TOTPURI == tc.want)
			case tc.mentions != "" && (!errors.Is(err, providers.ErrProtocol) || !strings.Contains(fmtErr(err), tc.mentions)):
				t.Errorf("Provision: %s, want ErrProtocol mentioning %q", fmtErr(err), tc.mentions)
			case tc.mentions != "" && p != (providers.Provisioned{}):
				t.Errorf("Provision refused the answer but handed back ref %q", p.Ref)
			}
			if err != nil && strings.Contains(err.Error(), totpSecret[:16]) || strings.Contains(logs.String(), totpSecret[:16]) {
				t.Errorf("the error or the log holds the TOTP secret")
			}
		})
	}
}

// TestAnswerQuotesNoTOTPURI: an answer the provider quotes (it is not a
// JSON object, or it is an error) never has its otpauth URI repeated.
func TestAnswerQuotesNoTOTPURI(t *testing.T) {
	t.Parallel()
	for _, answer := range []struct {
		status int
		body   string
	}{
		{200, `"otpauth://totp/shop?secret=` + totpSecret + `"`},
		{422, `{"code":"invalid","detail":"cannot enrol otpauth://totp/shop?secret=` + totpSecret + ` twice"}`},
	} {
		a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, answer.status, answer.body) })
		c, _ := newClient(t, a.URL, nil)
		_, err := c.Provision(t.Context(), providers.Account{ID: "acct-1"})
		if err == nil || strings.Contains(err.Error(), totpSecret[:16]) || !strings.Contains(err.Error(), "[totp_uri]") {
			t.Errorf("Provision of an answer %d quoting a URI: %s, want an error with the URI replaced by [totp_uri]", answer.status, fmtErr(err))
		}
	}
}

// fmtErr is err's text, or "<nil>", with the secret blanked out: a test
// that fails prints no secret either.
func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.ReplaceAll(err.Error(), totpSecret[:16], "[secret]")
}
