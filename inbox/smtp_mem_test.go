package inbox

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// countingReceiver wraps memReceiver (raw bodies dropped) and records how
// many deliveries ran at once.
type countingReceiver struct {
	*memReceiver
	now, peak atomic.Int64
}

func (c *countingReceiver) Receive(ctx context.Context, d Delivery) ([]string, error) {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	time.Sleep(5 * time.Millisecond) // a database write takes a while
	return c.memReceiver.Receive(ctx, d)
}

// sendLarge sends clients concurrent messages of size bytes each and
// returns the peak heap seen meanwhile, above the heap before.
func sendLarge(tb testing.TB, clients, slots int, size int, announce bool) (peakMiB float64, r *countingReceiver) {
	r = &countingReceiver{memReceiver: newMemReceiver("buyer-1@qa.example.test")}
	r.keepRaw = false
	r.received = make(chan struct{}, clients)
	_, addr := startSMTP(tb, SMTPConfig{MaxConcurrentMessages: slots, ReadTimeout: 2 * time.Minute}, r)
	head := rfc822Message("a@b.test", "buyer-1@qa.example.test", "large", "")
	line := strings.Repeat("x", 998) + "\r\n"
	body := []byte(head + strings.Repeat(line, (size-len(head))/len(line)))

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			errs <- sendOne(addr, body, announce)
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(errs)
	for err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	if _, ds := r.snapshot(); len(ds) != clients {
		tb.Fatalf("delivered %d of %d", len(ds), clients)
	}
	return float64(int64(peak.Load())-int64(base)) / (1 << 20), r
}

// sendOne sends body to buyer-1 on a connection of its own, announcing its
// size with MAIL SIZE= when announce is set.
func sendOne(addr string, body []byte, announce bool) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	var opts *smtp.MailOptions
	if announce {
		opts = &smtp.MailOptions{Size: int64(len(body))}
	}
	if err := c.Mail("a@b.test", opts); err != nil {
		return err
	}
	if err := c.Rcpt("buyer-1@qa.example.test", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil { // not a string: that would be copied
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Concurrent 10 MiB messages are read at most MaxConcurrentMessages at a
// time, so the heap stays near that many message buffers whatever the
// number of senders.
func TestSMTPMemoryBoundedUnderConcurrentLargeMessages(t *testing.T) {
	if testing.Short() || raceEnabled {
		// The race detector slows the byte-wise reading of 80 MiB to
		// minutes, and its own allocations blur the heap measured.
		t.Skip("sends 80 MiB; not with -short or -race")
	}
	const clients, slots, size = 8, 2, 10<<20 - 4096
	for _, announce := range []bool{true, false} {
		peak, r := sendLarge(t, clients, slots, size, announce)
		t.Logf("%d concurrent %.0f MiB messages, %d slots, SIZE announced %v: peak heap +%.1f MiB", clients, float64(size)/(1<<20), slots, announce, peak)
		if got := r.peak.Load(); got > slots {
			t.Fatalf("%d deliveries at once, want at most %d", got, slots)
		}
		// Each slot holds at most one buffer of MaxBytes+1 and, while it
		// grows, the half-size one before it; the rest is the garbage not
		// yet collected, and slack.
		if limit := float64(slots)*10*3 + 32; peak > limit {
			t.Fatalf("peak heap +%.1f MiB, want under %.0f MiB", peak, limit)
		}
	}
}

// BenchmarkSMTPLargeMessages reports the peak heap of 8 concurrent 10 MiB
// messages through 2 slots.
func BenchmarkSMTPLargeMessages(b *testing.B) {
	var peak float64
	for b.Loop() {
		p, _ := sendLarge(b, 8, 2, 10<<20-4096, false)
		peak = max(peak, p)
	}
	b.ReportMetric(peak, "peak-heap-MiB")
}
