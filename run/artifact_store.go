package run

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The statements on run_artifacts; this file is the only one that names
// the table.
const (
	// lockArtifactsSQL holds the artifacts of lease $1 until the end of
	// the transaction, so that the bounds are checked and the row
	// written by one upload at a time.
	lockArtifactsSQL = `SELECT pg_advisory_xact_lock(hashtextextended('understudy/run/artifacts/' || $1, 0))`
	// roomSQL counts the artifacts of lease $1 and their bytes, but the
	// one named $2 (which an upload of that name replaces).
	roomSQL = `SELECT count(*), coalesce(sum(size), 0)::bigint FROM run_artifacts WHERE lease_id = $1 AND name <> $2`
	// oldKeySQL is the blob of the artifact $2 of lease $1, if any.
	oldKeySQL = `SELECT blob_key FROM run_artifacts WHERE lease_id = $1 AND name = $2`
	// upsertArtifactSQL writes an artifact's row, replacing the one of its
	// name.
	upsertArtifactSQL = `
INSERT INTO run_artifacts (lease_id, name, blob_key, size, sha256, content_type, uploaded_at, token_id, token_name)
VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6, $7, $8::uuid, $9)
ON CONFLICT (lease_id, name) DO UPDATE SET blob_key = excluded.blob_key, size = excluded.size, sha256 = excluded.sha256,
    content_type = excluded.content_type, uploaded_at = excluded.uploaded_at, token_id = excluded.token_id, token_name = excluded.token_name`
	artifactColumns = `lease_id::text, name, size, encode(sha256, 'hex'), content_type, uploaded_at, token_name, blob_key, coalesce(token_id::text, '')`
	// listArtifactsSQL lists the artifacts of lease $1 by name, at most $2.
	listArtifactsSQL = `SELECT ` + artifactColumns + ` FROM run_artifacts WHERE lease_id = $1 ORDER BY name LIMIT $2`
	getArtifactSQL   = `SELECT ` + artifactColumns + ` FROM run_artifacts WHERE lease_id = $1 AND name = $2`
	// deleteArtifactSQL deletes the artifact $2 of lease $1 and returns its
	// blob's key.
	deleteArtifactSQL = `DELETE FROM run_artifacts WHERE lease_id = $1 AND name = $2 RETURNING blob_key`
	// expiredSQL lists up to $2 artifacts uploaded before $1, oldest first.
	expiredSQL = `SELECT ` + artifactColumns + ` FROM run_artifacts WHERE uploaded_at < $1 ORDER BY uploaded_at LIMIT $2`
	// deleteKeysSQL deletes the artifacts whose blobs are $1 (a row
	// replaced since it was read has another blob and stays).
	deleteKeysSQL = `DELETE FROM run_artifacts WHERE blob_key = ANY($1) RETURNING lease_id::text, name`
	// keptLeasesSQL lists which of the leases $1 still have artifacts.
	keptLeasesSQL = `SELECT DISTINCT lease_id::text FROM run_artifacts WHERE lease_id = ANY($1::uuid[])`
)

// scanArtifact scans the columns of artifactColumns.
func scanArtifact(row pgx.Row, a *Artifact) error {
	return row.Scan(&a.LeaseID, &a.Name, &a.Size, &a.SHA256, &a.ContentType, &a.UploadedAt, &a.UploadedBy, &a.key, &a.tokenID)
}

// checkRoom refuses an artifact of size bytes named name when the lease
// has no room for it beside its other artifacts. Errors: ECONFLICT,
// EUNAVAILABLE.
func (a *Artifacts) checkRoom(ctx context.Context, db pgdb.DB, leaseID, name string, size int64) error {
	var count, total int64
	err := db.QueryRow(ctx, roomSQL, leaseID, name).Scan(&count, &total)
	if err := pgdb.Translate(err, "", ""); err != nil {
		return err
	}
	switch {
	case count+1 > int64(a.maxFiles):
		return understudy.Errorf(understudy.ECONFLICT, "lease %s already has %d artifacts, the most a lease may have; replace one by uploading under its name, or delete one", leaseID, count)
	case total+size > a.maxTotal:
		return understudy.Errorf(understudy.ECONFLICT, "lease %s's artifacts would take %d bytes with this one, more than the %d a lease may have; delete one, or upload less", leaseID, total+size, a.maxTotal)
	}
	return nil
}

// record writes art's row, under the lease's lock, once the bounds allow
// it, with its audit event, and returns the key of the blob of the row it
// replaced, if any. Errors: ECONFLICT (the bounds), EUNAVAILABLE.
func (a *Artifacts) record(ctx context.Context, up Upload, art Artifact) (replaced string, err error) {
	err = pgdb.InTx(ctx, a.db, func(tx pgx.Tx) error {
		replaced = ""
		if _, err := tx.Exec(ctx, lockArtifactsSQL, up.LeaseID); err != nil {
			return err
		}
		if err := a.checkRoom(ctx, tx, up.LeaseID, art.Name, art.Size); err != nil {
			return err
		}
		old, found, err := pgdb.QueryMaybe(ctx, tx, pgdb.Scalar[string], pgdb.Conflict{}, oldKeySQL, up.LeaseID, art.Name)
		if err != nil {
			return err
		}
		if found {
			replaced = old
		}
		var tokenID *string // NULL for work no token asked for
		if art.tokenID != "" {
			tokenID = &art.tokenID
		}
		if _, err := tx.Exec(ctx, upsertArtifactSQL, art.LeaseID, art.Name, art.key, art.Size, art.SHA256, art.ContentType,
			art.UploadedAt, tokenID, art.UploadedBy); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "artifact.upload", TargetType: "lease", TargetID: art.LeaseID,
			Details: map[string]any{"name": art.Name, "size": art.Size, "sha256": art.SHA256, "content_type": art.ContentType, "replaced": found}})
	})
	return replaced, err
}

// deleteRow deletes the row of artifact name of a lease, audited, and
// returns its blob's key. Errors: ENOTFOUND, EUNAVAILABLE.
func (a *Artifacts) deleteRow(ctx context.Context, leaseID, name string) (key string, err error) {
	err = pgdb.InTx(ctx, a.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockArtifactsSQL, leaseID); err != nil {
			return err
		}
		k, err := pgdb.QueryOne(ctx, tx, pgdb.Scalar[string], fmt.Sprintf("lease %s has no artifact named %q", leaseID, name), deleteArtifactSQL, leaseID, name)
		if err != nil {
			return err
		}
		key = k
		return access.Record(ctx, tx, access.Event{Action: "artifact.delete", TargetType: "lease", TargetID: leaseID,
			Details: map[string]any{"name": name}})
	})
	return key, err
}

// expired lists up to limit artifacts uploaded before cutoff, oldest first.
func (a *Artifacts) expired(ctx context.Context, cutoff time.Time, limit int) ([]Artifact, error) {
	return pgdb.QueryAll(ctx, a.db, scanArtifact, expiredSQL, cutoff, limit)
}

// deleteExpired deletes the rows of the blobs keys, each lease's with one
// artifact.prune event naming them, in one transaction, and returns how
// many it deleted and the leases they were of.
func (a *Artifacts) deleteExpired(ctx context.Context, keys []string) (n int, leases []string, err error) {
	err = pgdb.InTx(ctx, a.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, deleteKeysSQL, keys)
		if err != nil {
			return err
		}
		type gone struct{ lease, name string }
		deleted, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gone, error) {
			var g gone
			return g, r.Scan(&g.lease, &g.name)
		})
		if err != nil {
			return err
		}
		byLease := map[string][]string{}
		leases, n = nil, len(deleted)
		for _, g := range deleted {
			if byLease[g.lease] == nil {
				leases = append(leases, g.lease)
			}
			byLease[g.lease] = append(byLease[g.lease], g.name)
		}
		events := make([]access.Event, 0, len(leases))
		for _, l := range leases {
			events = append(events, access.Event{Action: "artifact.prune", TargetType: "lease", TargetID: l,
				Details: map[string]any{"names": byLease[l], "reason": "artifact_retention", "retention_seconds": int64(a.retention.Seconds())}})
		}
		return access.RecordMany(ctx, tx, events)
	})
	return n, leases, err
}

// keptLeases returns which of leases still have artifacts.
func (a *Artifacts) keptLeases(ctx context.Context, leases []string) (map[string]bool, error) {
	ids, err := pgdb.QueryAll(ctx, a.db, pgdb.Scalar[string], keptLeasesSQL, leases)
	if err != nil {
		return nil, err
	}
	kept := make(map[string]bool, len(ids))
	for _, id := range ids {
		kept[id] = true
	}
	return kept, nil
}
