package inbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Waiting. Receive notifies Channel with each account id when its
// transaction commits; one listener per Service (Listen, on a connection
// of its own) fans each notification out to the waiters of that account,
// which then read the inbox again. A waiter registers before its first
// read, so a message committed between the two still wakes it. When the
// listener's connection is lost, its waiters end with EUNAVAILABLE at
// once: a notification may have been missed, and the client retries.

// ListenerName is the application_name of the listener's connection.
const ListenerName = "understudy-inbox-listener"

// MaxWait is the longest Wait. A door that serves Wait must give its
// request that long, beyond its usual deadline.
const MaxWait = 60 * time.Second

// Listener timing.
const (
	// defaultHeartbeat is how long the listener waits in silence before it
	// checks that its connection still answers.
	defaultHeartbeat = 30 * time.Second
	// pingTimeout bounds that check.
	pingTimeout = 5 * time.Second
	// minBackoff and maxBackoff bound the pause before a reconnection; a
	// connection that stayed up for steadyAfter resets it.
	minBackoff  = 100 * time.Millisecond
	maxBackoff  = 10 * time.Second
	steadyAfter = 10 * time.Second
)

// Wait returns the messages matching f (as List does) at once if there
// are any; otherwise it waits until a matching message arrives, through
// this server or any other on the database, or until wait passes (then
// it returns an empty list). Errors: EINVALID (the filter, wait beyond
// MaxWait), EUNAVAILABLE (the listener is not connected, or its
// connection was lost or stopped during the wait: retry; or ctx's
// deadline passed first), and context.Canceled when ctx is canceled.
func (s *Service) Wait(ctx context.Context, f Filter, wait time.Duration) ([]Message, error) {
	if wait < 0 || wait > MaxWait {
		return nil, understudy.Invalid("invalid wait", understudy.FieldError{Field: "wait",
			Detail: fmt.Sprintf("must be 0 to %s; got %s", MaxWait, wait)})
	}
	q, err := s.prepare(ctx, f)
	if err != nil {
		return nil, err
	}
	if wait == 0 {
		return s.list(ctx, q)
	}
	w, regErr := s.hub.register(f.AccountID)
	defer s.hub.unregister(w)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		list, err := s.list(ctx, q)
		if err != nil || len(list) > 0 {
			return list, err
		}
		if regErr != nil {
			return nil, regErr
		}
		select {
		case <-w.wake:
		case <-w.lost:
			return nil, lostError()
		case <-timer.C:
			return []Message{}, nil
		case <-ctx.Done():
			return nil, pgdb.Translate(ctx.Err(), "", "")
		}
	}
}

func lostError() error {
	e := understudy.Errorf(understudy.EUNAVAILABLE, "the inbox's notification connection was lost; retry the wait")
	e.RetryAfter = time.Second
	return e
}

// Listening reports whether the listener is connected: whether Wait can
// wait.
func (s *Service) Listening() bool {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.hub.live
}

// Listen holds the connection on which this Service hears of new
// messages, and wakes the waiters, until ctx ends. A lost connection ends
// the current waits (EUNAVAILABLE) and is made again, after a pause that
// doubles up to 10s. It returns nil when ctx ends, and an error at once
// when it cannot run: no way to connect (Config.Connect), or another
// Listen of this Service running.
func (s *Service) Listen(ctx context.Context) error {
	if s.cfg.Connect == nil {
		if _, ok := s.db.(*pgxpool.Pool); !ok {
			return errors.New("inbox: Listen needs Config.Connect, or a *pgxpool.Pool as Config.DB")
		}
	}
	if !s.listening.CompareAndSwap(false, true) {
		return errors.New("inbox: Listen is already running on this Service")
	}
	defer s.listening.Store(false)
	backoff := minBackoff
	for {
		up, err := s.listenOnce(ctx)
		s.hub.drop()
		if ctx.Err() != nil {
			return nil
		}
		if up >= steadyAfter {
			backoff = minBackoff
		}
		s.cfg.Logger.WarnContext(ctx, "the inbox's notification connection was lost; waits end, and it reconnects",
			"error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// listenOnce connects, listens and fans notifications out until the
// connection fails or ctx ends; up is how long it listened.
func (s *Service) listenOnce(ctx context.Context) (up time.Duration, err error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return 0, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	// The name tells the listener apart in pg_stat_activity.
	if _, err := conn.Exec(ctx, "SET application_name = '"+ListenerName+"'"); err != nil {
		return 0, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return 0, err
	}
	start := time.Now()
	s.hub.up()
	for {
		n, err := s.next(ctx, conn)
		if err != nil {
			return time.Since(start), err
		}
		if n != nil {
			s.hub.notify(n.Payload)
		}
	}
}

// next waits for the next notification; after s.heartbeat of silence it
// checks the connection and returns none.
func (s *Service) next(ctx context.Context, conn *pgx.Conn) (*pgconn.Notification, error) {
	wctx, cancel := context.WithTimeout(ctx, s.heartbeat)
	n, err := conn.WaitForNotification(wctx)
	cancel()
	if err == nil || ctx.Err() != nil || wctx.Err() == nil {
		return n, err
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	return nil, conn.Ping(pctx)
}

// connect opens the listener's connection: Config.Connect's, or one taken
// out of the pool for good.
func (s *Service) connect(ctx context.Context) (*pgx.Conn, error) {
	if s.cfg.Connect != nil {
		return s.cfg.Connect(ctx)
	}
	c, err := s.db.(*pgxpool.Pool).Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return c.Hijack(), nil
}

// hub fans notifications out to the waiters, by account id; the waiters
// of "" hear every account.
type hub struct {
	mu      sync.Mutex
	live    bool
	waiters map[string]map[*waiter]struct{}
}

// waiter is one Wait: wake is signalled (without blocking) by each
// notification of its account, lost is closed when the listener's
// connection is lost.
type waiter struct {
	account string
	wake    chan struct{}
	lost    chan struct{}
}

func newHub() *hub { return &hub{waiters: map[string]map[*waiter]struct{}{}} }

// register adds a waiter for account. While the listener is not
// connected it returns a waiter that is never woken, and EUNAVAILABLE.
func (h *hub) register(account string) (*waiter, error) {
	w := &waiter{account: account, wake: make(chan struct{}, 1), lost: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.live {
		e := understudy.Errorf(understudy.EUNAVAILABLE, "the inbox is not listening for new mail (its notification connection is down); retry the wait")
		e.RetryAfter = time.Second
		return w, e
	}
	if h.waiters[account] == nil {
		h.waiters[account] = map[*waiter]struct{}{}
	}
	h.waiters[account][w] = struct{}{}
	return w, nil
}

func (h *hub) unregister(w *waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.waiters[w.account]; set != nil {
		delete(set, w)
		if len(set) == 0 {
			delete(h.waiters, w.account)
		}
	}
}

func (h *hub) notify(account string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, key := range []string{account, ""} {
		for w := range h.waiters[key] {
			select {
			case w.wake <- struct{}{}:
			default: // already woken, not yet read again
			}
		}
	}
}

// up marks the listener connected: waits may start.
func (h *hub) up() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live = true
}

// drop marks the listener disconnected and ends every current wait.
func (h *hub) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live = false
	for _, set := range h.waiters {
		for w := range set {
			close(w.lost)
		}
	}
	h.waiters = map[string]map[*waiter]struct{}{}
}
