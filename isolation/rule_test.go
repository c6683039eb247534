package isolation_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/isolation"
)

func TestIsolationRule(t *testing.T) {
	t.Parallel()
	real := isolation.Listing{}
	synth := func(id string) isolation.Listing { return isolation.Listing{Synthetic: true, AccountID: id} }
	for _, tc := range []struct {
		name            string
		subject, viewer isolation.Listing
		v               accounts.Visibility
		visible         bool
		reason          isolation.Reason
	}{
		{"real subject", real, real, accounts.Hidden, true, isolation.ReasonNotSynthetic},
		{"real subject, synthetic viewer", real, synth("a"), "", true, isolation.ReasonNotSynthetic},
		{"self, hidden", synth("a"), synth("a"), accounts.Hidden, true, isolation.ReasonSelf},
		{"allowed, real viewer", synth("a"), real, accounts.Allowed, true, isolation.ReasonAllowed},
		{"allowed, synthetic viewer", synth("a"), synth("b"), accounts.Allowed, true, isolation.ReasonAllowed},
		{"testers_only, real viewer", synth("a"), real, accounts.TestersOnly, false, isolation.ReasonTestersReal},
		{"testers_only, synthetic viewer", synth("a"), synth("b"), accounts.TestersOnly, true, isolation.ReasonTestersSynthetic},
		{"hidden, real viewer", synth("a"), real, accounts.Hidden, false, isolation.ReasonHidden},
		{"hidden, synthetic viewer", synth("a"), synth("b"), accounts.Hidden, false, isolation.ReasonHidden},
		{"unset is hidden", synth("a"), real, "", false, isolation.ReasonHidden},
	} {
		visible, reason := isolation.Decide(tc.subject, tc.viewer, tc.v)
		if visible != tc.visible || reason != tc.reason {
			t.Errorf("%s: got %v %s, want %v %s", tc.name, visible, reason, tc.visible, tc.reason)
		}
	}
}

func TestIsolationSignatureVerifies(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	keys := []isolation.Key{{KeyID: isolation.KeyID(other), PublicKey: other}, {KeyID: isolation.KeyID(pub), PublicKey: pub}}
	body := []byte(`{"format":1}`)
	header := isolation.Signed{KeyID: isolation.KeyID(pub), Signature: ed25519.Sign(priv, body)}.SignatureHeader()
	if id, err := isolation.Verify(keys, header, body); err != nil || id != isolation.KeyID(pub) || len(id) != 16 {
		t.Fatalf("Verify = %q, %v", id, err)
	}
	if _, err := isolation.Verify(keys, header, []byte(`{"format":2}`)); err == nil {
		t.Fatal("a tampered body verifies")
	}
	if _, err := isolation.Verify(keys[:1], header, body); err == nil {
		t.Fatal("an untrusted key verifies")
	}
	if _, err := isolation.Verify(keys, "keyid=x, ed25519="+base64.StdEncoding.EncodeToString([]byte("short")), body); err == nil {
		t.Fatal("a malformed header verifies")
	}
}
