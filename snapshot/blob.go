package snapshot

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Hash is the SHA-256 of a state's canonical JSON.
type Hash [32]byte

// String returns the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Canonical returns state re-encoded with sorted object keys and no
// insignificant space, so equal states have equal bytes and equal hashes.
// Numbers keep their literal form (json.Number).
func Canonical(state []byte) ([]byte, error) {
	v, err := decodeState(state)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v) // encoding/json sorts map keys
}

// HashOf returns the hash of canonical content.
func HashOf(canonical []byte) Hash { return sha256.Sum256(canonical) }

const putBlobSQL = `
INSERT INTO snapshot_blobs (hash, content, size, created_at) VALUES ($1, $2, $3, coalesce($4::timestamptz, now()))
ON CONFLICT (hash) DO NOTHING`

// putBlob stores canonical content once, compressed, and returns its hash.
// now is the statement's now (nil: the database's).
func putBlob(ctx context.Context, db pgdb.DB, canonical []byte, now *time.Time) (Hash, error) {
	h := HashOf(canonical)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(canonical)
	if err := zw.Close(); err != nil {
		return h, err
	}
	if _, err := db.Exec(ctx, putBlobSQL, h[:], buf.Bytes(), len(canonical), now); err != nil {
		return h, pgdb.Translate(err, "", "")
	}
	return h, nil
}

const getBlobSQL = `SELECT content FROM snapshot_blobs WHERE hash = $1`

// blob returns the canonical content of hash h, from the cache when it is
// there (blobs never change: their name is their content's hash).
func (s *Store) blob(ctx context.Context, h Hash) ([]byte, error) {
	if c, ok := s.cache.get(h); ok {
		return bytes.Clone(c), nil // callers (providers) may keep or change it
	}
	c, err := getBlob(ctx, s.db, h)
	if err == nil {
		s.cache.put(h, bytes.Clone(c))
	}
	return c, err
}

// getBlob reads the canonical content of hash h, checking that it still
// hashes to h.
func getBlob(ctx context.Context, db pgdb.DB, h Hash) ([]byte, error) {
	var z []byte
	if err := db.QueryRow(ctx, getBlobSQL, h[:]).Scan(&z); err != nil {
		return nil, pgdb.Translate(err, "no snapshot has hash "+h.String(), "")
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("snapshot %s is corrupt: %w", h, err)
	}
	content, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s is corrupt: %w", h, err)
	}
	if HashOf(content) != h {
		return nil, fmt.Errorf("snapshot %s is corrupt: its content no longer matches its hash", h)
	}
	return content, nil
}

// blobCache keeps recently used blobs in memory, up to max bytes; past it,
// arbitrary entries are dropped (map order) until the new one fits.
type blobCache struct {
	mu   sync.Mutex
	m    map[Hash][]byte
	size int
	max  int
}

// DefaultCacheBytes bounds the blob cache of a Store.
const DefaultCacheBytes = 64 << 20

func (c *blobCache) get(h Hash) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[h]
	return b, ok
}

func (c *blobCache) put(h Hash, b []byte) {
	if len(b) > c.max/4 {
		return // a huge blob would flush everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[h]; ok {
		return
	}
	for k, v := range c.m {
		if c.size+len(b) <= c.max {
			break
		}
		delete(c.m, k)
		c.size -= len(v)
	}
	c.m[h] = b
	c.size += len(b)
}
