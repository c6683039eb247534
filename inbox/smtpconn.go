package inbox

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// limitListener admits a connection only within the per-client and total
// limits; it answers any other 421 4.7.0 itself and closes it, so go-smtp
// never sees it.
type limitListener struct {
	net.Listener
	s *SMTPServer
}

// Accept returns the next admitted connection.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc := l.s.admit(c); tc != nil {
			return tc, nil
		}
	}
}

// admit tracks c, or refuses it and returns nil.
func (s *SMTPServer) admit(c net.Conn) *trackedConn {
	client := remoteAddr(c)
	tc, why := s.take(c, client)
	if tc == nil {
		s.logger.Debug("smtp: connection refused", "client", client.String(), "reason", why)
		refuse(c, why+", try again later")
	}
	return tc
}

// take tracks c within the client's limits, or says why not (an SMTP
// answer). It holds the lock Shutdown takes, so no connection slips past
// Shutdown's look at the open ones.
func (s *SMTPServer) take(c net.Conn, client netip.Addr) (*trackedConn, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return nil, "421 4.3.2 " + s.cfg.Hostname + " Shutting down"
	}
	key := clientKey(client)
	if why := s.limits.acquire(key, s.cfg.Now()); why != "" {
		return nil, "421 4.7.0 " + s.cfg.Hostname + " " + why
	}
	tc := &trackedConn{Conn: c, s: s, client: client, key: key}
	tc.mu.Lock() // the timer may fire before it is stored
	tc.timer = time.AfterFunc(s.cfg.SessionTimeout, func() { tc.Close() })
	tc.mu.Unlock()
	s.conns[tc] = struct{}{}
	return tc, ""
}

// refuse writes one answer to a connection that is not served, and closes
// it. The answer is small enough for the socket's buffer, so the write
// does not wait on the client; its deadline is a guard.
func refuse(c net.Conn, answer string) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write([]byte(answer + "\r\n"))
	_ = c.Close()
}

// remoteAddr is the client's IP address, invalid when the connection is
// not over IP.
func remoteAddr(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// clientKey groups the addresses of one client: an IPv4 address alone, an
// IPv6 address with its /64, which one host usually holds whole.
func clientKey(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// trackedConn is one admitted connection. It releases its client's slot
// when closed, and can be told to close right after its next answer.
type trackedConn struct {
	net.Conn
	s      *SMTPServer
	client netip.Addr
	key    netip.Prefix

	// messages counts the MAIL commands of the connection, across the
	// sessions go-smtp starts for it (one more after STARTTLS).
	messages atomic.Int64

	mu      sync.Mutex
	timer   *time.Timer // SessionTimeout
	inData  bool        // a message is being received: its answer is not written yet
	closing bool        // close after the next answer
	closed  sync.Once
}

// Write writes an answer; the first one after a message's data ends the
// message, and when the connection is closing it is closed right after.
func (c *trackedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.inData = false
	closing := c.closing
	c.mu.Unlock()
	n, err := c.Conn.Write(p)
	if closing {
		c.Close()
	}
	return n, err
}

// Close closes the connection once and frees its client's slot.
func (c *trackedConn) Close() error {
	err := net.ErrClosed
	c.closed.Do(func() {
		err = c.Conn.Close()
		c.mu.Lock()
		c.timer.Stop()
		c.mu.Unlock()
		c.s.limits.release(c.key)
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return err
}

// startData marks a message being received.
func (c *trackedConn) startData() {
	c.mu.Lock()
	c.inData = true
	c.mu.Unlock()
}

// closeAfterAnswer closes the connection once the answer being prepared
// is written.
func (c *trackedConn) closeAfterAnswer() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
}

// drain closes an idle connection now, and one receiving a message once
// that message's answer is written.
func (c *trackedConn) drain() {
	c.mu.Lock()
	c.closing = true
	busy := c.inData
	c.mu.Unlock()
	if !busy {
		c.Close()
	}
}

// tracked finds the trackedConn under a go-smtp connection, through TLS.
func tracked(c *smtp.Conn) *trackedConn {
	nc := c.Conn()
	if t, ok := nc.(*tls.Conn); ok {
		nc = t.NetConn()
	}
	tc, _ := nc.(*trackedConn)
	return tc
}

// maxClients bounds the clients whose rate is remembered. Past it, the
// ones with no open connection and a full bucket are forgotten (at most
// once a second); if that is not enough, new clients are refused until it
// is.
const maxClients = 100_000

// clientLimits counts the open connections and the connection rate of each
// client, and the open connections of all.
type clientLimits struct {
	perClient, perMinute, total int

	mu        sync.Mutex
	open      int
	clients   map[netip.Prefix]*clientState
	lastSweep time.Time
}

// clientState is one client's open connections and its rate bucket.
type clientState struct {
	open   int
	tokens float64
	at     time.Time // when tokens was last refilled
}

func newClientLimits(perClient, perMinute, total int) *clientLimits {
	return &clientLimits{perClient: perClient, perMinute: perMinute, total: total, clients: map[netip.Prefix]*clientState{}}
}

// acquire takes a slot for key, or says why it cannot.
func (l *clientLimits) acquire(key netip.Prefix, now time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.total {
		return "Too many connections"
	}
	st := l.clients[key]
	if st == nil {
		if len(l.clients) >= maxClients && now.Sub(l.lastSweep) >= time.Second {
			l.sweep(now)
		}
		if len(l.clients) >= maxClients {
			return "Too many clients"
		}
		st = &clientState{tokens: float64(l.perMinute), at: now}
		l.clients[key] = st
	}
	l.refill(st, now)
	switch {
	case st.open >= l.perClient:
		return "Too many connections from your address"
	case st.tokens < 1:
		return "Too many connections from your address in the last minute"
	}
	st.tokens--
	st.open++
	l.open++
	return ""
}

// release frees a slot taken for key.
func (l *clientLimits) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if st := l.clients[key]; st != nil {
		st.open--
	}
}

// refill adds the tokens earned since st.at: perMinute a minute, at most
// perMinute in all.
func (l *clientLimits) refill(st *clientState, now time.Time) {
	if d := now.Sub(st.at); d > 0 {
		st.tokens = min(float64(l.perMinute), st.tokens+d.Minutes()*float64(l.perMinute))
		st.at = now
	}
}

// sweep forgets the clients that hold nothing: no open connection, a
// full bucket.
func (l *clientLimits) sweep(now time.Time) {
	l.lastSweep = now
	for k, st := range l.clients {
		l.refill(st, now)
		if st.open == 0 && st.tokens >= float64(l.perMinute) {
			delete(l.clients, k)
		}
	}
}
