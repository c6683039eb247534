package providertest

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/google/uuid"

	"github.com/understudy-dev/understudy/providers"
)

// EmailDomain is the controlled domain of the suite's accounts.
const EmailDomain = "qa.example.test"

// NewAccount returns an account with a fresh id and a username and email
// that no other test uses, as Understudy would send it to Provision.
func NewAccount(t testing.TB) providers.Account {
	t.Helper()
	suffix := randomHex(5)
	return providers.Account{
		ID:          uuid.NewString(),
		Environment: "test",
		Role:        "buyer",
		Email:       "buyer-" + suffix + "@" + EmailDomain,
		Username:    "buyer_" + suffix,
		DisplayName: "QA Buyer " + suffix,
		GivenName:   "QA",
		FamilyName:  "Buyer",
		Phone:       "+15555550100",
		Locale:      "en-US",
		TimeZone:    "UTC",
		Password:    "not-a-real-password-" + suffix,
		Attributes:  map[string]string{"tier": "gold"},
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
