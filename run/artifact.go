package run

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Limits of a lease's artifacts.
const (
	// MaxArtifactBytes bounds one artifact: 10 MiB.
	MaxArtifactBytes = 10 << 20
	// DefaultMaxArtifacts bounds the artifacts of one lease.
	DefaultMaxArtifacts = 100
	// DefaultMaxArtifactTotal bounds the bytes of one lease's artifacts
	// together: 100 MiB.
	DefaultMaxArtifactTotal = 100 << 20
	// UploadWindow is how long after its lease ended a run may still
	// upload: a test runner uploads its traces and screenshots after it
	// has released the account.
	UploadWindow = time.Hour
	// DefaultArtifactRetention is how long an artifact is kept after its
	// upload: 30 days.
	DefaultArtifactRetention = 30 * 24 * time.Hour
)

// Artifact is one file a test run uploaded as evidence of its lease: a
// screenshot, a Playwright trace, a log.
type Artifact struct {
	LeaseID string `json:"lease_id"`
	// Name is the artifact's file name, unique within its lease
	// (ValidateArtifactName).
	Name string `json:"name"`
	// Size is its length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of its bytes.
	SHA256 string `json:"sha256"`
	// ContentType is the media type it was uploaded with (it is served as
	// ServedContentType of it).
	ContentType string    `json:"content_type"`
	UploadedAt  time.Time `json:"uploaded_at"`
	// UploadedBy names the token that uploaded it.
	UploadedBy string `json:"uploaded_by"`

	// key is where its bytes are in the bucket.
	key     string
	tokenID string
}

// Artifacts keeps the files a test run uploads as the evidence of its
// lease, so that a failed production test can be understood after the
// account has been reset for the next run.
//
// The bytes are kept in a blob bucket (gocloud.dev/blob: a folder, S3 or
// GCS; NewBlobMux) and their metadata in the table run_artifacts. A
// storage key is <lease id>/<name>/<upload id>: two ids the server made and
// a name that ValidateArtifactName accepted, so no upload can write outside
// its lease's prefix. Each upload writes a blob of its own; only once the
// blob is whole is its row written, in a transaction that holds the lease's
// artifacts (an advisory lock), checks the bounds and replaces the row of
// the same name, if any. The blob a row no longer names (the one replaced,
// or the new one when the row could not be written) is then removed, so a
// listed artifact is always whole, and concurrent uploads of one name end
// with the last to commit as the one winner, its row and its blob.
//
// An upload is accepted until UploadWindow after its lease ended (while the
// lease is open, its end is its expiry), at most MaxArtifactBytes each, and
// at most MaxFiles and MaxTotalBytes per lease. Artifacts are deleted,
// rows and blobs, Retention after their upload, by the periodic job of
// ArtifactPeriodicJobs. Who may upload (the token that acquired the lease,
// or an admin) is the caller's to check: Put trusts the lease it is given.
type Artifacts struct {
	db     pgdb.DB
	bucket *blob.Bucket
	logger *slog.Logger
	now    func() time.Time
	// retention is how long an artifact is kept after its upload.
	retention time.Duration
	// maxFiles and maxTotal bound a lease's artifacts.
	maxFiles int
	maxTotal int64
}

// ArtifactConfig configures Artifacts.
type ArtifactConfig struct {
	// DB holds run_artifacts. Required.
	DB pgdb.DB
	// Bucket keeps the artifacts' bytes (OpenBucket). Required; Artifacts
	// does not close it.
	Bucket *blob.Bucket
	// Logger receives what could not be cleaned up (a blob left behind).
	// Defaults to discarding.
	Logger *slog.Logger
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Retention is how long an artifact is kept after its upload, from 1h
	// to 10 years. Defaults to DefaultArtifactRetention (30 days).
	Retention time.Duration
	// MaxFiles bounds the artifacts of one lease. Defaults to
	// DefaultMaxArtifacts (100).
	MaxFiles int
	// MaxTotalBytes bounds the bytes of one lease's artifacts. Defaults to
	// DefaultMaxArtifactTotal (100 MiB).
	MaxTotalBytes int64
}

// WithDefaults returns c with its optional fields filled.
func (c ArtifactConfig) WithDefaults() ArtifactConfig {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Retention = cmp.Or(c.Retention, DefaultArtifactRetention)
	c.MaxFiles = cmp.Or(c.MaxFiles, DefaultMaxArtifacts)
	c.MaxTotalBytes = cmp.Or(c.MaxTotalBytes, DefaultMaxArtifactTotal)
	return c
}

// MaxArtifactRetention bounds ArtifactConfig.Retention: 10 years.
const MaxArtifactRetention = 10 * 365 * 24 * time.Hour

// Validate names the first missing or bad field.
func (c ArtifactConfig) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("run: ArtifactConfig.DB is required")
	case c.Bucket == nil:
		return errors.New("run: ArtifactConfig.Bucket is required")
	case c.Retention < time.Hour || c.Retention > MaxArtifactRetention:
		return fmt.Errorf("run: ArtifactConfig.Retention must be from 1h to 10 years, got %v", c.Retention)
	case c.MaxFiles < 1:
		return fmt.Errorf("run: ArtifactConfig.MaxFiles must be at least 1, got %d", c.MaxFiles)
	case c.MaxTotalBytes < 1:
		return fmt.Errorf("run: ArtifactConfig.MaxTotalBytes must be at least 1, got %d", c.MaxTotalBytes)
	}
	return nil
}

// NewArtifacts returns Artifacts, or an error naming the bad field of cfg.
func NewArtifacts(cfg ArtifactConfig) (*Artifacts, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Artifacts{db: cfg.DB, bucket: cfg.Bucket, logger: cfg.Logger, now: cfg.Now, retention: cfg.Retention,
		maxFiles: cfg.MaxFiles, maxTotal: cfg.MaxTotalBytes}, nil
}

// Upload is one file a test run sends as evidence of its lease.
type Upload struct {
	// LeaseID is the lease the artifact belongs to; the caller has checked
	// that the uploader may write to it.
	LeaseID string
	// LeaseEnd is when the lease ended, or, while it is open, when it
	// expires: uploads are accepted until UploadWindow after it.
	LeaseEnd time.Time
	// Name is the artifact's name (ValidateArtifactName).
	Name string
	// ContentType is the upload's Content-Type header (NormalizeContentType).
	ContentType string
	// Body is the file; more than MaxArtifactBytes is refused.
	Body io.Reader
}

// Put stores an upload as the artifact of its name, replacing the one of
// that name. The caller is recorded as its uploader, and the upload is
// audited (artifact.upload) with the write. Errors: EMALFORMED (the name;
// the body could not be read, joined with the read's error), ETOOLARGE
// (over MaxArtifactBytes), ECONFLICT (the upload window closed, or the
// lease's bounds would be passed), EUNAVAILABLE.
func (a *Artifacts) Put(ctx context.Context, up Upload) (Artifact, error) {
	if err := ValidateArtifactName(up.Name); err != nil {
		return Artifact{}, err
	}
	if err := a.checkWindow(up); err != nil {
		return Artifact{}, err
	}
	if err := a.checkRoom(ctx, a.db, up.LeaseID, up.Name, 0); err != nil {
		return Artifact{}, err
	}
	caller := access.CallerFrom(ctx)
	art := Artifact{LeaseID: up.LeaseID, Name: up.Name, ContentType: NormalizeContentType(up.ContentType),
		UploadedBy: caller.Actor, tokenID: caller.TokenID, key: blobKey(up.LeaseID, up.Name, uuid.NewString())}
	var err error
	if art.Size, art.SHA256, err = a.write(ctx, art, up.Body); err != nil {
		return Artifact{}, err
	}
	art.UploadedAt = a.now().UTC().Truncate(time.Microsecond)
	replaced, err := a.record(ctx, up, art)
	if err != nil {
		a.remove(ctx, art.key)
		return Artifact{}, err
	}
	if replaced != "" {
		a.remove(ctx, replaced)
	}
	return art, nil
}

// blobKey is where an upload's bytes are kept: under its lease, in a
// folder of its name, as one upload of it.
func blobKey(leaseID, name, uploadID string) string {
	return leaseID + "/" + name + "/" + uploadID
}

// checkWindow refuses an upload after its lease's window closed.
func (a *Artifacts) checkWindow(up Upload) error {
	if until := up.LeaseEnd.Add(UploadWindow); !a.now().Before(until) {
		return understudy.Errorf(understudy.ECONFLICT, "lease %s ended at %s; its artifacts are accepted until %s after it ends, %s",
			up.LeaseID, up.LeaseEnd.UTC().Format(time.RFC3339), UploadWindow, until.UTC().Format(time.RFC3339))
	}
	return nil
}

// write streams body into a new blob at art's key, refusing more than
// MaxArtifactBytes, and returns its size and hex SHA-256. A write that
// fails leaves no blob.
func (a *Artifacts) write(ctx context.Context, art Artifact, body io.Reader) (int64, string, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := a.bucket.NewWriter(wctx, art.key, &blob.WriterOptions{ContentType: ServedContentType(art.ContentType),
		ContentDisposition: AttachmentDisposition(art.Name)})
	if err != nil {
		return 0, "", a.unavailable("opening", err)
	}
	h := sha256.New()
	src := &uploadReader{r: io.LimitReader(body, MaxArtifactBytes+1)}
	n, err := io.Copy(io.MultiWriter(w, h), src)
	switch {
	case src.err != nil:
		// The client's body failed, not the store.
		err = errors.Join(understudy.Errorf(understudy.EMALFORMED, "the upload of artifact %q could not be read", art.Name), src.err)
	case err != nil:
		err = a.unavailable("writing", err)
	case n > MaxArtifactBytes:
		err = understudy.Errorf(understudy.ETOOLARGE, "artifact %q is larger than %d bytes (10 MiB)", art.Name, MaxArtifactBytes)
	}
	if err != nil {
		cancel() // aborts the write: nothing is stored
		_ = w.Close()
		return 0, "", err
	}
	if err := w.Close(); err != nil {
		return 0, "", a.unavailable("writing", err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// uploadReader is an upload's body that remembers its own read error, so
// that a failed copy can be told from a failed write.
type uploadReader struct {
	r   io.Reader
	err error
}

func (b *uploadReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// unavailable is the error of a bucket that failed doing what: the
// caller may try again.
func (a *Artifacts) unavailable(doing string, err error) error {
	return errors.Join(understudy.Errorf(understudy.EUNAVAILABLE, "the artifact store failed %s the artifact; try again", doing), err)
}

// remove deletes the blob at key, which no row names (or is about to no
// longer name); a blob already gone is fine. It runs even when ctx has
// ended (a client that went away), bounded on its own.
func (a *Artifacts) remove(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := a.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		a.logger.WarnContext(ctx, "an artifact's blob could not be removed; the retention job removes it with its lease's other artifacts",
			slog.String("key", key), slog.String("err", err.Error()))
	}
}

// List returns the artifacts of a lease, by name. Errors: EUNAVAILABLE.
func (a *Artifacts) List(ctx context.Context, leaseID string) ([]Artifact, error) {
	return pgdb.QueryAll(ctx, a.db, scanArtifact, listArtifactsSQL, leaseID, a.maxFiles)
}

// Open returns the artifact name of a lease and a reader of its bytes,
// which the caller closes. Errors: EMALFORMED (the name), ENOTFOUND,
// EUNAVAILABLE.
func (a *Artifacts) Open(ctx context.Context, leaseID, name string) (Artifact, io.ReadCloser, error) {
	var r io.ReadCloser
	art, err := a.stored(ctx, leaseID, name, func(key string) (err error) {
		r, err = a.bucket.NewReader(ctx, key, nil)
		return err
	})
	return art, r, err
}

// Stat returns the artifact name of a lease, as Open finds it, without
// reading its bytes. Errors: as Open's.
func (a *Artifacts) Stat(ctx context.Context, leaseID, name string) (Artifact, error) {
	return a.stored(ctx, leaseID, name, func(key string) error {
		_, err := a.bucket.Attributes(ctx, key)
		return err
	})
}

// stored reads the row of artifact name of a lease, then reaches its blob
// (reach: an error whose gcerrors code is NotFound when it is gone).
func (a *Artifacts) stored(ctx context.Context, leaseID, name string, reach func(key string) error) (Artifact, error) {
	if err := ValidateArtifactName(name); err != nil {
		return Artifact{}, err
	}
	// A read that loses the race with a replacement of the same name (its
	// blob removed between the row's read and the blob's) reads the row
	// again: the replacement's blob is whole before its row is written.
	for attempt := 0; ; attempt++ {
		art, err := pgdb.QueryOne(ctx, a.db, scanArtifact, fmt.Sprintf("lease %s has no artifact named %q", leaseID, name), getArtifactSQL, leaseID, name)
		if err != nil {
			return Artifact{}, err
		}
		err = reach(art.key)
		switch {
		case err == nil:
			return art, nil
		case gcerrors.Code(err) == gcerrors.NotFound && attempt < 2:
			continue
		case gcerrors.Code(err) == gcerrors.NotFound:
			return Artifact{}, understudy.Errorf(understudy.ENOTFOUND, "artifact %q of lease %s is no longer stored", name, leaseID)
		default:
			return Artifact{}, a.unavailable("reading", err)
		}
	}
}

// Delete deletes the artifact name of a lease, its row and its blob, and
// audits it (artifact.delete). Errors: EMALFORMED (the name), ENOTFOUND,
// EUNAVAILABLE.
func (a *Artifacts) Delete(ctx context.Context, leaseID, name string) error {
	if err := ValidateArtifactName(name); err != nil {
		return err
	}
	key, err := a.deleteRow(ctx, leaseID, name)
	if err != nil {
		return err
	}
	a.remove(ctx, key)
	return nil
}
