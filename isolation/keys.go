package isolation

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

// Algorithm is the signature algorithm of every key.
const Algorithm = "ed25519"

// Key is a public signing key that clients trust until it is retired.
type Key struct {
	// KeyID is the first 16 hex digits of the SHA-256 of PublicKey.
	KeyID string `json:"key_id"`
	// PublicKey is the raw 32-byte Ed25519 key (base64 in JSON).
	PublicKey []byte     `json:"public_key"`
	Algorithm string     `json:"algorithm"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at"`
}

// KeyID names a public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// signer is the current key with its private half.
type signer struct {
	id   string
	priv ed25519.PrivateKey
}

const (
	keyColumns = `key_id, public_key, created_at, retired_at`
	// keysSQL lists the trusted keys, newest (the one that signs) first.
	keysSQL       = `SELECT ` + keyColumns + ` FROM isolation_keys WHERE retired_at IS NULL ORDER BY created_at DESC, key_id`
	currentKeySQL = `SELECT key_id, private_key_id, private_sealed FROM isolation_keys WHERE retired_at IS NULL ORDER BY created_at DESC, key_id LIMIT 1`
	// The database stamps keys (clock_timestamp, under the advisory lock),
	// so a newer key always sorts first, whatever the servers' clocks say.
	insertKeySQL = `INSERT INTO isolation_keys (key_id, public_key, private_key_id, private_sealed) VALUES ($1, $2, $3, $4) RETURNING created_at`
	retireKeySQL = `UPDATE isolation_keys SET retired_at = clock_timestamp() WHERE key_id = $1 AND retired_at IS NULL`
	// lockKeysSQL serializes the writers of isolation_keys, so two first
	// uses make one key and a retirement never leaves none.
	lockKeysSQL = `SELECT pg_advisory_xact_lock(hashtext('isolation_keys'))`
)

func scanKey(row pgx.Row, k *Key) error {
	k.Algorithm = Algorithm
	return row.Scan(&k.KeyID, &k.PublicKey, &k.CreatedAt, &k.RetiredAt)
}

// Keys returns every trusted key, newest first, making the first key if
// there is none yet.
func (s *Service) Keys(ctx context.Context) ([]Key, error) {
	if _, err := s.signer(ctx); err != nil {
		return nil, err
	}
	return pgdb.QueryAll(ctx, s.db, scanKey, keysSQL)
}

// Rotate makes a new key, which signs from now on; the older keys stay
// trusted until retired. Audited.
func (s *Service) Rotate(ctx context.Context) (Key, error) {
	var k Key
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockKeysSQL); err != nil {
			return err
		}
		var err error
		if k, err = s.insertKey(ctx, tx); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "isolation_key.rotate", TargetType: "isolation_key", TargetID: k.KeyID})
	})
	return k, err
}

// Retire stops trusting key id. The key that signs cannot be retired
// (rotate first). Audited. Errors: ENOTFOUND, ECONFLICT.
func (s *Service) Retire(ctx context.Context, id string) error {
	return pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockKeysSQL); err != nil {
			return err
		}
		var current, sealedKeyID string
		var sealed []byte
		err := tx.QueryRow(ctx, currentKeySQL).Scan(&current, &sealedKeyID, &sealed)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if current == id {
			return understudy.Errorf(understudy.ECONFLICT, "key %s signs the isolation lists; rotate to a new key before retiring it", id)
		}
		tag, err := tx.Exec(ctx, retireKeySQL, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return understudy.Errorf(understudy.ENOTFOUND, "no trusted isolation key has the id %s", id)
		}
		return access.Record(ctx, tx, access.Event{Action: "isolation_key.retire", TargetType: "isolation_key", TargetID: id})
	})
}

// signer returns the key that signs, making it on first use.
func (s *Service) signer(ctx context.Context) (signer, error) {
	sg, found, err := s.currentSigner(ctx, s.db)
	if err != nil || found {
		return sg, err
	}
	err = pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockKeysSQL); err != nil {
			return err
		}
		if sg, found, err = s.currentSigner(ctx, tx); err != nil || found {
			return err
		}
		k, err := s.insertKey(ctx, tx)
		if err != nil {
			return err
		}
		if err := access.Record(ctx, tx, access.Event{Action: "isolation_key.create", TargetType: "isolation_key", TargetID: k.KeyID}); err != nil {
			return err
		}
		sg, _, err = s.currentSigner(ctx, tx)
		return err
	})
	return sg, err
}

// currentSigner reads and opens the key that signs, if there is one.
func (s *Service) currentSigner(ctx context.Context, db pgdb.DB) (signer, bool, error) {
	var sg signer
	var sealed secret.Sealed
	err := db.QueryRow(ctx, currentKeySQL).Scan(&sg.id, &sealed.KeyID, &sealed.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return sg, false, nil
	}
	if err != nil {
		return sg, false, err
	}
	seed, err := s.keyring.Open(sealed, keyAAD(sg.id))
	if err != nil {
		return sg, false, err
	}
	if len(seed) != ed25519.SeedSize {
		return sg, false, understudy.Errorf(understudy.EINTERNAL, "isolation key %s: the sealed seed has %d bytes", sg.id, len(seed))
	}
	sg.priv = ed25519.NewKeyFromSeed(seed)
	return sg, true, nil
}

// insertKey makes a key pair and stores it, the private seed sealed.
func (s *Service) insertKey(ctx context.Context, tx pgx.Tx) (Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	k := Key{KeyID: KeyID(pub), PublicKey: pub, Algorithm: Algorithm}
	sealed := s.keyring.Seal(priv.Seed(), keyAAD(k.KeyID))
	if err := tx.QueryRow(ctx, insertKeySQL, k.KeyID, []byte(pub), sealed.KeyID, sealed.Data).Scan(&k.CreatedAt); err != nil {
		return Key{}, err
	}
	return k, nil
}

// keyAAD binds a sealed seed to its key id.
func keyAAD(id string) []byte { return []byte("isolation-key:" + id) }
