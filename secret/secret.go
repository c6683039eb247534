// Package secret seals and opens secrets at rest (account passwords, later
// provider credentials and TOTP seeds) with AES-256-GCM.
//
// Every sealed value records the id of the key that sealed it, so the key can
// be rotated: a Keyring seals with its primary key and opens with any key it
// holds. A value sealed by a key the keyring does not hold fails with
// *UnknownKeyError, which names the key id (never the key) so an operator can
// tell which key is missing.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// Sealed is an encrypted value and the id of the key that sealed it.
type Sealed struct {
	KeyID string
	// Data is the GCM nonce followed by the ciphertext and tag.
	Data []byte
}

// UnknownKeyError reports a value sealed by a key the keyring does not hold.
type UnknownKeyError struct{ KeyID string }

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("the value was sealed with key id %s, which is not configured", e.KeyID)
}

// ErrCorrupt reports a sealed value that fails authentication: it was altered,
// or sealed for another purpose.
var ErrCorrupt = errors.New("sealed value failed authentication")

type key struct {
	id   string
	aead cipher.AEAD
	mac  []byte // the digest key, derived from the raw key
}

// Keyring holds a primary key, used to seal, and older keys, used only to open.
type Keyring struct {
	primary key
	byID    map[string]key
}

// KeyID returns the id of a raw key: the first 8 bytes of its SHA-256, in hex.
// It identifies the key without revealing it.
func KeyID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8])
}

// NewKeyring returns a keyring that seals with primary and opens with primary
// or any of older. Every key must be KeySize bytes.
func NewKeyring(primary []byte, older ...[]byte) (*Keyring, error) {
	k := &Keyring{byID: map[string]key{}}
	for i, raw := range append([][]byte{primary}, older...) {
		if len(raw) != KeySize {
			return nil, fmt.Errorf("key %d is %d bytes; a key must be %d bytes", i, len(raw), KeySize)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		kk := key{id: KeyID(raw), aead: aead, mac: deriveMAC(raw)}
		if i == 0 {
			k.primary = kk
		}
		k.byID[kk.id] = kk
	}
	return k, nil
}

// ParseKey decodes a base64 (standard or URL, padded or not) key of KeySize
// bytes. The error never contains the input.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("the key is empty; it must be %d random bytes, base64-encoded (openssl rand -base64 32)", KeySize)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			if len(raw) != KeySize {
				return nil, fmt.Errorf("the key decodes to %d bytes; it must be %d bytes, base64-encoded", len(raw), KeySize)
			}
			return raw, nil
		}
	}
	return nil, fmt.Errorf("the key is not valid base64; it must be %d random bytes, base64-encoded (openssl rand -base64 32)", KeySize)
}

// GenerateKey returns a new random key, base64-encoded.
func GenerateKey() string {
	return base64.StdEncoding.EncodeToString(randomBytes(KeySize))
}

// PrimaryKeyID returns the id of the key that Seal uses.
func (k *Keyring) PrimaryKeyID() string { return k.primary.id }

// Seal encrypts plaintext with the primary key. aad binds the value to its
// place (an account id, say), so a sealed value copied elsewhere fails to open.
func (k *Keyring) Seal(plaintext, aad []byte) Sealed {
	nonce := randomBytes(k.primary.aead.NonceSize())
	return Sealed{KeyID: k.primary.id, Data: k.primary.aead.Seal(nonce, nonce, plaintext, aad)}
}

// Open decrypts s. It returns *UnknownKeyError when s was sealed by a key the
// keyring does not hold, and ErrCorrupt when authentication fails.
func (k *Keyring) Open(s Sealed, aad []byte) ([]byte, error) {
	kk, ok := k.byID[s.KeyID]
	if !ok {
		return nil, &UnknownKeyError{KeyID: s.KeyID}
	}
	n := kk.aead.NonceSize()
	if len(s.Data) < n {
		return nil, ErrCorrupt
	}
	plain, err := kk.aead.Open(nil, s.Data[:n], s.Data[n:], aad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

// randomBytes returns n bytes from crypto/rand, which never fails on the
// platforms Go supports (it panics rather than return weak bytes).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// SealMap seals a set of named secrets (a provider's or a destination's)
// as one JSON document, with purpose as associated data so a sealed value
// cannot be opened as another kind of secret. No secret seals to the zero
// Sealed (stored as no key id and no data).
func (k *Keyring) SealMap(secrets map[string]string, purpose string) Sealed {
	if len(secrets) == 0 {
		return Sealed{}
	}
	b, _ := json.Marshal(secrets) // a map of strings always marshals
	return k.Seal(b, []byte(purpose))
}

// OpenMap opens what SealMap sealed for purpose; the zero Sealed opens to
// no secrets. Errors: those of Open, or a sealed value that is not a JSON
// object of strings.
func (k *Keyring) OpenMap(s Sealed, purpose string) (map[string]string, error) {
	out := map[string]string{}
	if s.KeyID == "" {
		return out, nil
	}
	plain, err := k.Open(s, []byte(purpose))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, fmt.Errorf("the sealed secrets are not a JSON object of strings: %w", err)
	}
	return out, nil
}

// deriveMAC derives the key of Digest from a raw key, so the digest key is
// never the encryption key.
func deriveMAC(raw []byte) []byte {
	m := hmac.New(sha256.New, raw)
	m.Write([]byte("understudy secret digest v1"))
	return m.Sum(nil)
}

// Digest returns a keyed digest (HMAC-SHA256) of value for purpose, with
// the primary key's id in front: "<key id>:<hex>". Equal values give equal
// digests under one key, so a stored digest tells whether a secret changed
// without keeping or opening the secret; without the key, the digest tells
// nothing about the value. After a key rotation the digests of the old key
// no longer match (DigestKeyID tells which key made one).
func (k *Keyring) Digest(purpose, value string) string {
	m := hmac.New(sha256.New, k.primary.mac)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return k.primary.id + ":" + hex.EncodeToString(m.Sum(nil))
}

// DigestMap returns the digest of each named secret, for purpose.
func (k *Keyring) DigestMap(secrets map[string]string, purpose string) map[string]string {
	out := make(map[string]string, len(secrets))
	for name, v := range secrets {
		out[name] = k.Digest(purpose+"/"+name, v)
	}
	return out
}
