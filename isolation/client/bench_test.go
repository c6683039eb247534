package client

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
)

const benchIdentifiers = 100_000

// BenchmarkVisible checks subjects spread over a list of 100,000
// identifiers, as a feed would: synthetic subjects and real ones, a real
// viewer and a synthetic one.
func BenchmarkVisible(b *testing.B) {
	f := newFakeServer(b)
	f.setList(b, bigList("1-1", benchIdentifiers))
	c, err := New(Config{BaseURL: f.URL, Token: testToken, Environment: testEnv})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	if got := c.Stats().Identifiers; got != benchIdentifiers {
		b.Fatalf("%d identifiers loaded", got)
	}
	subjects := make([]string, 4096)
	for i := range subjects {
		if i%2 == 0 {
			subjects[i] = fmt.Sprintf("user_%d", (i*7919)%(benchIdentifiers/4))
		} else {
			subjects[i] = fmt.Sprintf("real-%d", i)
		}
	}
	for _, viewer := range []string{"real-viewer", "chirp:17"} {
		b.Run("viewer="+viewer, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_ = c.Visible(viewer, "social_feed", subjects[i&4095])
				i++
			}
		})
	}
}

// BenchmarkRefresh fetches, verifies, compiles and swaps in a list of
// 100,000 identifiers from the fake server.
func BenchmarkRefresh(b *testing.B) {
	f := newFakeServer(b)
	f.setList(b, bigList("1-1", benchIdentifiers))
	k := newSigner(1)
	c, err := New(Config{BaseURL: f.URL, Token: testToken, Environment: testEnv, PublicKeys: map[string]ed25519.PublicKey{k.id: k.pub}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.SetBytes(int64(len(f.body)))
	b.ReportAllocs()
	for b.Loop() {
		c.snap.Store(nil) // no ETag to send: a full 200 each time
		if err := c.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
