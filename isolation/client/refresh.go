package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Stats is a point-in-time view of the client, for metrics and health
// checks (see the package documentation for a Prometheus example).
type Stats struct {
	// ListVersion is the version of the list in use; empty before the first.
	ListVersion string
	// Identities is the number of identities on the list in use.
	Identities int
	// Identifiers is the number of identifiers on the list in use.
	Identifiers int
	// LastRefresh is when the server last answered with a list that was
	// accepted, or with 304; zero before that.
	LastRefresh time.Time
	// LastError is the error of the last refresh that failed or was
	// rejected; empty when none has.
	LastError string
	// LastErrorAt is when LastError happened.
	LastErrorAt time.Time
	// Degraded is Degraded().
	Degraded bool
	// Refreshes counts refresh attempts.
	Refreshes uint64
	// NotModified counts refreshes answered 304 (the list was kept).
	NotModified uint64
	// Rejected counts lists that arrived but were not accepted: a missing
	// or bad signature, an unknown or retired key, a body that does not
	// parse, a list of another environment, or a list older than the one
	// held.
	Rejected uint64
	// Failures counts refreshes that got no list: the server unreachable
	// or answering an error.
	Failures uint64
}

// Stats returns the client's current figures.
func (c *Client) Stats() Stats {
	c.statsMu.Lock()
	st := c.stats
	c.statsMu.Unlock()
	if s := c.snap.Load(); s != nil {
		st.ListVersion = s.version
		st.Identities = s.identities
		st.Identifiers = s.identifiers
	}
	st.Degraded = c.Degraded()
	return st
}

// Refresh fetches the list now, outside the schedule. It returns why the
// list could not be fetched or was rejected; the list in use is then kept
// and the client reports degraded.
func (c *Client) Refresh(ctx context.Context) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	notModified, err := c.refresh(ctx)
	if err != nil && ctx.Err() != nil {
		return err // stopping (Close), not a failure of the server
	}
	c.record(ctx, notModified, err)
	return err
}

func (c *Client) refresh(ctx context.Context) (notModified bool, err error) {
	cur := c.snap.Load()
	etag := ""
	if cur != nil {
		etag = cur.etag
	}
	f, err := c.fetchList(ctx, etag)
	if err != nil {
		return false, err
	}
	if f.notModified {
		if cur == nil {
			return false, fmt.Errorf("%w: 304 Not Modified with no list held", errRejected)
		}
		return true, nil
	}
	s, err := c.accept(ctx, f)
	if err == nil && cur != nil {
		err = newerThan(s, cur)
	}
	if err != nil {
		return false, fmt.Errorf("%w: %w", errRejected, err)
	}
	c.snap.Store(s)
	return false, nil
}

// accept verifies the body against its signature, and only then parses it.
// Unless the keys are pinned, it first reads the server's key set, so a
// key retired since the last list is known to be retired.
func (c *Client) accept(ctx context.Context, f fetched) (*snapshot, error) {
	sig, err := parseSignature(f.signature)
	if err != nil {
		return nil, err
	}
	var keysErr error
	if len(c.cfg.PublicKeys) == 0 {
		keysErr = c.updateKeys(ctx)
	}
	if c.retired[sig.keyID] {
		return nil, fmt.Errorf("key id %q: %w: the last key set no longer trusts it", sig.keyID, errRetiredKey)
	}
	if err := verify(c.keys, sig, f.body); err != nil {
		if keysErr != nil {
			return nil, fmt.Errorf("%w (fetching keys: %w)", err, keysErr)
		}
		return nil, err
	}
	s, err := parseList(f.body, c.cfg.Environment)
	if err != nil {
		return nil, err
	}
	s.etag = f.etag
	if s.etag == "" {
		s.etag = strconv.Quote(s.version)
	}
	return s, nil
}

// updateKeys replaces the trusted keys with the server's key set. A key the
// set marks retired, or a key the client trusted that the set no longer
// holds, is retired for good. When the set cannot be read, the last one
// stays in use and the error is returned.
func (c *Client) updateKeys(ctx context.Context) error {
	keys, retired, err := c.fetchKeys(ctx)
	if err != nil {
		return err
	}
	for id := range c.keys {
		if _, ok := keys[id]; !ok {
			c.retired[id] = true
		}
	}
	for _, id := range retired {
		c.retired[id] = true
	}
	for id := range c.retired {
		delete(keys, id)
	}
	c.keys = keys
	return nil
}

// errRollback marks a list older than the one the client holds.
var errRollback = errors.New("list is older than the list held")

// newerThan refuses a list s older than the list cur the client holds: one
// issued earlier, or issued in the same second from an earlier version of
// the exclusion list. Accepting it would silently roll policy back.
func newerThan(s, cur *snapshot) error {
	older := s.issuedAt.Before(cur.issuedAt) ||
		s.issuedAt.Equal(cur.issuedAt) && s.seq >= 0 && cur.seq >= 0 && s.seq < cur.seq
	if older {
		return fmt.Errorf("%w: version %s issued at %s, held %s issued at %s", errRollback,
			s.version, s.issuedAt.Format(time.RFC3339), cur.version, cur.issuedAt.Format(time.RFC3339))
	}
	return nil
}

// record counts a refresh, logs a failure and reports a change of the
// degraded state.
func (c *Client) record(ctx context.Context, notModified bool, err error) {
	now := c.now()
	c.statsMu.Lock()
	c.stats.Refreshes++
	switch {
	case err == nil:
		c.stats.LastRefresh = now
		if notModified {
			c.stats.NotModified++
		}
	case errors.Is(err, errRejected):
		c.stats.Rejected++
	default:
		c.stats.Failures++
	}
	if err != nil {
		c.stats.LastError = err.Error()
		c.stats.LastErrorAt = now
	}
	c.statsMu.Unlock()

	if err != nil {
		held := ""
		if s := c.snap.Load(); s != nil {
			held = s.version
		}
		c.cfg.Logger.WarnContext(ctx, "isolation client: refresh failed; keeping the last good list",
			slog.String("environment", c.cfg.Environment), slog.String("list_version", held), slog.Any("error", err))
	}
	degraded := err != nil
	if c.degraded.Swap(degraded) != degraded && c.cfg.OnDegraded != nil {
		c.cfg.OnDegraded(degraded)
	}
}
