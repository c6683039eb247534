package identity

import (
	"crypto/rand"
	"math/big"
)

// Password classes: a generated password has at least one of each, so it
// satisfies the usual policies (length, upper, lower, digit, symbol).
const (
	lowerChars  = "abcdefghijkmnopqrstuvwxyz"
	upperChars  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	digitChars  = "23456789"
	symbolChars = "!#%+-=?@^_"
	// PasswordLength is the length of generated passwords.
	PasswordLength = 24
)

// NewPassword returns a random password from crypto/rand (never from the
// identity seed) with at least one lower-case letter, upper-case letter,
// digit and symbol.
func NewPassword() string {
	all := lowerChars + upperChars + digitChars + symbolChars
	b := []byte{pick(lowerChars), pick(upperChars), pick(digitChars), pick(symbolChars)}
	for len(b) < PasswordLength {
		b = append(b, pick(all))
	}
	for i := len(b) - 1; i > 0; i-- { // Fisher-Yates, so the classes are not in fixed places
		j := randInt(i + 1)
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func pick(set string) byte { return set[randInt(len(set))] }

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return int(v.Int64())
}
