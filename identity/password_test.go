package identity_test

import (
	"math"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/identity"
)

// The character classes of a generated password, as the policy states them:
// look-alikes (l, I, O, 0, 1) are left out.
var passwordClasses = []struct{ name, chars string }{
	{"lower", "abcdefghijkmnopqrstuvwxyz"},
	{"upper", "ABCDEFGHJKLMNPQRSTUVWXYZ"},
	{"digit", "23456789"},
	{"symbol", "!#%+-=?@^_"},
}

func classOf(c rune) string {
	for _, cl := range passwordClasses {
		if strings.ContainsRune(cl.chars, c) {
			return cl.name
		}
	}
	return ""
}

func TestNewPasswordFollowsThePolicy(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	// byPosition[i] holds the classes seen at position i: the shuffle must
	// move every class everywhere (without it, positions 0-3 would be fixed).
	byPosition := make([]map[string]bool, identity.PasswordLength)
	for i := range byPosition {
		byPosition[i] = map[string]bool{}
	}
	for range 1000 {
		p := identity.NewPassword()
		if len(p) != identity.PasswordLength {
			t.Fatalf("password %q is %d bytes, want %d", p, len(p), identity.PasswordLength)
		}
		counts := map[string]int{}
		for i, c := range p {
			cl := classOf(c)
			if cl == "" {
				t.Fatalf("password %q has %q, which is in no allowed set", p, c)
			}
			counts[cl]++
			byPosition[i][cl] = true
		}
		for _, cl := range passwordClasses {
			if counts[cl.name] == 0 {
				t.Errorf("password %q has no %s character", p, cl.name)
			}
		}
		if seen[p] {
			t.Fatalf("password %q generated twice", p)
		}
		seen[p] = true
	}
	for i, classes := range byPosition {
		if len(classes) != len(passwordClasses) {
			t.Errorf("position %d only ever held %v in 1000 passwords", i, classes)
		}
	}
}

// TestNewPasswordUsesEveryCharacter guards against a generator that draws
// from part of a set (an off-by-one would drop its last character).
func TestNewPasswordUsesEveryCharacter(t *testing.T) {
	t.Parallel()
	used := map[rune]bool{}
	for range 1000 {
		for _, c := range identity.NewPassword() {
			used[c] = true
		}
	}
	for _, cl := range passwordClasses {
		for _, c := range cl.chars {
			if !used[c] {
				t.Errorf("%s character %q never used in 24,000 characters", cl.name, c)
			}
		}
	}
}

// TestPasswordLengthGivesEnoughEntropy keeps PasswordLength from shrinking
// below 128 bits of entropy over the 67 allowed characters.
func TestPasswordLengthGivesEnoughEntropy(t *testing.T) {
	t.Parallel()
	n := 0
	for _, cl := range passwordClasses {
		n += len(cl.chars)
	}
	if bits := float64(identity.PasswordLength) * math.Log2(float64(n)); bits < 128 {
		t.Errorf("%d characters from %d give %.0f bits, want at least 128", identity.PasswordLength, n, bits)
	}
}
