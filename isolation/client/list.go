package client

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ListFormat is the only format of the signed list this package accepts.
const ListFormat = 1

// Policy is how a synthetic identity may be seen on one surface.
type Policy string

// The policies of the signed list.
const (
	// PolicyHidden: nobody but the account itself sees the subject.
	PolicyHidden Policy = "hidden"
	// PolicyTestersOnly: only synthetic viewers see the subject.
	PolicyTestersOnly Policy = "testers_only"
	// PolicyAllowed: everyone sees the subject.
	PolicyAllowed Policy = "allowed"
)

// SignatureHeader is the response header that carries the list's signature.
const SignatureHeader = "X-Understudy-Signature"

// wireList is the body of GET /v1/environments/{env}/isolation/list.
type wireList struct {
	Format            int            `json:"format"`
	Environment       string         `json:"environment"`
	Version           string         `json:"version"`
	IssuedAt          time.Time      `json:"issued_at"`
	ControlledDomains []string       `json:"controlled_domains"`
	Surfaces          []string       `json:"surfaces"`
	Identities        []wireIdentity `json:"identities"`
}

type wireIdentity struct {
	IDs  []string `json:"ids"`
	Role string   `json:"role"`
	// Policy is kept as it came, a map of surface to Policy: the
	// identities of one role carry the same bytes, so compile decodes each
	// distinct policy once instead of building a map per identity.
	Policy json.RawMessage `json:"policy"`
}

// wireKeys is the body of GET /v1/isolation/keys.
type wireKeys struct {
	Keys []struct {
		KeyID     string     `json:"key_id"`
		PublicKey string     `json:"public_key"`
		Algorithm string     `json:"algorithm"`
		RetiredAt *time.Time `json:"retired_at"`
	} `json:"keys"`
}

// KeyID returns the key id of an ed25519 public key: the first 16 hex
// digits of the SHA-256 of its 32 raw bytes.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// errUnknownKey is returned by verify when the signature names a key id
// the client does not trust (yet).
var errUnknownKey = errors.New("unknown signing key")

// signature is a parsed X-Understudy-Signature header.
type signature struct {
	keyID string
	sig   []byte
}

// parseSignature parses "keyid=<key id>, ed25519=<base64 signature>".
func parseSignature(header string) (signature, error) {
	var s signature
	if header == "" {
		return s, fmt.Errorf("missing %s header", SignatureHeader)
	}
	for part := range strings.SplitSeq(header, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return s, fmt.Errorf("malformed %s header", SignatureHeader)
		}
		switch name {
		case "keyid":
			s.keyID = value
		case "ed25519":
			raw, err := base64.StdEncoding.DecodeString(value)
			if err != nil || len(raw) != ed25519.SignatureSize {
				return s, fmt.Errorf("malformed ed25519 signature in %s header", SignatureHeader)
			}
			s.sig = raw
		}
	}
	if s.keyID == "" || s.sig == nil {
		return s, fmt.Errorf("%s header needs keyid and ed25519", SignatureHeader)
	}
	return s, nil
}

// verify checks body against the signature with the trusted keys.
// It returns errUnknownKey (wrapped) when the key id is not among them.
func verify(keys map[string]ed25519.PublicKey, sig signature, body []byte) error {
	pub, ok := keys[sig.keyID]
	if !ok {
		return fmt.Errorf("key id %q: %w", sig.keyID, errUnknownKey)
	}
	if !ed25519.Verify(pub, body, sig.sig) {
		return fmt.Errorf("signature by key %q does not verify", sig.keyID)
	}
	return nil
}

// errRetiredKey is returned when a list is signed by a key that the last
// key set marks retired, or that it no longer holds.
var errRetiredKey = errors.New("signing key is retired")

// parseKeys decodes the keys endpoint's body into trusted keys by key id,
// and the ids of the keys it marks retired. A key that is retired, of
// another algorithm, malformed, or whose key id does not match its public
// key is not trusted.
func parseKeys(body []byte) (keys map[string]ed25519.PublicKey, retired []string, err error) {
	var w wireKeys
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, nil, fmt.Errorf("decoding keys: %w", err)
	}
	keys = make(map[string]ed25519.PublicKey, len(w.Keys))
	for _, k := range w.Keys {
		if k.RetiredAt != nil {
			retired = append(retired, k.KeyID)
			continue
		}
		if k.Algorithm != "ed25519" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(k.PublicKey)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			continue
		}
		pub := ed25519.PublicKey(raw)
		if KeyID(pub) != k.KeyID {
			continue
		}
		keys[k.KeyID] = pub
	}
	return keys, retired, nil
}
