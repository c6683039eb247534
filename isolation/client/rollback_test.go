package client

import (
	"context"
	"errors"
	"testing"
	"time"
)

// listAt is smallList issued at 20:00 plus offset.
func listAt(version string, offset time.Duration) wireList {
	l := smallList(version)
	l.IssuedAt = l.IssuedAt.Add(offset)
	return l
}

// TestOlderListIsRefused: a client holding a list refuses any list older
// than it, though signed with the current key, and keeps its own.
func TestOlderListIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		old  wireList
	}{
		{"issued earlier, earlier version", listAt("1-aaaa", 0)},
		{"issued earlier, same exclusion list version", listAt("2-eeee", -time.Second)},
		{"issued earlier, later version", listAt("3-cccc", -time.Minute)},
		{"issued in the same second, earlier version", listAt("1-dddd", 30*time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeServer(t)
			f.setList(t, listAt("2-bbbb", 30*time.Second))
			c := started(t, f, nil)
			if v := c.Stats().ListVersion; v != "2-bbbb" {
				t.Fatalf("held %q, want 2-bbbb", v)
			}
			// A policy that was later tightened: the old list lets everyone see acc-a.
			tc.old.Identities[0].Policy = policyJSON(map[string]Policy{"leaderboards": PolicyAllowed})
			f.setList(t, tc.old)
			err := c.Refresh(context.Background())
			if !errors.Is(err, errRejected) || !errors.Is(err, errRollback) {
				t.Fatalf("Refresh with an older list = %v, want a rollback rejection", err)
			}
			if st := c.Stats(); st.ListVersion != "2-bbbb" || st.Rejected != 1 || !st.Degraded {
				t.Errorf("after the older list: %+v; want 2-bbbb kept, 1 rejected, degraded", st)
			}
			if ok, reason := c.Decide("real-1", "leaderboards", "acc-a"); ok || reason != ReasonHidden {
				t.Errorf("acc-a = %v, %s; want hidden as the held list says", ok, reason)
			}
		})
	}
}

// TestNewerListInTheSameSecondIsAccepted: lists issued in one second are
// ordered by their version; the same content is not a rollback.
func TestNewerListInTheSameSecondIsAccepted(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	f.setList(t, listAt("2-bbbb", 0))
	c := started(t, f, nil)
	for _, v := range []string{"3-cccc", "3-dddd"} {
		f.setList(t, listAt(v, 0))
		if err := c.Refresh(context.Background()); err != nil || c.Stats().ListVersion != v {
			t.Fatalf("Refresh to %s: %v, holding %s", v, err, c.Stats().ListVersion)
		}
	}
}

// TestListSignedByARetiredKeyIsRefused: a client that trusted key K
// refuses a list K signs once the server's key set retires K, whether the
// set marks it retired or no longer holds it, though the list is newer.
func TestListSignedByARetiredKeyIsRefused(t *testing.T) {
	t.Parallel()
	for _, marked := range []bool{true, false} {
		t.Run(map[bool]string{true: "marked retired", false: "left out"}[marked], func(t *testing.T) {
			t.Parallel()
			f := newFakeServer(t)
			k, next := newSigner(1), newSigner(2)
			f.setList(t, listAt("1-1", 0)) // signed by k
			c := started(t, f, nil)
			// Rotation: next signs, k stays trusted for a while.
			f.with(func(f *fakeServer) { f.published = []signer{next, k}; f.signWith = next })
			f.setList(t, listAt("2-1", time.Minute))
			if err := c.Refresh(context.Background()); err != nil {
				t.Fatalf("Refresh after the rotation: %v", err)
			}
			// k is retired; someone holding it signs a newer list.
			f.with(func(f *fakeServer) {
				f.published = []signer{next}
				if marked {
					f.retired = []signer{k}
				}
				f.signWith = k
			})
			f.setList(t, listAt("3-1", 2*time.Minute))
			err := c.Refresh(context.Background())
			if !errors.Is(err, errRejected) || !errors.Is(err, errRetiredKey) {
				t.Fatalf("Refresh of a list signed by the retired key = %v, want a retired-key rejection", err)
			}
			if st := c.Stats(); st.ListVersion != "2-1" || st.Rejected != 1 {
				t.Errorf("after the retired key's list: %+v; want 2-1 kept, 1 rejected", st)
			}
			// The key set is read again, even if the server republished k.
			f.with(func(f *fakeServer) { f.published = []signer{next, k}; f.retired = nil })
			if err := c.Refresh(context.Background()); !errors.Is(err, errRetiredKey) {
				t.Fatalf("Refresh once k is listed again = %v, want it still refused", err)
			}
			// The current key still works.
			f.with(func(f *fakeServer) { f.signWith = next })
			f.setList(t, listAt("4-1", 3*time.Minute))
			if err := c.Refresh(context.Background()); err != nil || c.Stats().ListVersion != "4-1" {
				t.Fatalf("Refresh signed by the current key: %v, holding %s", err, c.Stats().ListVersion)
			}
		})
	}
}
