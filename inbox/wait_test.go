package inbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/dbtest"
)

// listen runs svc's listener until the test ends, and waits until it is
// connected.
func listen(t testing.TB, svc *inbox.Service) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Listen(ctx) }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			cancel()
			err, stopped = <-done, true
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	waitFor(t, "the listener to connect", svc.Listening)
	return stop
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

type waitResult struct {
	list []inbox.Message
	err  error
}

// startWait runs a Wait in the background, and returns once it is
// registered (or has returned).
func startWait(t *testing.T, ctx context.Context, svc *inbox.Service, f inbox.Filter, d time.Duration) <-chan waitResult {
	t.Helper()
	before := inbox.Waiters(svc)
	out := make(chan waitResult, 1)
	go func() {
		list, err := svc.Wait(ctx, f, d)
		out <- waitResult{list, err}
	}()
	waitFor(t, "the wait to register", func() bool { return inbox.Waiters(svc) > before || len(out) > 0 })
	return out
}

func result(t *testing.T, c <-chan waitResult) waitResult {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end")
		return waitResult{}
	}
}

// A wait on one replica wakes when another replica receives the message.
func TestWaitWakesOnAnotherReplicasReceive(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.NewPool(t), fixtureOptions{})
	other := f.newService(t, fixtureOptions{})
	listen(t, f.svc)
	inbox.SetHeartbeat(other, time.Hour)
	c := startWait(t, f.runner, f.svc, inbox.Filter{AccountID: f.buyers[0].ID, Subject: "Sign in", Bodies: true}, 30*time.Second)
	f.deliver(t, other, "Welcome", 1) // another account: no wake-up that matches
	f.deliver(t, other, "Welcome", 0) // the account, another subject
	if len(c) != 0 {
		t.Fatalf("the wait ended on a message it does not match: %+v", <-c)
	}
	id := f.deliver(t, other, "Sign in to Chirp", 0)[0]
	r := result(t, c)
	if r.err != nil || len(r.list) != 1 || r.list[0].ID != id || r.list[0].Body.Codes[0].Value != testCode {
		t.Fatalf("Wait: %+v, %v", r.list, r.err)
	}
	if n := inbox.Waiters(f.svc); n != 0 {
		t.Errorf("%d waiters left registered", n)
	}
}

// A wait whose match is there returns it at once; one that times out
// returns an empty list; one beyond MaxWait is refused.
func TestWaitReturnsAtOnceOrTimesOutEmpty(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.NewPool(t), fixtureOptions{})
	listen(t, f.svc)
	id := f.deliver(t, f.svc, "Hello", 0)[0]
	start := time.Now()
	list, err := f.svc.Wait(f.reader, inbox.Filter{AccountID: f.buyers[0].ID}, time.Minute)
	if err != nil || len(list) != 1 || list[0].ID != id || time.Since(start) > 5*time.Second {
		t.Fatalf("Wait with a match: %v, %v after %s", list, err, time.Since(start))
	}
	start = time.Now()
	list, err = f.svc.Wait(f.reader, inbox.Filter{AccountID: f.buyers[0].ID, After: id}, 150*time.Millisecond)
	if err != nil || list == nil || len(list) != 0 || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("Wait without a match: %v, %v after %s", list, err, time.Since(start))
	}
	_, err = f.svc.Wait(f.reader, inbox.Filter{}, inbox.MaxWait+time.Second)
	if e := wantCode(t, err, understudy.EINVALID); e.Fields[0].Field != "wait" {
		t.Errorf("fields %+v", e.Fields)
	}
	ctx, cancel := context.WithCancel(f.reader)
	c := startWait(t, ctx, f.svc, inbox.Filter{AccountID: f.buyers[1].ID}, time.Minute)
	cancel()
	if r := result(t, c); !errors.Is(r.err, context.Canceled) {
		t.Errorf("Wait after its caller left: %v", r.err)
	}
}

// When the listener's connection is killed, the current waits end
// EUNAVAILABLE; the listener connects again and waits work again.
func TestWaitEndsUnavailableWhenTheConnectionIsLost(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	f := newFixture(t, pool, fixtureOptions{})
	listen(t, f.svc)
	c := startWait(t, f.reader, f.svc, inbox.Filter{AccountID: f.buyers[0].ID}, time.Minute)
	killed := count(t, pool, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, inbox.ListenerName)
	if killed != 1 {
		t.Fatalf("killed %d listeners, want 1", killed)
	}
	r := result(t, c)
	if e := wantCode(t, r.err, understudy.EUNAVAILABLE); e.Message != "the inbox's notification connection was lost; retry the wait" {
		t.Errorf("message %q", e.Message)
	}
	waitFor(t, "the listener to reconnect", f.svc.Listening)
	c = startWait(t, f.reader, f.svc, inbox.Filter{AccountID: f.buyers[0].ID}, time.Minute)
	id := f.deliver(t, f.svc, "After the reconnection", 0)[0]
	if r := result(t, c); r.err != nil || len(r.list) != 1 || r.list[0].ID != id {
		t.Fatalf("Wait after the reconnection: %+v, %v", r.list, r.err)
	}
}

// When the service stops listening, the current waits end EUNAVAILABLE,
// and a wait without a match is refused until it listens again.
func TestWaitEndsUnavailableWhenTheServiceStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.NewPool(t), fixtureOptions{})
	_, err := f.svc.Wait(f.reader, inbox.Filter{AccountID: f.buyers[0].ID}, time.Second)
	wantCode(t, err, understudy.EUNAVAILABLE)
	stop := listen(t, f.svc)
	c := startWait(t, f.reader, f.svc, inbox.Filter{AccountID: f.buyers[0].ID}, time.Minute)
	if err := stop(); err != nil {
		t.Fatalf("Listen returned %v when stopped", err)
	}
	wantCode(t, result(t, c).err, understudy.EUNAVAILABLE)
	if f.svc.Listening() {
		t.Error("the service says it listens after it stopped")
	}
	id := f.deliver(t, f.svc, "While stopped", 0)[0]
	list, err := f.svc.Wait(f.reader, inbox.Filter{AccountID: f.buyers[0].ID}, time.Second)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("a wait whose match is there, while stopped: %v, %v", list, err)
	}
}

// The listener's connection, checked after each silence, still delivers.
func TestWaitAfterHeartbeats(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.NewPool(t), fixtureOptions{})
	inbox.SetHeartbeat(f.svc, 20*time.Millisecond)
	listen(t, f.svc)
	c := startWait(t, f.reader, f.svc, inbox.Filter{AccountID: f.buyers[0].ID}, time.Minute)
	time.Sleep(150 * time.Millisecond)
	id := f.deliver(t, f.svc, "Late", 0)[0]
	if r := result(t, c); r.err != nil || len(r.list) != 1 || r.list[0].ID != id {
		t.Fatalf("Wait after heartbeats: %+v, %v", r.list, r.err)
	}
}
