package exec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/providers"
)

// totpSecret is the base32 secret of the responses below: no error may
// hold it.
const totpSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

func TestProvisionTOTPURI(t *testing.T) {
	t.Parallel()
	good := "otpauth://totp/shop:buyer?secret=" + totpSecret + "&issuer=shop"
	cases := []struct {
		name, body string
		want       string // the URI handed back when there is no error
		mentions   string // what the error says; "" for none
	}{
		{"with a secret", `echo '{"ref":"7","totp_uri":"` + good + `"}'`, good, ""},
		{"without one", `echo '{"ref":"7"}'`, "", ""},
		{"hotp", `echo '{"ref":"7","totp_uri":"otpauth://hotp/shop?secret=` + totpSecret + `"}'`, "", "does not start with otpauth://totp/"},
		{"not JSON", `echo 'ref=7 totp_uri=` + good + `'`, "", "[totp_uri]"},
		{"an error quoting it", `echo '{"error":{"code":"refused","message":"already enrolled ` + good + `"}}'`, "", "[totp_uri]"},
		{"stderr quoting it", `echo 'enrolled ` + good + `' >&2; exit 3`, "", "[totp_uri]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := newProgram(t, tc.body, nil).Provision(t.Context(), providers.Account{ID: "acct-1"})
			if err != nil && strings.Contains(err.Error(), totpSecret[:16]) {
				t.Fatal("the error holds the TOTP secret")
			}
			switch {
			case tc.mentions == "" && (err != nil || p.Ref != "7" || p.TOTPURI != tc.want):
				t.Errorf("Provision = ref %q, the totp_uri given %v, %v; want ref 7 and the response's totp_uri", p.Ref, p.TOTPURI == tc.want, err)
			case tc.mentions != "" && (err == nil || !strings.Contains(err.Error(), tc.mentions)):
				t.Errorf("Provision: %v, want an error mentioning %q", err, tc.mentions)
			case tc.name == "hotp" && !errors.Is(err, providers.ErrProtocol):
				t.Errorf("Provision of an hotp URI: %v, want ErrProtocol", err)
			}
		})
	}
}
