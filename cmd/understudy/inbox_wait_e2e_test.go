package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/openapi"
)

// polled is the answer of one long poll.
type polled struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
	err     error
}

// poll starts GET path with token in the background; sent is closed once
// the request is written, and the answer arrives on the returned channel.
func poll(s *testServer, token, path string) (sent <-chan struct{}, answer <-chan polled) {
	wrote, out := make(chan struct{}), make(chan polled, 1)
	go func() {
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, s.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- polled{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		out <- polled{status: resp.StatusCode, header: resp.Header, body: b, elapsed: time.Since(start), err: err}
	}()
	return wrote, out
}

// await returns the answer of a poll, failing after d.
func await(t *testing.T, answer <-chan polled, d time.Duration) polled {
	t.Helper()
	select {
	case p := <-answer:
		if p.err != nil {
			t.Fatalf("the poll failed: %v", p.err)
		}
		return p
	case <-time.After(d):
		t.Fatalf("the poll did not answer within %s", d)
		return polled{}
	}
}

// A waiter wakes when its message arrives, through either door, and only
// then; a code waiter passes over a message without a code.
func TestInboxWaitersWake(t *testing.T) {
	t.Parallel()
	x := newInboxSite(t, serverOptions{Mutate: func(c *Config) { c.SMTPAddr = "127.0.0.1:0"; c.SMTPHostname = "mx.test" }})
	s, acct := x.s, x.lease1.Credentials.Email
	base := "/v1/leases/" + x.lease1.Lease.Id

	sent, answer := poll(s, s.Runner, base+"/messages?wait=30s")
	<-sent
	time.Sleep(100 * time.Millisecond) // the waiter reads, finds nothing and waits
	ids := x.delivered(t, signInMail(acct, "246810"), acct)
	p := await(t, answer, 20*time.Second)
	var list openapi.MessageList
	if p.status != http.StatusOK || json.Unmarshal(p.body, &list) != nil || len(list.Items) != 1 || list.Items[0].Id != ids[0] {
		t.Fatalf("the woken waiter: %d %s", p.status, p.body)
	}
	if p.elapsed > 15*time.Second {
		t.Fatalf("the waiter answered after %s", p.elapsed)
	}

	// Through SMTP: a waiter for what comes after the first is woken.
	sent, answer = poll(s, s.Runner, base+"/code?wait=30s&kind=code&subject=smtp")
	<-sent
	time.Sleep(100 * time.Millisecond)
	// A message without a code matching the filter first: passed over.
	x.delivered(t, "From: a@chirp.example.test\r\nTo: "+acct+"\r\nSubject: smtp news\r\n\r\nNothing to see here.\r\n", acct)
	msg := strings.Replace(signInMail(acct, "135790"), "Subject: Your Chirp code is 135790", "Subject: smtp code 135790", 1)
	if err := smtp.SendMail(s.main.SMTPAddr(), nil, "bounces@chirp.example.test", []string{acct}, []byte(msg)); err != nil {
		t.Fatalf("sending over SMTP: %v", err)
	}
	p = await(t, answer, 20*time.Second)
	var code openapi.MessageCode
	if p.status != http.StatusOK || json.Unmarshal(p.body, &code) != nil || deref(code.Code) != "135790" {
		t.Fatalf("the code waiter: %d %s", p.status, p.body)
	}
	// A wait with nothing new ends empty after its time.
	resp, b := s.raw(t, s.Runner, http.MethodGet, base+"/messages?wait=1&after="+code.MessageId, "", nil)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != `{"items":[]}` {
		t.Fatalf("an empty wait: %d %s", resp.StatusCode, b)
	}
}

// A waiter whose notification connection is lost, or whose server stops,
// gets a 503 with Retry-After it can retry.
func TestInboxWaitersUnavailable(t *testing.T) {
	t.Parallel()
	x := newInboxSite(t, serverOptions{})
	s := x.s
	path := "/v1/leases/" + x.lease1.Lease.Id + "/messages?wait=30s"

	sent, answer := poll(s, s.Runner, path)
	<-sent
	time.Sleep(300 * time.Millisecond)
	if _, err := s.main.pool.Exec(context.Background(),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, inbox.ListenerName); err != nil {
		t.Fatal(err)
	}
	checkUnavailable(t, await(t, answer, 20*time.Second))
	// The listener comes back, and waits work again.
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, b := s.raw(t, s.Runner, http.MethodGet, "/v1/leases/"+x.lease1.Lease.Id+"/messages?wait=1", "", nil)
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("waits do not work again after the listener's reconnection: %d %s", resp.StatusCode, b)
		}
		time.Sleep(50 * time.Millisecond)
	}

	sent, answer = poll(s, s.Runner, path)
	<-sent
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.main.Close(ctx); err != nil {
		t.Fatal(err)
	}
	checkUnavailable(t, await(t, answer, 5*time.Second))
}

func checkUnavailable(t *testing.T, p polled) {
	t.Helper()
	var problem openapi.Problem
	if p.status != http.StatusServiceUnavailable || json.Unmarshal(p.body, &problem) != nil || problem.Code == nil || *problem.Code != "unavailable" {
		t.Fatalf("the waiter got %d %s, want a 503 problem", p.status, p.body)
	}
	if p.header.Get("Retry-After") == "" || !strings.Contains(problem.Detail, "retry") {
		t.Fatalf("the 503 has no Retry-After or does not say to retry: %v %s", p.header, p.body)
	}
}
