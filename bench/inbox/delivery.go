package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/understudy-dev/understudy/bench/internal/phase"
)

// The delivery phase's bounds.
const (
	// minDelivered is the fewest measured messages the delivery phase's
	// percentiles are taken over: it runs past -duration until it has them.
	minDelivered = 200
	// pollWait is the long poll's wait, as a test would ask.
	pollWait = "30s"
	// settle bounds the wait for the messages still in flight when the
	// sender stops, and the sender's overrun past -duration.
	settle = 30 * time.Second
)

// deliverySubject starts the subject of every message of the delivery
// phase; " #<n>" follows, n numbering the phase's messages.
const deliverySubject = "Your Example Shop sign-in code"

// inboxItem is the part of a message of GET /v1/leases/{id}/messages the
// waiters read.
type inboxItem struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
}

// deliveryLog is when each message of the phase was accepted (the 250
// after its data) and answered to its waiter; it is shared by the sender
// and the waiters.
type deliveryLog struct {
	mu   sync.Mutex
	sent []time.Time // by message number
	got  []time.Time
}

func (l *deliveryLog) markSent(n int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.sent) <= n {
		l.sent, l.got = append(l.sent, time.Time{}), append(l.got, time.Time{})
	}
	l.sent[n] = at
}

// markGot records the first answer that carried message n.
func (l *deliveryLog) markGot(n int, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.got) <= n {
		l.sent, l.got = append(l.sent, time.Time{}), append(l.got, time.Time{})
	}
	if l.got[n].IsZero() {
		l.got[n] = at
	}
}

// pending counts the messages sent and not yet answered.
func (l *deliveryLog) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for i, s := range l.sent {
		if !s.IsZero() && l.got[i].IsZero() {
			n++
		}
	}
	return n
}

// measured counts the messages sent at or after from and answered.
func (l *deliveryLog) measured(from time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for i, s := range l.sent {
		if !s.Before(from) && !l.got[i].IsZero() {
			n++
		}
	}
	return n
}

// deliveryStats are what the delivery phase measured beyond its latencies.
type deliveryStats struct {
	// Early counts the answers that came before the sender read the 250
	// (the server may wake the waiter before it replies): their latency
	// counts as 0.
	Early int `json:"answered_before_250"`
	// Lost counts the measured messages never answered within the settle
	// time.
	Lost int `json:"lost"`
	// Polls counts the waiters' requests, EmptyPolls those that ended
	// their wait with no message.
	Polls      int `json:"polls"`
	EmptyPolls int `json:"empty_polls"`
}

// summarize returns the latencies of the messages sent at or after from:
// from the 250 to the waiter's answer.
func (l *deliveryLog) summarize(from time.Time, d time.Duration) (phase.Result, deliveryStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var st deliveryStats
	var lat []time.Duration
	for i, s := range l.sent {
		switch g := l.got[i]; {
		case s.IsZero() || s.Before(from):
		case g.IsZero():
			st.Lost++
		case g.Before(s):
			st.Early++
			lat = append(lat, 0)
		default:
			lat = append(lat, g.Sub(s))
		}
	}
	res := phase.Summarize("delivery", lat, d)
	res.Errors = st.Lost
	return res, st
}

// deliveryNumber reads n from a subject deliverySubject + " #<n>".
func deliveryNumber(subject string) (int, bool) {
	rest, ok := strings.CutPrefix(subject, deliverySubject+" #")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

// waiter is a test waiting for its lease's mail: it long-polls GET
// /v1/leases/{id}/messages?wait=30s&after=<the last message it saw>, on
// its own keep-alive connection, one request after the other.
type waiter struct {
	hc    *http.Client
	url   string // .../v1/leases/{id}/messages
	auth  string
	log   *deliveryLog
	armed chan struct{} // holds a token while a poll is (about to be) waiting
	done  chan struct{} // closed when run returns
	after string
	polls int
	empty int
	err   error // why run stopped early
}

// newWaiter returns a waiter on lease leaseID of the server at baseURL.
func newWaiter(baseURL, runnerSecret, leaseID string, log *deliveryLog) *waiter {
	tr := &http.Transport{MaxIdleConns: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}
	return &waiter{hc: &http.Client{Transport: tr, Timeout: 2 * settle},
		url: baseURL + "/v1/leases/" + url.PathEscape(leaseID) + "/messages", auth: "Bearer " + runnerSecret,
		log: log, armed: make(chan struct{}, 1), done: make(chan struct{})}
}

// run polls until ctx ends or a poll fails. Before each poll it offers a
// token on armed, so the sender sends this lease's next message only when
// the waiter is (about to be) waiting for it.
func (w *waiter) run(ctx context.Context) {
	defer close(w.done)
	defer w.hc.CloseIdleConnections()
	for ctx.Err() == nil {
		select {
		case w.armed <- struct{}{}:
		default:
		}
		items, err := w.poll(ctx)
		at := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				w.err = err
			}
			return
		}
		w.polls++
		if len(items) == 0 {
			w.empty++
			continue
		}
		last := -1
		for _, it := range items {
			if n, ok := deliveryNumber(it.Subject); ok {
				w.log.markGot(n, at)
				if n > last {
					last, w.after = n, it.ID
				}
			}
		}
		if last < 0 {
			w.err = fmt.Errorf("GET %s answered %d messages, none sent by the delivery phase (first subject %q)", w.url, len(items), items[0].Subject)
			return
		}
	}
}

// poll makes one long poll and returns the messages it answered.
func (w *waiter) poll(ctx context.Context) ([]inboxItem, error) {
	q := url.Values{"wait": {pollWait}}
	if w.after != "" {
		q.Set("after", w.after)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", w.auth)
	resp, err := w.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %w", w.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %.300s", w.url, resp.StatusCode, raw)
	}
	var page struct {
		Items []inboxItem `json:"items"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return nil, fmt.Errorf("GET %s: %w", w.url, err)
	}
	return page.Items, nil
}

// deliveryPhase measures delivery to waiting tests: one waiter per lease,
// and one SMTP client that sends the sign-in message to each lease's
// address in turn, each when its waiter is waiting. A message's latency is
// from the 250 after its data to its waiter's answer. Messages sent during
// the warm-up are not measured; the sender goes on past the duration until
// minDelivered messages were measured (or settle has passed).
func deliveryPhase(ctx context.Context, cfg Config, smtpAddr, baseURL, runnerSecret string, leases []lease) (phase.Result, deliveryStats, error) {
	log := &deliveryLog{}
	ws := make([]*waiter, len(leases))
	pollCtx, stopPolls := context.WithCancel(ctx)
	for i, l := range leases {
		ws[i] = newWaiter(baseURL, runnerSecret, l.ID, log)
		go ws[i].run(pollCtx)
	}
	from, stopped, sendErr := sendInTurn(ctx, cfg, smtpAddr, leases, ws, log)
	if sendErr == nil {
		sendErr = settleDeliveries(ctx, log, ws)
	}
	stopPolls()
	var st deliveryStats
	for _, w := range ws {
		<-w.done
		if sendErr == nil && w.err != nil {
			sendErr = fmt.Errorf("phase delivery: a waiter failed: %w", w.err)
		}
		st.Polls, st.EmptyPolls = st.Polls+w.polls, st.EmptyPolls+w.empty
	}
	res, got := log.summarize(from, stopped.Sub(from))
	st.Early, st.Lost = got.Early, got.Lost
	if sendErr == nil && st.Lost > 0 {
		sendErr = fmt.Errorf("phase delivery: %d of %d measured messages never reached their waiter within %s", st.Lost, st.Lost+res.Requests, settle)
	}
	return res, st, sendErr
}

// sendInTurn sends to the leases' addresses in turn until the phase ends,
// and returns when the measurement started and when the sending stopped.
func sendInTurn(ctx context.Context, cfg Config, smtpAddr string, leases []lease, ws []*waiter, log *deliveryLog) (from, stopped time.Time, err error) {
	msg := signInMessage()
	s := newSender(smtpAddr)
	defer s.Close()
	from = time.Now().Add(cfg.Warmup)
	end, overrun := from.Add(cfg.Duration), from.Add(cfg.Duration+settle)
	for n := 0; ; n++ {
		now := time.Now()
		if !now.Before(end) && (log.measured(from) >= minDelivered || !now.Before(overrun)) {
			return from, now, nil
		}
		i := n % len(leases)
		select {
		case <-ws[i].armed:
		case <-ws[i].done:
			return from, now, fmt.Errorf("phase delivery: waiter %d stopped: %w", i, ws[i].err)
		case <-ctx.Done():
			return from, now, fmt.Errorf("phase delivery: %w", ctx.Err())
		case <-time.After(settle):
			return from, now, fmt.Errorf("phase delivery: waiter %d did not get message %d within %s", i, n-len(leases), settle)
		}
		rcpt := leases[i].Email
		at, err := s.send(ctx, rcpt, msg.render(rcpt, deliverySubject+" #"+strconv.Itoa(n), seq.Add(1)))
		if err != nil {
			return from, now, fmt.Errorf("phase delivery: %w", err)
		}
		log.markSent(n, at)
	}
}

// settleDeliveries waits until every message sent was answered, or settle
// has passed (the lost ones are then counted by summarize).
func settleDeliveries(ctx context.Context, log *deliveryLog, ws []*waiter) error {
	deadline := time.Now().Add(settle)
	for log.pending() > 0 && time.Now().Before(deadline) {
		for _, w := range ws {
			select {
			case <-w.done:
				return fmt.Errorf("phase delivery: a waiter stopped: %w", w.err)
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("phase delivery: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
