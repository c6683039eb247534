package run

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// The pooled gzip writers are shared by the captures that run at once:
// each compressed state is its own (no slice aliases a writer's buffer),
// and inflates to what was compressed, however the writers are reused.
func TestGzippedStatesDoNotShareTheirPooledWritersBuffers(t *testing.T) {
	const workers, each = 8, 50
	type kept struct {
		in []byte
		gz []byte
	}
	out := make([][]kept, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				in := bytes.Repeat([]byte(fmt.Sprintf(`{"worker":%d,"i":%d}`, w, i)), 1+(w*each+i)%300)
				out[w] = append(out[w], kept{in, gzipped(in)})
			}
		}()
	}
	wg.Wait()
	for w := range out {
		for _, k := range out[w] {
			got, err := gunzipped(keptState{gz: k.gz, size: int64(len(k.in))})
			if err != nil || !bytes.Equal(got, k.in) {
				t.Fatalf("a kept state inflates to %d bytes (%v), want the %d compressed", len(got), err, len(k.in))
			}
		}
	}
}
