package run_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/run"
)

func TestArtifactsOnAFolder(t *testing.T) {
	t.Parallel()
	exerciseArtifacts(t, newArtifactSite(t, "", run.ArtifactConfig{}))
}

// exerciseArtifacts uploads, lists, reads, replaces and deletes artifacts
// through s, whatever bucket it keeps them in.
func exerciseArtifacts(t *testing.T, s *artifactSite) {
	t.Helper()
	id := s.lease1.Lease.ID
	png := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 1000)
	art, err := s.put(t, "screenshots__login failed.png", "image/png", png)
	if err != nil {
		t.Fatalf("uploading: %v", err)
	}
	if art.Size != int64(len(png)) || art.SHA256 != sha256Hex(png) || art.ContentType != "image/png" || art.UploadedBy != "runner-1" || art.LeaseID != id {
		t.Fatalf("uploaded %+v", art)
	}
	if _, err := s.put(t, "trace.zip", "", []byte("PK\x03\x04")); err != nil {
		t.Fatal(err)
	}
	page := []byte("<html><script>alert(document.cookie)</script></html>")
	if _, err := s.put(t, "evil.html", "text/html; charset=utf-8", page); err != nil {
		t.Fatal(err)
	}
	list, err := s.a.List(s.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range list {
		names = append(names, a.Name+"|"+a.ContentType)
	}
	if got := strings.Join(names, ","); got != "evil.html|text/html,screenshots__login failed.png|image/png,trace.zip|application/octet-stream" {
		t.Fatalf("listed %s", got)
	}
	got, b := s.read(t, id, "screenshots__login failed.png")
	if !bytes.Equal(b, png) || got.SHA256 != sha256Hex(png) || !got.UploadedAt.Equal(art.UploadedAt) {
		t.Fatalf("read back %d bytes, %+v", len(b), got)
	}
	// The blob itself never carries an active type either.
	if attrs, err := s.bucket.Attributes(s.ctx, s.keys(t, id+"/evil.html/")[0]); err != nil || attrs.ContentType != run.DefaultContentType ||
		!strings.HasPrefix(attrs.ContentDisposition, "attachment;") {
		t.Fatalf("the html artifact's blob: %+v, %v", attrs, err)
	}

	// Uploading a name again replaces it, and its old blob.
	v2 := []byte("second version")
	if _, err := s.put(t, "trace.zip", "application/zip", v2); err != nil {
		t.Fatal(err)
	}
	if got, b := s.read(t, id, "trace.zip"); string(b) != string(v2) || got.ContentType != "application/zip" || got.Size != int64(len(v2)) {
		t.Fatalf("after replacing: %q %+v", b, got)
	}
	if keys := s.keys(t, id+"/trace.zip/"); len(keys) != 1 {
		t.Fatalf("blobs of trace.zip after a replacement: %v, want one", keys)
	}
	uploads := s.auditOf(t, "artifact.upload", id)
	if len(uploads) != 4 || uploads[0].Details["name"] != "trace.zip" || uploads[0].Details["replaced"] != true || uploads[3].Details["replaced"] != false {
		t.Fatalf("upload events: %+v", uploads)
	}

	// Another lease's artifacts are its own.
	if list, err := s.a.List(s.ctx, s.lease2.Lease.ID); err != nil || len(list) != 0 {
		t.Fatalf("the other lease lists %v, %v", list, err)
	}
	_, _, err = s.a.Open(s.ctx, s.lease2.Lease.ID, "trace.zip")
	domaintest.WantCode(t, err, understudy.ENOTFOUND)

	// Delete removes row and blob, audited.
	if err := s.a.Delete(s.ctx, id, "trace.zip"); err != nil {
		t.Fatal(err)
	}
	if keys := s.keys(t, id+"/trace.zip/"); len(keys) != 0 {
		t.Fatalf("blobs left after a delete: %v", keys)
	}
	domaintest.WantCode(t, s.a.Delete(s.ctx, id, "trace.zip"), understudy.ENOTFOUND)
	if ev := s.auditOf(t, "artifact.delete", id); len(ev) != 1 || ev[0].Details["name"] != "trace.zip" || ev[0].Actor != "runner-1" {
		t.Fatalf("delete events: %+v", ev)
	}
	_, _, err = s.a.Open(s.ctx, id, "../trace.zip")
	domaintest.WantCode(t, err, understudy.EMALFORMED)
}

func TestArtifactsUpToTenMiBAreKeptAndLargerOnesLeaveNothing(t *testing.T) {
	t.Parallel()
	s := newArtifactSite(t, "", run.ArtifactConfig{})
	exact := bytes.Repeat([]byte("x"), run.MaxArtifactBytes)
	if art, err := s.put(t, "exact.bin", "", exact); err != nil || art.Size != run.MaxArtifactBytes {
		t.Fatalf("an artifact of exactly 10 MiB: %+v, %v", art, err)
	}
	_, err := s.put(t, "over.bin", "", append(exact, 'y'))
	if e := domaintest.WantCode(t, err, understudy.ETOOLARGE); !strings.Contains(e.Message, "10485760") {
		t.Fatalf("the refusal says %q", e.Message)
	}
	if keys := s.keys(t, s.lease1.Lease.ID+"/over.bin/"); len(keys) != 0 {
		t.Fatalf("a refused upload left %v", keys)
	}
	if list, _ := s.a.List(s.ctx, s.lease1.Lease.ID); len(list) != 1 {
		t.Fatalf("listed %d artifacts, want the one of 10 MiB", len(list))
	}
}

func TestArtifactBoundsPerLease(t *testing.T) {
	t.Parallel()
	s := newArtifactSite(t, "", run.ArtifactConfig{MaxFiles: 3, MaxTotalBytes: 100})
	for i := range 3 {
		if _, err := s.put(t, fmt.Sprintf("f%d", i), "", make([]byte, 20)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.put(t, "f3", "", []byte("x"))
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "already has 3 artifacts") {
		t.Fatalf("a fourth artifact: %q", e.Message)
	}
	// Replacing one of the three is still allowed, and counts its new size.
	if _, err := s.put(t, "f0", "", make([]byte, 60)); err != nil {
		t.Fatalf("replacing an artifact of a full lease: %v", err)
	}
	_, err = s.put(t, "f1", "", make([]byte, 41)) // f0 60 + f2 20 + 41 > 100
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "121 bytes") {
		t.Fatalf("over the total: %q", e.Message)
	}
	if keys := s.keys(t, s.lease1.Lease.ID+"/"); len(keys) != 3 {
		t.Fatalf("blobs of the lease: %v, want the three kept (refused uploads leave none)", keys)
	}
	// The other lease has its own room.
	if _, err := s.a.Put(s.ctx, run.Upload{LeaseID: s.lease2.Lease.ID, LeaseEnd: s.lease2.Lease.ExpiresAt, Name: "f3", Body: bytes.NewReader(make([]byte, 100))}); err != nil {
		t.Fatalf("the other lease: %v", err)
	}
}

func TestArtifactsAreAcceptedUntilAnHourAfterTheLeaseEnded(t *testing.T) {
	t.Parallel()
	s := newArtifactSite(t, "", run.ArtifactConfig{})
	ended := s.clock.Now()
	up := func(name string) error {
		_, err := s.a.Put(s.ctx, run.Upload{LeaseID: s.lease1.Lease.ID, LeaseEnd: ended, Name: name, Body: strings.NewReader("log")})
		return err
	}
	s.clock.Add(run.UploadWindow - time.Second)
	if err := up("late.log"); err != nil {
		t.Fatalf("an upload within the window after the lease ended: %v", err)
	}
	s.clock.Add(time.Second)
	e := domaintest.WantCode(t, up("too-late.log"), understudy.ECONFLICT)
	if !strings.Contains(e.Message, "accepted until 1h0m0s after it ends") {
		t.Fatalf("the refusal says %q", e.Message)
	}
	if keys := s.keys(t, s.lease1.Lease.ID+"/too-late.log/"); len(keys) != 0 {
		t.Fatalf("a refused upload left %v", keys)
	}
}

func TestAFailedRowWriteRemovesItsBlob(t *testing.T) {
	t.Parallel()
	s := newArtifactSite(t, "", run.ArtifactConfig{})
	const ghost = "00000000-0000-4000-8000-000000000001" // no such lease: the row's foreign key refuses it
	_, err := s.a.Put(s.ctx, run.Upload{LeaseID: ghost, LeaseEnd: s.clock.Now(), Name: "a.log", Body: strings.NewReader("x")})
	domaintest.WantCode(t, err, understudy.EINVALID)
	if keys := s.keys(t, ghost+"/"); len(keys) != 0 {
		t.Fatalf("the blob of an upload whose row failed is still there: %v", keys)
	}
}

func TestConcurrentUploadsOfOneNameHaveOneWinner(t *testing.T) {
	t.Parallel()
	s := newArtifactSite(t, "", run.ArtifactConfig{})
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			body := bytes.Repeat([]byte{byte('a' + i)}, 64<<10+i)
			_, errs[i] = s.put(t, "race.bin", "", body)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
	}
	list, err := s.a.List(s.ctx, s.lease1.Lease.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("listed %v, %v; want one artifact", list, err)
	}
	art, b := s.read(t, s.lease1.Lease.ID, "race.bin")
	if sha256Hex(b) != art.SHA256 || int64(len(b)) != art.Size {
		t.Fatalf("the winner's row (%d bytes, %s) and blob (%d bytes, %s) disagree", art.Size, art.SHA256, len(b), sha256Hex(b))
	}
	if keys := s.keys(t, s.lease1.Lease.ID+"/"); len(keys) != 1 {
		t.Fatalf("blobs after the race: %v, want only the winner's", keys)
	}
	if ev := s.auditOf(t, "artifact.upload", s.lease1.Lease.ID); len(ev) != n {
		t.Fatalf("%d upload events, want %d", len(ev), n)
	}
}

func TestTheRetentionDeletesRowsAndBlobs(t *testing.T) {
	t.Parallel()
	s := newArtifactSite(t, "", run.ArtifactConfig{Retention: 48 * time.Hour})
	old, kept := s.lease1.Lease.ID, s.lease2.Lease.ID
	for _, name := range []string{"a.png", "b.zip"} {
		if _, err := s.put(t, name, "", []byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	// A blob no row names (its server stopped between blob and row).
	if err := s.bucket.WriteAll(s.ctx, old+"/orphan.log/00000000-0000-4000-8000-00000000000f", []byte("orphan"), nil); err != nil {
		t.Fatal(err)
	}
	s.clock.Add(47 * time.Hour)
	if _, err := s.a.Put(s.ctx, run.Upload{LeaseID: kept, LeaseEnd: s.clock.Now(), Name: "c.log", Body: strings.NewReader("c")}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.a.PruneArtifacts(s.ctx); err != nil || n != 0 {
		t.Fatalf("pruned %d before the retention passed, %v", n, err)
	}
	s.clock.Add(2 * time.Hour)
	n, err := s.a.PruneArtifacts(s.ctx)
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want the two artifacts past 48h", n, err)
	}
	if list, _ := s.a.List(s.ctx, old); len(list) != 0 {
		t.Fatalf("the old lease still lists %v", list)
	}
	if keys := s.keys(t, old+"/"); len(keys) != 0 {
		t.Fatalf("blobs left under the pruned lease: %v", keys)
	}
	if list, _ := s.a.List(s.ctx, kept); len(list) != 1 || len(s.keys(t, kept+"/")) != 1 {
		t.Fatalf("the newer artifact was not kept: %v", list)
	}
	ev := s.auditOf(t, "artifact.prune", old)
	if len(ev) != 1 || fmt.Sprint(ev[0].Details["names"]) != "[a.png b.zip]" || ev[0].Details["retention_seconds"] != float64(48*3600) {
		t.Fatalf("prune events: %+v", ev)
	}
	if _, _, err := s.a.Open(s.ctx, old, "a.png"); err == nil {
		t.Fatal("a pruned artifact can still be read")
	}
}
