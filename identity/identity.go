package identity

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/brianvoe/gofakeit/v7"
	"golang.org/x/text/unicode/norm"
)

// Identity is the realistic, coherent fake person behind an account. It is
// generated once and stored; it is never regenerated implicitly.
type Identity struct {
	GivenName   string `json:"given_name"`
	FamilyName  string `json:"family_name"`
	DisplayName string `json:"display_name"`
	Username    string `json:"username"`
	Email       string `json:"email"`
	// Phone is in E.164, in the 555-0100…555-0199 range that the North
	// American Numbering Plan reserves for fiction: it never rings anyone.
	Phone     string  `json:"phone"`
	Address   Address `json:"address"`
	BirthDate string  `json:"birth_date"` // YYYY-MM-DD, an adult's
	Locale    string  `json:"locale"`
	TimeZone  string  `json:"time_zone"`
}

// Address is a postal address whose parts agree with each other.
type Address struct {
	Street     string `json:"street"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"` // ISO 3166-1 alpha-2
}

// Seed is what an identity is derived from. The same seed always
// yields the same identity (with the same gofakeit version and the same now).
type Seed struct {
	Environment string
	Role        string
	Slot        int
	Generation  int
}

// hash hashes s into the faker's seed and the identity's unique suffix.
func (s Seed) hash() [32]byte {
	return sha256.Sum256([]byte("understudy/identity/v1\x00" + s.Environment + "\x00" + s.Role + "\x00" +
		strconv.Itoa(s.Slot) + "\x00" + strconv.Itoa(s.Generation)))
}

var suffixEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// SuffixLength is the length of the unique suffix of usernames and emails.
const SuffixLength = 6

// Generate derives the identity for seed at domain. now anchors the
// birth date (an age from 21 to 70 on that day).
func Generate(seed Seed, domain string, now time.Time) Identity {
	h := seed.hash()
	f := gofakeit.NewFaker(rand.NewPCG(binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])), false)
	suffix := suffixEncoding.EncodeToString(h[16:20])[:SuffixLength]

	given, family := f.FirstName(), f.LastName()
	g, fam := asciiName(given, "alex"), asciiName(family, "doe")
	p := places[f.IntRange(0, len(places)-1)]
	age := f.IntRange(21, 70)
	birth := now.UTC().AddDate(-age, 0, -f.IntRange(1, 364))
	local := trim(g+"."+fam, 40) + "." + suffix
	street := strconv.Itoa(f.IntRange(1, 9899)) + " " + streetNames[f.IntRange(0, len(streetNames)-1)] + " " +
		streetTypes[f.IntRange(0, len(streetTypes)-1)]

	return Identity{
		GivenName:   given,
		FamilyName:  family,
		DisplayName: given + " " + family,
		Username:    trim(g+"_"+fam, 23) + "_" + suffix,
		Email:       local + "@" + strings.ToLower(domain),
		Phone:       fmt.Sprintf("+1%s5550%03d", p.area, 100+f.IntRange(0, 99)),
		Address: Address{
			Street:     street,
			City:       p.city,
			Region:     p.region,
			PostalCode: p.postal,
			Country:    "US",
		},
		BirthDate: birth.Format(time.DateOnly),
		Locale:    "en-US",
		TimeZone:  p.tz,
	}
}

// asciiName lower-cases name and keeps its ASCII letters (accents dropped),
// for usernames and email local parts; fallback if nothing is left.
func asciiName(name, fallback string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(name) {
		r = unicode.ToLower(r)
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return fallback
	}
	return b.String()
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
