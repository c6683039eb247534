package isolation

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
)

// SignatureHeader is the HTTP header that carries a list's signature.
const SignatureHeader = "X-Understudy-Signature"

// ParseSignature reads a SignatureHeader value,
// `keyid=<key id>, ed25519=<base64 signature>`.
func ParseSignature(header string) (keyID string, sig []byte, err error) {
	for part := range strings.SplitSeq(header, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "keyid":
			keyID = value
		case "ed25519":
			if sig, err = base64.StdEncoding.DecodeString(value); err != nil {
				return "", nil, fmt.Errorf("the signature is not base64: %w", err)
			}
		}
	}
	if keyID == "" || len(sig) != ed25519.SignatureSize {
		return "", nil, fmt.Errorf("%q is not keyid=<id>, ed25519=<64-byte signature in base64>", header)
	}
	return keyID, sig, nil
}

// Verify checks that header signs body with one of keys, and returns the
// id of the key that did.
func Verify(keys []Key, header string, body []byte) (string, error) {
	id, sig, err := ParseSignature(header)
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		if k.KeyID != id {
			continue
		}
		if len(k.PublicKey) != ed25519.PublicKeySize || !ed25519.Verify(k.PublicKey, body, sig) {
			return id, fmt.Errorf("the list does not verify with key %s", id)
		}
		return id, nil
	}
	return id, fmt.Errorf("the list is signed by key %s, which is not trusted", id)
}
