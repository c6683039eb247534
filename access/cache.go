package access

import (
	"sync"
	"time"
)

// tokenCache remembers authenticated tokens by hash for a short time. A nil
// *tokenCache caches nothing.
type tokenCache struct {
	ttl     time.Duration
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]cachedToken
}

type cachedToken struct {
	token   Token
	expires time.Time
}

// maxCachedTokens bounds the cache; past it, expired entries are dropped
// and, if that is not enough, everything is.
const maxCachedTokens = 10_000

func newTokenCache(ttl time.Duration, now func() time.Time) *tokenCache {
	if ttl <= 0 {
		return nil
	}
	return &tokenCache{ttl: ttl, now: now, entries: map[string]cachedToken{}}
}

func (c *tokenCache) get(hash []byte) (Token, bool) {
	if c == nil {
		return Token{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[string(hash)]
	if !ok || c.now().After(e.expires) {
		return Token{}, false
	}
	return e.token, true
}

func (c *tokenCache) put(hash []byte, t Token) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= maxCachedTokens {
		for k, e := range c.entries {
			if now.After(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCachedTokens {
			clear(c.entries)
		}
	}
	c.entries[string(hash)] = cachedToken{token: t, expires: now.Add(c.ttl)}
}

func (c *tokenCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}
