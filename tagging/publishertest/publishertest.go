// Package publishertest is the conformance suite every analytics
// publisher passes against the fake of its vendor: what a passing run
// proves is that the publisher acknowledges exactly what the vendor
// accepted, splits within the vendor's limits, waits when told to, reports
// refused credentials and outages as the contract says, and never sends an
// accepted identity twice.
package publishertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/tagging"
)

// Fake is what the suite needs of a vendor's fake.
type Fake interface {
	// Marked returns the distinct ids whose is_synthetic tag the vendor
	// now holds as true, sorted.
	Marked() []string
	// Listed returns the members of the vendor-side list, sorted (nil for
	// a vendor without lists).
	Listed() []string
	// Requests is how many requests the fake has answered.
	Requests() int
	// Throttle makes the next n requests answer 429, with Retry-After
	// (whole seconds) when retryAfter > 0.
	Throttle(n int, retryAfter time.Duration)
	// SetDown makes every request answer 503 while down.
	SetDown(down bool)
}

// Harness builds a publisher against a fresh fake.
type Harness struct {
	// New returns a publisher with valid credentials (or, with
	// badCredentials, credentials the fake refuses) and its fake. The
	// publisher's Sender must take its sleeps from Sleep below, so the
	// suite runs in no time and sees the waits.
	New func(t *testing.T, badCredentials bool, sleep func(context.Context, time.Duration) error) (tagging.Publisher, Fake)
	// MaxBatch is the vendor's documented limit of identities per request
	// for marking (and listing): the suite checks the publisher splits at it.
	MaxBatch int
}

// sleeper records the waits asked for, and waits for none.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

// Identities returns n identities with distinct ids synthetic-<i>@qa.example.test.
func Identities(n int) []tagging.SyntheticUser {
	out := make([]tagging.SyntheticUser, n)
	for i := range out {
		email := fmt.Sprintf("synthetic-%06d@qa.example.test", i)
		out[i] = tagging.SyntheticUser{DistinctID: email, AccountID: fmt.Sprintf("acct-%06d", i), Email: email,
			Tags: map[string]string{tagging.TagSynthetic: "true", tagging.TagRole: "buyer", tagging.TagEnvironment: "production",
				tagging.TagAccountID: fmt.Sprintf("acct-%06d", i)}}
	}
	return out
}

func ids(list []tagging.SyntheticUser) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = x.DistinctID
	}
	slices.Sort(out)
	return out
}

// recorder is an Ack that records what was acknowledged and fails when an
// identity is acknowledged twice.
type recorder struct {
	mu    sync.Mutex
	seen  map[string]int
	calls int
	max   int
}

func (r *recorder) ack(_ context.Context, done []tagging.SyntheticUser) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]int{}
	}
	r.calls++
	r.max = max(r.max, len(done))
	for _, x := range done {
		r.seen[x.DistinctID]++
	}
	return nil
}

func (r *recorder) acked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.seen))
	for id, n := range r.seen {
		if n == 1 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (r *recorder) twice() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id, n := range r.seen {
		if n > 1 {
			out = append(out, id)
		}
	}
	return out
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("Test", func(t *testing.T) {
		p, _ := h.New(t, false, (&sleeper{}).sleep)
		c, err := p.Test(t.Context())
		if err != nil || !c.OK || c.Detail == "" {
			t.Fatalf("Test with good credentials: %+v %v", c, err)
		}
		bad, _ := h.New(t, true, (&sleeper{}).sleep)
		if _, err := bad.Test(t.Context()); !errors.Is(err, tagging.ErrCredentials) {
			t.Fatalf("Test with bad credentials: %v, want ErrCredentials", err)
		}
	})
	t.Run("Capabilities", func(t *testing.T) {
		p, _ := h.New(t, false, (&sleeper{}).sleep)
		caps := p.Capabilities()
		if len(caps) == 0 {
			t.Fatal("a publisher that does nothing")
		}
		for _, c := range caps {
			var ok bool
			switch c {
			case tagging.CapMark:
				_, ok = p.(tagging.Marker)
			case tagging.CapList:
				_, ok = p.(tagging.Lister)
			case tagging.CapFilter:
				_, ok = p.(tagging.Filterer)
			case tagging.CapVerify:
				_, ok = p.(tagging.Verifier)
			}
			if !ok {
				t.Errorf("capability %s is claimed but its interface is not implemented", c)
			}
		}
	})
	if _, ok := mustNew(t, h).(tagging.Marker); ok {
		t.Run("Mark", func(t *testing.T) { runMark(t, h) })
	}
	if _, ok := mustNew(t, h).(tagging.Lister); ok {
		t.Run("List", func(t *testing.T) { runList(t, h) })
	}
}

func mustNew(t *testing.T, h Harness) tagging.Publisher {
	p, _ := h.New(t, false, (&sleeper{}).sleep)
	return p
}

func runMark(t *testing.T, h Harness) {
	t.Run("nothing to send makes no request", func(t *testing.T) {
		p, fake := h.New(t, false, (&sleeper{}).sleep)
		var r recorder
		if err := p.(tagging.Marker).Mark(t.Context(), nil, r.ack); err != nil {
			t.Fatal(err)
		}
		if fake.Requests() != 0 || r.calls != 0 {
			t.Fatalf("%d requests, %d acks for nothing", fake.Requests(), r.calls)
		}
	})
	t.Run("every identity marked and acknowledged once, in batches within the limit", func(t *testing.T) {
		p, fake := h.New(t, false, (&sleeper{}).sleep)
		list := Identities(2*h.MaxBatch + 3)
		var r recorder
		if err := p.(tagging.Marker).Mark(t.Context(), list, r.ack); err != nil {
			t.Fatal(err)
		}
		if got, want := fake.Marked(), ids(list); !slices.Equal(got, want) {
			t.Fatalf("the vendor holds %d marked, want %d", len(got), len(want))
		}
		if got := r.acked(); !slices.Equal(got, ids(list)) || len(r.twice()) > 0 {
			t.Fatalf("acknowledged %d once (%d twice), want %d", len(got), len(r.twice()), len(list))
		}
		if r.max > h.MaxBatch {
			t.Fatalf("a batch of %d; the vendor's limit is %d", r.max, h.MaxBatch)
		}
		if fake.Requests() < 3 {
			t.Fatalf("%d requests for %d identities at %d a batch", fake.Requests(), len(list), h.MaxBatch)
		}
	})
	t.Run("429 is waited out as told", func(t *testing.T) {
		s := &sleeper{}
		p, fake := h.New(t, false, s.sleep)
		fake.Throttle(2, 7*time.Second)
		var r recorder
		if err := p.(tagging.Marker).Mark(t.Context(), Identities(3), r.ack); err != nil {
			t.Fatalf("after two 429s: %v", err)
		}
		if len(s.waits) < 2 || s.waits[0] != 7*time.Second {
			t.Fatalf("waits %v, want 7s as Retry-After said", s.waits)
		}
		if len(fake.Marked()) != 3 {
			t.Fatalf("marked %d after the 429s, want 3", len(fake.Marked()))
		}
	})
	t.Run("429 without Retry-After backs off", func(t *testing.T) {
		s := &sleeper{}
		p, fake := h.New(t, false, s.sleep)
		fake.Throttle(1, 0)
		var r recorder
		if err := p.(tagging.Marker).Mark(t.Context(), Identities(2), r.ack); err != nil {
			t.Fatal(err)
		}
		if len(s.waits) != 1 || s.waits[0] <= 0 {
			t.Fatalf("waits %v, want one positive backoff", s.waits)
		}
	})
	t.Run("bad credentials: nothing acknowledged", func(t *testing.T) {
		p, fake := h.New(t, true, (&sleeper{}).sleep)
		var r recorder
		err := p.(tagging.Marker).Mark(t.Context(), Identities(3), r.ack)
		if !errors.Is(err, tagging.ErrCredentials) {
			t.Fatalf("error %v, want ErrCredentials", err)
		}
		if r.calls != 0 || len(fake.Marked()) != 0 {
			t.Fatalf("%d acks, %d marked with bad credentials", r.calls, len(fake.Marked()))
		}
	})
	t.Run("vendor down: unavailable, then the rest once", func(t *testing.T) {
		p, fake := h.New(t, false, (&sleeper{}).sleep)
		list := Identities(h.MaxBatch + 1)
		fake.SetDown(true)
		var r recorder
		if err := p.(tagging.Marker).Mark(t.Context(), list, r.ack); !errors.Is(err, tagging.ErrUnavailable) {
			t.Fatalf("error %v, want ErrUnavailable", err)
		}
		if r.calls != 0 {
			t.Fatalf("%d acks while the vendor was down", r.calls)
		}
		fake.SetDown(false)
		if err := p.(tagging.Marker).Mark(t.Context(), list, r.ack); err != nil {
			t.Fatal(err)
		}
		if len(r.twice()) > 0 || len(r.acked()) != len(list) {
			t.Fatalf("after recovery: %d acked once, %d twice", len(r.acked()), len(r.twice()))
		}
	})
	t.Run("unmark clears the tag", func(t *testing.T) {
		p, fake := h.New(t, false, (&sleeper{}).sleep)
		list := Identities(4)
		m := p.(tagging.Marker)
		var r recorder
		if err := m.Mark(t.Context(), list, r.ack); err != nil {
			t.Fatal(err)
		}
		if err := m.Unmark(t.Context(), list[:2], r.ack); err != nil {
			t.Fatal(err)
		}
		if got, want := fake.Marked(), ids(list[2:]); !slices.Equal(got, want) {
			t.Fatalf("marked after unmark: %v, want %v", got, want)
		}
	})
}

func runList(t *testing.T, h Harness) {
	p, fake := h.New(t, false, (&sleeper{}).sleep)
	l := p.(tagging.Lister)
	list := Identities(h.MaxBatch + 2)
	var r recorder
	if err := l.AddToList(t.Context(), list, r.ack); err != nil {
		t.Fatal(err)
	}
	if got := fake.Listed(); !slices.Equal(got, ids(list)) {
		t.Fatalf("listed %d, want %d", len(got), len(list))
	}
	if err := l.RemoveFromList(t.Context(), list[:1], r.ack); err != nil {
		t.Fatal(err)
	}
	if got := fake.Listed(); !slices.Equal(got, ids(list[1:])) {
		t.Fatalf("listed after removal: %d, want %d", len(got), len(list)-1)
	}
}
