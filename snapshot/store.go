package snapshot

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
)

// Baseline is the name of the initial state every account is reset to by default.
const Baseline = "initial"

// Snapshot is one app's captured state of one account, in one version of
// a named state.
type Snapshot struct {
	ID        int64     `json:"id"`
	AccountID string    `json:"account_id"`
	AppID     string    `json:"app_id"`
	App       string    `json:"app"`
	State     string    `json:"state"`
	Version   int       `json:"version"`
	Hash      string    `json:"hash"`
	Size      int       `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

// Store keeps snapshots in the database, and the blobs it reads in memory.
// It knows nothing of accounts beyond their ids: Service is the account-level
// side (resets, captures, provisioning's baselines).
type Store struct {
	db    pgdb.DB
	cache *blobCache
	// hashes are the canonical hashes of the states that apps answered
	// after a restore, by the answer's bytes (see hashOf).
	hashes *lru.Cache[string, Hash]
	now    func() time.Time
}

// NewStore returns a Store on db. now is the clock its statements take as
// their now (nil: the database's), so that a snapshot's and a blob's
// created_at come from the same clock as the rest of the service's rows.
func NewStore(db pgdb.DB, now func() time.Time) *Store {
	hashes, err := lru.New[string, Hash](cachedHashes)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &Store{db: db, cache: &blobCache{m: map[Hash][]byte{}, max: DefaultCacheBytes}, hashes: hashes, now: now}
}

// The cache of hashOf: at most cachedHashes answers of at most
// maxHashedBytes each (16 MiB in all).
const (
	cachedHashes   = 512
	maxHashedBytes = 32 << 10
)

// hashOf returns the hash of state's canonical form. Every reset of an
// account hashes what its app answered after the restore, which is the
// same bytes reset after reset when the restore did its work, and
// canonicalizing them (encoding/json, a map per object) was a tenth of the
// server's CPU per reset: answers up to maxHashedBytes are remembered by
// their bytes.
func (s *Store) hashOf(state []byte) (Hash, error) {
	small := len(state) <= maxHashedBytes
	var key string
	if small {
		key = string(state)
		if h, ok := s.hashes.Get(key); ok {
			return h, nil
		}
	}
	c, err := Canonical(state)
	if err != nil {
		return Hash{}, err
	}
	h := HashOf(c)
	if small {
		s.hashes.Add(key, h)
	}
	return h, nil
}

// captured is one app's state, canonical and hashed.
type captured struct {
	ref       apps.LiveRef
	canonical []byte
	hash      Hash
}

// snapshotAll snapshots every app in parallel, each within timeout.
func snapshotAll(ctx context.Context, accountID string, refs []apps.LiveRef, timeout time.Duration) ([]captured, error) {
	out := make([]captured, len(refs))
	err := eachApp(ctx, "snapshotting", refs, timeout, func(ctx context.Context, i int, r apps.LiveRef) error {
		state, err := r.App.Snapshot(ctx, providers.Target{Ref: r.Ref, AccountID: accountID})
		if err != nil {
			return err
		}
		c, err := Canonical(state)
		out[i] = captured{ref: r, canonical: c, hash: HashOf(c)}
		return err
	})
	return out, err
}

// eachApp runs fn for every app in parallel, each within timeout, and
// returns *AppsError naming every app whose fn failed (op says what was
// being done).
func eachApp(ctx context.Context, op string, refs []apps.LiveRef, timeout time.Duration, fn func(ctx context.Context, i int, r apps.LiveRef) error) error {
	failures := make([]AppFailure, len(refs))
	var wg sync.WaitGroup
	for i, r := range refs {
		wg.Go(func() {
			actx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if err := fn(actx, i, r); err != nil {
				failures[i] = AppFailure{App: r.AppName, Err: timeoutCause(actx, err, timeout)}
			}
		})
	}
	wg.Wait()
	return failuresError(op, failures)
}

const (
	nextVersionSQL = `SELECT coalesce(max(version), 0) + 1 FROM snapshots WHERE account_id = $1 AND state = $2`
	insertSnapSQL  = `
INSERT INTO snapshots (account_id, app_id, state, version, hash, created_at) VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()))
RETURNING id, created_at`
)

// Capture snapshots every app of the account and records the states as
// the next version of state, with audit (when not nil) in the same
// transaction; audit's details gain the version. Errors: *AppsError naming
// the apps that failed (nothing is recorded then).
func (s *Store) Capture(ctx context.Context, accountID, state string, refs []apps.LiveRef, timeout time.Duration, audit *access.Event) ([]Snapshot, error) {
	caps, err := snapshotAll(ctx, accountID, refs, timeout)
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	now := pgdb.Now(s.now)
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		out = out[:0]
		if err := accounts.LockTx(ctx, tx, accountID); err != nil {
			return err
		}
		var version int
		if err := tx.QueryRow(ctx, nextVersionSQL, accountID, state).Scan(&version); err != nil {
			return err
		}
		for _, c := range caps {
			if _, err := putBlob(ctx, tx, c.canonical, now); err != nil {
				return err
			}
			sn := Snapshot{AccountID: accountID, AppID: c.ref.AppID, App: c.ref.AppName, State: state, Version: version,
				Hash: c.hash.String(), Size: len(c.canonical)}
			if err := tx.QueryRow(ctx, insertSnapSQL, accountID, c.ref.AppID, state, version, c.hash[:], now).Scan(&sn.ID, &sn.CreatedAt); err != nil {
				return err
			}
			out = append(out, sn)
		}
		if audit == nil {
			return nil
		}
		e := *audit
		e.Details = maps.Clone(e.Details)
		e.Details["version"] = version
		return access.Record(ctx, tx, e)
	})
	return out, pgdb.Translate(err, "", "")
}

const listSQL = `
SELECT s.id, s.account_id, s.app_id, s.state, s.version, s.hash, b.size, s.created_at
FROM snapshots s JOIN snapshot_blobs b ON b.hash = s.hash
WHERE s.account_id = $1 AND ($2 = '' OR s.state = $2)
ORDER BY s.state, s.version DESC`

// List returns the snapshots of an account (of one state when state is
// set), newest version first, then by app name. The app names are read
// through package apps, in a second statement.
func (s *Store) List(ctx context.Context, accountID, state string) ([]Snapshot, error) {
	rows, err := s.db.Query(ctx, listSQL, accountID, state)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	list, err := pgx.CollectRows(rows, scanSnapshot)
	if err != nil || len(list) == 0 {
		return list, pgdb.Translate(err, "", "")
	}
	ids := make([]string, 0, len(list))
	for _, sn := range list {
		ids = append(ids, sn.AppID)
	}
	names, err := apps.Names(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	rank := make(map[string]int, len(names))
	for i, n := range names {
		rank[n.ID] = i
	}
	for i := range list {
		list[i].App = names[rank[list[i].AppID]].Name
	}
	// Within each run of one state and version (as SQL ordered them), order
	// by app name as the database collates it.
	for start := 0; start < len(list); {
		end := start + 1
		for end < len(list) && list[end].State == list[start].State && list[end].Version == list[start].Version {
			end++
		}
		slices.SortStableFunc(list[start:end], func(a, b Snapshot) int { return rank[a.AppID] - rank[b.AppID] })
		start = end
	}
	return list, nil
}

func scanSnapshot(r pgx.CollectableRow) (Snapshot, error) {
	var sn Snapshot
	var h []byte
	err := r.Scan(&sn.ID, &sn.AccountID, &sn.AppID, &sn.State, &sn.Version, &h, &sn.Size, &sn.CreatedAt)
	sn.Hash = hex.EncodeToString(h)
	return sn, err
}

const hashesByPrefixSQL = `SELECT hash FROM snapshot_blobs WHERE substr(hash, 1, length($1::bytea)) = $1 LIMIT 2`

// Content returns the canonical JSON of the blob with hex hash h, or with
// the one hash that starts with h (at least 8 hex digits, as
// `snapshots list` shows 12). Errors: ENOTFOUND, EINVALID (ambiguous).
func (s *Store) Content(ctx context.Context, h string) ([]byte, error) {
	raw, err := hex.DecodeString(h)
	if err != nil || len(raw) < 4 || len(raw) > 32 {
		return nil, understudy.Errorf(understudy.ENOTFOUND, "no snapshot has hash %s (give at least 8 hex digits)", h)
	}
	if len(raw) < 32 {
		rows, err := s.db.Query(ctx, hashesByPrefixSQL, raw)
		if err != nil {
			return nil, pgdb.Translate(err, "", "")
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return nil, pgdb.Translate(err, "", "")
		}
		switch len(found) {
		case 0:
			return nil, understudy.Errorf(understudy.ENOTFOUND, "no snapshot has a hash starting with %s", h)
		case 2:
			return nil, understudy.Invalid("ambiguous hash", understudy.FieldError{Field: "hash", Detail: h + " starts more than one snapshot's hash; give more digits"})
		}
		raw = found[0]
	}
	return s.blob(ctx, Hash(raw))
}

const latestSQL = `
SELECT DISTINCT ON (app_id) app_id, hash FROM snapshots
WHERE account_id = $1 AND state = $2 ORDER BY app_id, version DESC`

// latest returns the newest hash of state for each app of the account.
func (s *Store) latest(ctx context.Context, accountID, state string) (map[string]Hash, error) {
	b := &pgx.Batch{}
	result := s.queueLatest(b, accountID, state)
	if err := pgdb.SendBatch(ctx, s.db, b); err != nil {
		return nil, err
	}
	return result()
}

// queueLatest queues in b the read that latest makes; once b has been
// sent, result returns what latest would.
func (s *Store) queueLatest(b *pgx.Batch, accountID, state string) (result func() (map[string]Hash, error)) {
	out := map[string]Hash{}
	var readErr error
	b.Queue(latestSQL, accountID, state).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		for rows.Next() {
			var app string
			var h []byte
			if readErr = rows.Scan(&app, &h); readErr != nil {
				return readErr
			}
			out[app] = Hash(h)
		}
		readErr = rows.Err()
		return readErr
	})
	return func() (map[string]Hash, error) { return out, pgdb.Translate(readErr, "", "") }
}

// AppFailure is one app's part of a failed capture or reset.
type AppFailure struct {
	App string
	Err error
}

// AppsError reports the apps that failed, each with its cause.
type AppsError struct {
	Op       string
	Failures []AppFailure
}

func (e *AppsError) Error() string {
	parts := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		parts[i] = fmt.Sprintf("app %s: %v", f.App, f.Err)
	}
	return e.Op + " failed: " + strings.Join(parts, "; ")
}

// Unwrap returns the causes, so errors.Is(err, providers.ErrUnavailable) works.
func (e *AppsError) Unwrap() []error {
	out := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		out[i] = f.Err
	}
	return out
}

func failuresError(op string, all []AppFailure) error {
	var fs []AppFailure
	for _, f := range all {
		if f.Err != nil {
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 {
		return nil
	}
	return &AppsError{Op: op, Failures: fs}
}

// timeoutCause says "timed out after …" when the app's deadline passed.
func timeoutCause(ctx context.Context, err error, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %v: %w (%w)", timeout, providers.ErrUnavailable, err)
	}
	return err
}

const appsWithStateSQL = `SELECT DISTINCT app_id::text FROM snapshots WHERE account_id = $1 AND state = $2`

// appsWithState returns the ids of the apps in which the account has a snapshot of state.
func (s *Store) appsWithState(ctx context.Context, accountID, state string) ([]string, error) {
	return pgdb.QueryAll(ctx, s.db, pgdb.Scalar[string], appsWithStateSQL, accountID, state)
}
