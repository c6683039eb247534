package inbox_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/dbtest"
)

// BenchmarkWaitWakeUp measures how long a message takes to reach its
// waiter, from the start of its Receive to the return of the Wait, with 8
// waits at once (8 test runs, each waiting for its account's sign-in
// mail, which arrive together). It reports the p50 and p99 in ms; the
// target is a p99 of 50 ms at most. It reports apart the p50 and p99 of
// the Receive itself, and the p99 of the time from Receive's return to the
// Wait's (the wake-up once the message is committed; 0 when the Wait
// returned first).
func BenchmarkWaitWakeUp(b *testing.B) {
	const waiters = 8
	// The server's pool: 20 connections (db_max_conns' default).
	pool := dbtest.PoolFor(b, dbtest.NewDatabase(b)+" pool_max_conns=20")
	f := newFixture(b, pool, fixtureOptions{})
	if _, err := f.accounts.CreateRole(f.admin, "production", "seller", accounts.RoleChange{PoolSize: new(waiters)}); err != nil {
		b.Fatal(err)
	}
	sellers, err := f.accounts.ListAccounts(f.admin, accounts.AccountFilter{Environment: "production", Role: "seller"})
	if err != nil || len(sellers) != waiters {
		b.Fatalf("sellers: %d, %v", len(sellers), err)
	}
	replica := f.newService(b, fixtureOptions{})
	listen(b, f.svc)
	inbound := caller(access.ScopeInbound)
	receive := func(a accounts.Account) string {
		ids, err := replica.Receive(inbound, inbox.Delivery{Via: "smtp", Raw: mail(a.Identity.Email, "Sign in"),
			Recipients: []inbox.Recipient{{Address: a.Identity.Email, AccountID: a.ID}}})
		if err != nil {
			b.Error(err)
			return ""
		}
		return ids[0]
	}
	last := make([]string, waiters)
	for i, a := range sellers {
		last[i] = receive(a)
	}
	var lat, commit, after []time.Duration
	for b.Loop() {
		var wg, sends sync.WaitGroup
		sent, stored, got := make([]time.Time, waiters), make([]time.Time, waiters), make([]time.Time, waiters)
		for i, a := range sellers {
			wg.Go(func() {
				list, err := f.svc.Wait(context.Background(), inbox.Filter{AccountID: a.ID, After: last[i]}, 10*time.Second)
				got[i] = time.Now()
				if err != nil || len(list) != 1 {
					b.Errorf("Wait: %v, %v", list, err)
					return
				}
				last[i] = list[0].ID
			})
		}
		waitFor(b, "the waits to register", func() bool { return inbox.Waiters(f.svc) == waiters })
		for i, a := range sellers {
			sends.Go(func() {
				sent[i] = time.Now()
				receive(a)
				stored[i] = time.Now()
			})
		}
		sends.Wait()
		wg.Wait()
		for i := range waiters {
			lat = append(lat, got[i].Sub(sent[i]))
			commit = append(commit, stored[i].Sub(sent[i]))
			after = append(after, max(got[i].Sub(stored[i]), 0))
		}
	}
	if len(lat) == 0 {
		return
	}
	pct := func(d []time.Duration, p float64) float64 {
		slices.Sort(d)
		return float64(d[int(p*float64(len(d)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(lat, 0.50), "p50-ms")
	b.ReportMetric(pct(lat, 0.99), "p99-ms")
	b.ReportMetric(pct(commit, 0.50), "receive-p50-ms")
	b.ReportMetric(pct(commit, 0.99), "receive-p99-ms")
	b.ReportMetric(pct(after, 0.99), "after-receive-p99-ms")
}
