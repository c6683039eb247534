package access

import (
	"testing"
	"time"
)

func TestTokenCacheExpiresAndClears(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	c := newTokenCache(5*time.Second, func() time.Time { return now })
	c.put([]byte("h"), Token{Name: "ci"})
	if got, ok := c.get([]byte("h")); !ok || got.Name != "ci" {
		t.Fatalf("fresh entry: %v %v", got, ok)
	}
	now = now.Add(6 * time.Second)
	if _, ok := c.get([]byte("h")); ok {
		t.Fatal("an expired entry was served")
	}
	c.put([]byte("h"), Token{Name: "ci"})
	c.clear()
	if _, ok := c.get([]byte("h")); ok {
		t.Fatal("a cleared entry was served")
	}
	var none *tokenCache
	none.put([]byte("h"), Token{})
	if _, ok := none.get([]byte("h")); ok || newTokenCache(0, time.Now) != nil {
		t.Fatal("a disabled cache caches")
	}
}
