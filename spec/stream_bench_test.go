package spec_test

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/spec"
)

// streamChanges is the size of the plans the stream benchmarks write.
const streamChanges = 10_000

// bigPlan is a plan of n changes to roles: creates, and updates of
// pool_size, each with its attributes before and after.
func bigPlan(n int) spec.Plan {
	changes := make([]spec.Change, n)
	for i := range changes {
		address, id := fmt.Sprintf("role.r%05d", i), fmt.Sprintf("production/r%05d", i)
		after := buyer(3)
		after["name"] = fmt.Sprintf("r%05d", i)
		if i%2 == 0 {
			changes[i] = change(spec.Create, address, id, nil, after)
			continue
		}
		before := buyer(2)
		before["name"] = after["name"]
		changes[i] = change(spec.Update, address, id, before, after, spec.AttributeChange{Name: "pool_size", Before: 2, After: 3})
	}
	return newPlan(spec.ModeNormal, changes...)
}

// peakWriter counts what is written and samples the heap in use at each
// write: the most the heap held above base while the document was being
// written.
type peakWriter struct {
	n, base, peak uint64
}

func (w *peakWriter) Write(p []byte) (int, error) {
	w.n += uint64(len(p))
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapAlloc > w.base {
		w.peak = max(w.peak, m.HeapAlloc-w.base)
	}
	return len(p), nil
}

// measureStream reports, for write of a plan of streamChanges changes:
// the bytes written (out-bytes), the bytes allocated per byte written
// (alloc/out), and the most the heap grew above what it held before,
// sampled at each write, per byte written (peak/out). A writer that
// builds the whole document before writing it has a peak/out of 1 or
// more; one that also copies it, 2 or more. The garbage collector runs
// often meanwhile (GOGC=5), so that the heap holds little garbage and
// its peak is close to what is live.
func measureStream(b *testing.B, write func(w io.Writer, p spec.Plan) error) {
	p := bigPlan(streamChanges)
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	var out, peak uint64
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w := &peakWriter{base: m.HeapAlloc}
		b.StartTimer()
		if err := write(w, p); err != nil {
			b.Fatal(err)
		}
		out, peak = w.n, max(peak, w.peak)
	}
	runtime.ReadMemStats(&after)
	allocated := float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N)
	b.ReportMetric(float64(out), "out-bytes")
	b.ReportMetric(allocated/float64(out), "alloc/out")
	b.ReportMetric(float64(peak)/float64(out), "peak/out")
}

// show -json of a plan of 10,000 changes, streamed.
func BenchmarkWriteTerraformJSON(b *testing.B) {
	measureStream(b, spec.WriteTerraformJSON)
}

// The same document made whole first (TerraformJSON), then written: the
// reference a streamed document is compared with.
func BenchmarkTerraformJSONWhole(b *testing.B) {
	measureStream(b, func(w io.Writer, p spec.Plan) error {
		doc, err := spec.TerraformJSON(p)
		if err == nil {
			_, err = w.Write(doc)
		}
		return err
	})
}

// plan -json of a plan of 10,000 changes: the machine-readable UI stream.
func BenchmarkUIStreamPlan(b *testing.B) {
	now := func() time.Time { return planTime }
	measureStream(b, func(w io.Writer, p spec.Plan) error {
		s := spec.NewUIStream(w, now)
		if err := s.Version("bench"); err != nil {
			return err
		}
		return s.Plan(p)
	})
}
