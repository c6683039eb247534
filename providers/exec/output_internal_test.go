package exec

import (
	"strings"
	"testing"
)

func TestTailKeepsTheEnd(t *testing.T) {
	t.Parallel()
	tl := &tail{max: 8}
	for _, s := range []string{"abc", "defg", "hijkl", "m"} {
		if n, err := tl.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := string(tl.buf); got != "fghijklm" || !tl.dropped {
		t.Errorf("tail = %q (dropped %v), want \"fghijklm\" (dropped)", got, tl.dropped)
	}
	_, _ = tl.Write([]byte(strings.Repeat("z", 20) + "end"))
	if got := string(tl.buf); got != "zzzzzend" {
		t.Errorf("tail after a long write = %q, want \"zzzzzend\"", got)
	}
}

func TestCappedKeepsTheStart(t *testing.T) {
	t.Parallel()
	c := &capped{max: 5}
	for _, s := range []string{"abc", "defg", "h"} {
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if c.String() != "abcde" || !c.over {
		t.Errorf("capped = %q (over %v), want \"abcde\" (over)", c.String(), c.over)
	}
}

// TestTailNeverShowsPartOfASecret cuts stderr at every position of a
// secret: neither the whole secret nor a piece of it may show.
func TestTailNeverShowsPartOfASecret(t *testing.T) {
	t.Parallel()
	const secret = "Zq9-s3cr3t-Xw7"
	r := newRedactor(map[string]string{"DSN": secret, "SHORT": "abc"})
	const prefix = "connecting to "
	for cut := range len(prefix) + len(secret) + 1 {
		out := prefix + secret + " failed"
		tl := &tail{max: len(out) - cut}
		_, _ = tl.Write([]byte(out))
		got := tl.text(r, 1000)
		for i := 0; i+4 <= len(secret); i++ {
			if strings.Contains(got, secret[i:i+4]) {
				t.Errorf("cut %d: %q shows %q, a piece of the secret", cut, got, secret[i:i+4])
			}
		}
		if cut == 0 && got != "connecting to [secret DSN] failed" {
			t.Errorf("uncut: %q, want the secret replaced by its name", got)
		}
	}
}

func TestRedactorLongestFirst(t *testing.T) {
	t.Parallel()
	r := newRedactor(map[string]string{"PASSWORD": "hunter2x", "DSN": "postgres://u:hunter2x@db/app"})
	got := r.apply("dsn=postgres://u:hunter2x@db/app pw=hunter2x")
	if want := "dsn=[secret DSN] pw=[secret PASSWORD]"; got != want {
		t.Errorf("apply = %q, want %q", got, want)
	}
}
