package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// degradedLog records the calls of OnDegraded.
type degradedLog struct {
	mu    sync.Mutex
	calls []bool
}

func (d *degradedLog) record(b bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, b)
}

func (d *degradedLog) get() []bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]bool(nil), d.calls...)
}

func TestFailClosedBeforeFirstListThenRecovers(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	f.with(func(f *fakeServer) { f.down = true })
	var dl degradedLog
	c := started(t, f, func(cfg *Config) {
		cfg.ControlledDomains = []string{"QA.Example.Test"}
		cfg.SyntheticMarker = "+synthetic"
		cfg.OnDegraded = dl.record
	})

	if !c.Degraded() {
		t.Fatal("Degraded() = false with the server down at start")
	}
	for _, tt := range []struct {
		viewer, subject string
		want            bool
		reason          Reason
	}{
		{"real-1", "a@QA.example.TEST", false, ReasonDegradedFailClosed},
		{"real-1", "acc-a", true, ReasonNotSynthetic}, // no list: an account id cannot be known
		{"real-1", "user+synthetic-42", false, ReasonDegradedFailClosed},
		{"real-1", "someone@example.com", true, ReasonNotSynthetic},
		{"real-1", "handle-without-at", true, ReasonNotSynthetic},
		{"a@qa.example.test", "a@qa.example.test", true, ReasonSelf},
	} {
		if got, reason := c.Decide(tt.viewer, "public_profile", tt.subject); got != tt.want || reason != tt.reason {
			t.Errorf("before the first list, Decide(%q, %q) = %v, %s; want %v, %s", tt.viewer, tt.subject, got, reason, tt.want, tt.reason)
		}
	}
	if st := c.Stats(); st.Failures != 1 || st.ListVersion != "" || !st.Degraded || st.LastError == "" {
		t.Errorf("Stats after a failed start = %+v", st)
	}

	f.with(func(f *fakeServer) { f.down = false })
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh with the server back: %v", err)
	}
	if c.Degraded() {
		t.Error("still degraded after the server came back")
	}
	if got, reason := c.Decide("real-1", "public_profile", "a@QA.example.TEST"); !got || reason != ReasonAllowed {
		t.Errorf("after recovery: %v, %s; want the list's allowed", got, reason)
	}
	if got := dl.get(); len(got) != 2 || !got[0] || got[1] {
		t.Errorf("OnDegraded calls = %v, want [true false]", got)
	}
}

func TestBackgroundRefreshPicksUpANewList(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.with(func(f *fakeServer) { f.down = true })
	f.setList(t, smallList("1-1"))
	c := started(t, f, func(cfg *Config) { cfg.RefreshInterval = 5 * time.Millisecond })
	f.with(func(f *fakeServer) { f.down = false })
	waitFor(t, func() bool { return c.Stats().ListVersion == "1-1" })
	f.setList(t, smallList("2-1"))
	waitFor(t, func() bool { return c.Stats().ListVersion == "2-1" })
	if c.Degraded() {
		t.Error("degraded after background refreshes succeeded")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rejected checks that a refresh was rejected, the list 1-1 kept, and the
// client degraded.
func rejected(t *testing.T, c *Client, wantErr string) {
	t.Helper()
	err := c.Refresh(context.Background())
	if err == nil || !errors.Is(err, errRejected) || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("Refresh = %v, want a rejection mentioning %q", err, wantErr)
	}
	st := c.Stats()
	if st.Rejected != 1 || st.ListVersion != "1-1" || !st.Degraded || !c.Degraded() {
		t.Errorf("Stats after a rejection = %+v; want Rejected 1, version 1-1 kept, degraded", st)
	}
	if got, reason := c.Decide("real-1", "leaderboards", "acc-a"); got || reason != ReasonHidden {
		t.Errorf("with the kept list: %v, %s; want hidden", got, reason)
	}
}

func TestTamperedBodyIsRejected(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	var dl degradedLog
	var logs bytes.Buffer
	c := started(t, f, func(cfg *Config) { cfg.OnDegraded = dl.record; cfg.Logger = newTestLogger(&logs) })

	// The new list would show A everywhere; its body is altered in transit.
	l := smallList("2-1")
	l.Identities = l.Identities[1:]
	f.setList(t, l)
	f.with(func(f *fakeServer) {
		f.tamper = func(b []byte) []byte { return bytes.Replace(b, []byte(`"2-1"`), []byte(`"2-2"`), 1) }
	})
	rejected(t, c, "does not verify")
	if !strings.Contains(logs.String(), "does not verify") {
		t.Errorf("the rejection was not logged: %q", logs.String())
	}

	f.with(func(f *fakeServer) { f.tamper = nil })
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.ListVersion != "2-1" || st.Degraded {
		t.Errorf("after an intact list: %+v", st)
	}
	if got := dl.get(); len(got) != 2 || !got[0] || got[1] {
		t.Errorf("OnDegraded calls = %v, want [true false]", got)
	}
}

func TestMissingSignatureIsRejected(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c := started(t, f, nil)
	f.setList(t, smallList("2-1"))
	f.with(func(f *fakeServer) {
		// Sign with a key whose signature is then replaced by another body's.
		f.tamper = func(b []byte) []byte { return append(b, ' ') }
	})
	rejected(t, c, "does not verify")
}

func TestUnknownKeyIsRejected(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c := started(t, f, nil)
	f.with(func(f *fakeServer) { f.signWith = newSigner(9) }) // not published
	f.setList(t, smallList("2-1"))
	rejected(t, c, "unknown signing key")
	var calls int
	f.with(func(f *fakeServer) { calls = f.keyCalls })
	if calls != 2 {
		t.Errorf("keys fetched %d times, want 2 (at start, and for the unknown key id)", calls)
	}
}

func TestRotatedKeyIsFetched(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c := started(t, f, nil)
	next := newSigner(2)
	f.with(func(f *fakeServer) { f.published = append([]signer{next}, f.published...); f.signWith = next })
	f.setList(t, smallList("2-1"))
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh signed by a new published key: %v", err)
	}
	if v := c.Stats().ListVersion; v != "2-1" {
		t.Errorf("version %q, want 2-1", v)
	}
}

func TestPinnedKeys(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	k := newSigner(1)
	c := started(t, f, func(cfg *Config) { cfg.PublicKeys = map[string]ed25519.PublicKey{k.id: k.pub} })
	if v := c.Stats().ListVersion; v != "1-1" {
		t.Fatalf("version %q with a pinned key, want 1-1", v)
	}
	// A pinned client never trusts a key the server publishes.
	other := newSigner(3)
	f.with(func(f *fakeServer) { f.published = []signer{other}; f.signWith = other })
	f.setList(t, smallList("2-1"))
	rejected(t, c, "unknown signing key")
	var calls int
	f.with(func(f *fakeServer) { calls = f.keyCalls })
	if calls != 0 {
		t.Errorf("a pinned client fetched keys %d times", calls)
	}
}

func TestNotModifiedKeepsTheList(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c := started(t, f, nil)
	for range 2 {
		if err := c.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	st := c.Stats()
	if st.NotModified != 2 || st.Refreshes != 3 || st.ListVersion != "1-1" || st.Degraded || st.LastRefresh.IsZero() {
		t.Errorf("Stats = %+v; want 2 not modified of 3 refreshes, 1-1 kept", st)
	}
	var inm string
	f.with(func(f *fakeServer) { inm = f.lastINM })
	if inm != `"1-1"` {
		t.Errorf("If-None-Match = %q, want \"1-1\"", inm)
	}
	if got, _ := c.Decide("real-1", "leaderboards", "acc-a"); got {
		t.Error("the list was lost on 304")
	}
}

func TestAnotherEnvironmentsListIsRejected(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c := started(t, f, nil)
	l := smallList("2-1")
	l.Environment = "staging"
	f.setList(t, l)
	rejected(t, c, `for environment "staging"`)
}

func TestSignedGarbageIsRejected(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c := started(t, f, nil)
	f.setBody("2-1", []byte(`{"format":1,"environment":"production","identities":[`))
	rejected(t, c, "decoding list")
}

func TestAnotherFormatIsRejected(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c := started(t, f, nil)
	l := smallList("2-1")
	l.Format = 2
	f.setList(t, l)
	rejected(t, c, "list format 2")
}

func TestCloseWithoutStartAndTwice(t *testing.T) {
	t.Parallel()
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Token: testToken, Environment: testEnv})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close without Start: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := c.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}

	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c2 := started(t, f, nil)
	if err := c2.Start(context.Background()); err == nil {
		t.Error("a second Start succeeded")
	}
	for range 2 {
		if err := c2.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if got, _ := c2.Decide("real-1", "leaderboards", "acc-a"); got {
		t.Error("the list was dropped by Close")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	k := newSigner(1)
	good := Config{BaseURL: "https://x", Token: "t", Environment: "e"}
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"no base url", func(c *Config) { c.BaseURL = "" }, "BaseURL"},
		{"relative base url", func(c *Config) { c.BaseURL = "/x" }, "BaseURL"},
		{"no token", func(c *Config) { c.Token = "" }, "Token"},
		{"no environment", func(c *Config) { c.Environment = "" }, "Environment"},
		{"key under another id", func(c *Config) { c.PublicKeys = map[string]ed25519.PublicKey{"0011223344556677": k.pub} }, "PublicKeys"},
		{"cleartext to another host", func(c *Config) { c.BaseURL = "http://understudy.internal" }, "must use https"},
		{"cleartext to a look-alike of loopback", func(c *Config) { c.BaseURL = "http://127.0.0.1.example.com" }, "must use https"},
		{"another scheme", func(c *Config) { c.BaseURL = "ftp://understudy.internal" }, "must be an https URL"},
	}
	for _, tt := range tests {
		cfg := good
		tt.edit(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: New = %v, want an error naming %s", tt.name, err, tt.field)
		}
	}
	for _, edit := range []func(*Config){
		func(*Config) {},
		func(c *Config) { c.BaseURL = "http://127.0.0.1:8080" },
		func(c *Config) { c.BaseURL = "http://[::1]:8080" },
		func(c *Config) { c.BaseURL = "http://localhost:8080" },
		func(c *Config) { c.BaseURL, c.AllowCleartext = "http://understudy.mesh", true },
	} {
		cfg := good
		edit(&cfg)
		if _, err := New(cfg); err != nil {
			t.Errorf("New(%s) = %v", cfg.BaseURL, err)
		}
	}
}

func TestConcurrentChecksAndRefreshes(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c := started(t, f, func(cfg *Config) { cfg.RefreshInterval = time.Millisecond })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				// A is hidden on leaderboards in every version served.
				if c.Visible("real-1", "leaderboards", "acc-a") {
					t.Error("A became visible during a refresh")
					return
				}
				_ = c.Filter("acc-b", "social_feed", []string{"acc-a", "real-1"})
				_ = c.Stats()
			}
		})
	}
	for i := range 50 {
		f.setList(t, smallList(string(rune('a'+i%26))+"-1"))
		_ = c.Refresh(context.Background())
	}
	close(stop)
	wg.Wait()
	if st := c.Stats(); st.Rejected != 0 || st.Failures != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestMalformedPolicyIsRejected(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, smallList("1-1"))
	c := started(t, f, nil)
	l := smallList("2-1")
	l.Identities[1].Policy = []byte(`["allowed"]`)
	f.setList(t, l)
	rejected(t, c, "identity 1: decoding policy")
}

func TestMissingSurfaceInPolicyIsHidden(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	l := smallList("1-1")
	l.Identities[0].Policy = policyJSON(map[string]Policy{"search": PolicyAllowed, "social_feed": "some_future_policy"})
	f.setList(t, l)
	c := started(t, f, nil)
	for surface, want := range map[string]bool{"search": true, "leaderboards": false, "social_feed": false} {
		if got := c.Visible("acc-b", surface, "acc-a"); got != want {
			t.Errorf("Visible on %s = %v, want %v", surface, got, want)
		}
	}
}
