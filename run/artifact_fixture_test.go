package run_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
)

// artifactSite is Artifacts on a database of the test's own (the
// concurrency and retention tests commit), with two leases of the buyer
// role and a clock the test moves.
type artifactSite struct {
	a      *run.Artifacts
	bucket *blob.Bucket
	stack  domaintest.Stack
	// lease1 and lease2 are two open leases.
	lease1, lease2 lease.Grant
	// ctx is the caller, a runner token named runner-1.
	ctx   context.Context
	clock *testClock
}

// testClock is a clock a test sets; it starts at the wall clock's time.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newArtifactSite opens bucketURL (a new folder when it is empty) and
// builds Artifacts on it with cfg's bounds.
func newArtifactSite(t *testing.T, bucketURL string, cfg run.ArtifactConfig) *artifactSite {
	t.Helper()
	ctx := context.Background()
	if bucketURL == "" {
		bucketURL = fileBucketURL(t.TempDir())
	}
	bucket, err := run.OpenBucket(ctx, bucketURL)
	if err != nil {
		t.Fatalf("opening %s: %v", bucketURL, err)
	}
	t.Cleanup(func() { _ = bucket.Close() })
	pool := dbtest.NewPool(t)
	st := domaintest.New(t, pool, 2)
	clock := &testClock{t: time.Now()}
	cfg.DB, cfg.Bucket, cfg.Now = pool, bucket, clock.Now
	a, err := run.NewArtifacts(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &artifactSite{a: a, bucket: bucket, stack: st, lease1: st.Lease(t, "artifacts-1"), lease2: st.Lease(t, "artifacts-2"),
		ctx: access.WithCaller(st.Ctx, access.Caller{Actor: "runner-1", Scope: access.ScopeRunner}), clock: clock}
}

// fileBucketURL is the file:// URL of dir, its temporary files beside it.
func fileBucketURL(dir string) string {
	return (&url.URL{Scheme: "file", Path: dir, RawQuery: "no_tmp_dir=1"}).String()
}

// put uploads body as name to the site's first lease, open for a minute.
func (s *artifactSite) put(t *testing.T, name, contentType string, body []byte) (run.Artifact, error) {
	t.Helper()
	return s.a.Put(s.ctx, run.Upload{LeaseID: s.lease1.Lease.ID, LeaseEnd: s.lease1.Lease.ExpiresAt, Name: name,
		ContentType: contentType, Body: bytes.NewReader(body)})
}

// read returns the bytes of artifact name of lease id, or fails the test.
func (s *artifactSite) read(t *testing.T, id, name string) (run.Artifact, []byte) {
	t.Helper()
	art, r, err := s.a.Open(s.ctx, id, name)
	if err != nil {
		t.Fatalf("opening %s: %v", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return art, b
}

// keys lists the bucket's keys under prefix.
func (s *artifactSite) keys(t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("listing the bucket: %v", err)
		}
		out = append(out, obj.Key)
	}
}

// auditOf lists the audit events of action on lease id.
func (s *artifactSite) auditOf(t *testing.T, action, id string) []access.Event {
	t.Helper()
	events, err := access.NewAudit(s.stack.DB).List(context.Background(), access.AuditFilter{Action: action, TargetType: "lease", TargetID: id})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
