package accounts

import (
	"slices"
	"testing"

	"github.com/understudy-dev/understudy/identity"
)

func TestSlotListNamesRuns(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		slots []int
		want  string
	}{{[]int{1}, "1"}, {[]int{1, 2, 3}, "1-3"}, {[]int{2, 4, 5, 6, 9}, "2, 4-6, 9"}, {nil, ""}} {
		if got := slotList(c.slots); got != c.want {
			t.Errorf("slotList(%v) = %q, want %q", c.slots, got, c.want)
		}
	}
}

// A slot collides when its email is taken, or was drawn by an earlier
// slot of the same fill.
func TestCollisionsFindTakenAndRepeatedEmails(t *testing.T) {
	t.Parallel()
	batch := make([]newAccount, 4)
	for i, e := range []string{"a@x.test", "b@x.test", "a@x.test", "c@x.test"} {
		batch[i].identity = identity.Identity{Email: e}
	}
	if got := collisions(batch, []string{"c@x.test"}); !slices.Equal(got, []int{2, 3}) {
		t.Errorf("collisions = %v, want [2 3]: the repeated a@ and the taken c@", got)
	}
	if got := collisions(batch[:2], nil); len(got) != 0 {
		t.Errorf("collisions of distinct free emails = %v, want none", got)
	}
}
