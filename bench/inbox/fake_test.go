package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// fakeSMTP is a minimal SMTP server for the tests: it accepts any
// recipient and hands each message to deliver before it answers 250.
type fakeSMTP struct {
	ln      net.Listener
	deliver func(rcpt string, raw []byte)
	wg      sync.WaitGroup
}

// startSMTP serves SMTP on a loopback port until the test ends.
func startSMTP(t *testing.T, deliver func(rcpt string, raw []byte)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSMTP{ln: ln, deliver: deliver}
	s.wg.Go(s.accept)
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return ln.Addr().String()
}

func (s *fakeSMTP) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() { s.serve(conn) })
	}
}

// serve speaks just enough SMTP for net/smtp's client.
func (s *fakeSMTP) serve(conn net.Conn) {
	defer conn.Close()
	tp := textproto.NewConn(conn)
	_ = tp.PrintfLine("220 fake ready")
	var rcpt string
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			_ = tp.PrintfLine("250-fake\r\n250 8BITMIME")
		case "MAIL", "NOOP", "RSET":
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			_, to, _ := strings.Cut(arg, ":") // TO:<address>
			rcpt = strings.Trim(to, "<> ")
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go on")
			raw, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			s.deliver(rcpt, raw)
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("502 unknown")
		}
	}
}

// fakeInbox is the messages endpoint of leases, long-polled: it answers at
// once when a message newer than after exists, else when one arrives, else
// empty after the wait.
type fakeInbox struct {
	mu      sync.Mutex
	leases  map[string]string // lease id -> address
	msgs    map[string][]inboxItem
	arrived chan struct{} // closed and replaced on each message
	n       int
	secret  string
}

func newFakeInbox(secret string, leases []lease) *fakeInbox {
	f := &fakeInbox{leases: map[string]string{}, msgs: map[string][]inboxItem{}, arrived: make(chan struct{}), secret: secret}
	for _, l := range leases {
		f.leases[l.ID] = l.Email
	}
	return f
}

// deliver stores a message for rcpt and wakes the waiters.
func (f *fakeInbox) deliver(rcpt string, raw []byte) {
	m, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(string(raw))))
	subject := "unreadable"
	if err == nil {
		subject = m.Header.Get("Subject")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	f.msgs[rcpt] = append(f.msgs[rcpt], inboxItem{ID: fmt.Sprintf("m%06d", f.n), Subject: subject})
	close(f.arrived)
	f.arrived = make(chan struct{})
}

// newer returns the messages of addr after id, and the channel closed on
// the next arrival.
func (f *fakeInbox) newer(addr, after string) ([]inboxItem, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []inboxItem
	for _, m := range f.msgs[addr] {
		if m.ID > after {
			out = append(out, m)
		}
	}
	return out, f.arrived
}

func (f *fakeInbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v1/leases/"), "/messages")
	f.mu.Lock()
	addr, known := f.leases[id]
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.secret || !ok || !known {
		http.Error(w, "no such lease for this token", http.StatusNotFound)
		return
	}
	wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
	if err != nil {
		http.Error(w, "bad wait", http.StatusBadRequest)
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		items, arrived := f.newer(addr, r.URL.Query().Get("after"))
		if len(items) > 0 {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"items":[`)
			for i, it := range items {
				if i > 0 {
					fmt.Fprint(w, ",")
				}
				fmt.Fprintf(w, `{"id":%q,"received_at":"2026-12-05T12:00:00Z","subject":%q}`, it.ID, it.Subject)
			}
			fmt.Fprint(w, "]}")
			return
		}
		select {
		case <-arrived:
		case <-timer.C:
			fmt.Fprint(w, `{"items":[]}`)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// startInbox serves f until the test ends.
func startInbox(t *testing.T, f *fakeInbox) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

// quick is a phase configuration for the tests.
func quick() Config {
	return Config{Clients: 3, Duration: 150 * time.Millisecond, Rounds: 1}.WithDefaults()
}

// noWarmup returns cfg with no warm-up (WithDefaults would fill one).
func noWarmup(cfg Config) Config { cfg.Warmup = 0; return cfg }

// machineForTest is a machine for reports made in tests.
func machineForTest() stack.Machine {
	return stack.Machine{CPUs: 2, Go: "go1.26.8", Platform: "linux/amd64"}
}
