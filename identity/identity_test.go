package identity_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/understudy-dev/understudy/identity"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/ from the current output")

// goldenNow is the fixed clock of the golden identities (birth dates are
// relative to it).
var goldenNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const goldenDomain = "qa.example.test"

// Shapes every generated identity has. The suffix alphabet is the one of
// accounts' base32 encoding: lower-case letters without l and o, digits 2-9.
var (
	suffixRE   = `[a-km-np-z2-9]{6}`
	localRE    = regexp.MustCompile(`^[a-z]+\.[a-z]+\.(` + suffixRE + `)$`)
	usernameRE = regexp.MustCompile(`^[a-z_]+_(` + suffixRE + `)$`)
	// 555-0100 to 555-0199 are reserved for fiction by the NANP.
	phoneRE  = regexp.MustCompile(`^\+1[2-9]\d{2}5550(1\d\d)$`)
	streetRE = regexp.MustCompile(`^[1-9]\d{0,3} [A-Z][a-z]+ [A-Z][a-z]+$`)
)

// goldenSeeds are the seeds of testdata/identities.golden.json, in its order.
func goldenSeeds() []identity.Seed {
	var seeds []identity.Seed
	for _, env := range []string{"production", "staging"} {
		for _, role := range []string{"admin", "buyer", "seller"} {
			for slot := 1; slot <= 3; slot++ {
				seeds = append(seeds, identity.Seed{Environment: env, Role: role, Slot: slot})
			}
			seeds = append(seeds, identity.Seed{Environment: env, Role: role, Slot: 1, Generation: 1})
		}
	}
	return seeds
}

// TestIdentityGolden pins the identities that known seeds generate.
//
// gofakeit changes its output between minor versions (its name lists and the
// way it draws from the random source), so the version is pinned in go.mod.
// Identities are stored when an account is created and never regenerated, so
// an upgrade does not change existing accounts; it changes the identities of
// accounts created afterwards. This test makes such an upgrade (or a change to
// the places table or to Generate) visible in review: if the change
// is intended, rewrite the file with
//
//	go test ./identity -run TestIdentityGolden -update
//
// and commit it with the upgrade.
func TestIdentityGolden(t *testing.T) {
	t.Parallel()
	seeds := goldenSeeds()
	got := make([]identity.Identity, len(seeds))
	for i, s := range seeds {
		got[i] = identity.Generate(s, goldenDomain, goldenNow)
	}
	path := filepath.Join("testdata", "identities.golden.json")
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s with %d identities", path, len(got))
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the golden file (run with -update to create it): %v", err)
	}
	var want []identity.Identity
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	// Compare what was decoded, so that both sides went through the same JSON
	// round trip (and the file's formatting does not matter).
	gotJSON, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var gotDecoded []identity.Identity
	if err := json.Unmarshal(gotJSON, &gotDecoded); err != nil {
		t.Fatal(err)
	}
	if len(gotDecoded) != len(want) {
		t.Fatalf("%d identities generated, %s holds %d (run with -update if the seed list changed on purpose)", len(gotDecoded), path, len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(gotDecoded[i], want[i]) {
			t.Fatalf("identity %d (seed %+v) differs from %s; if gofakeit or the generator changed on purpose, run with -update.\n%s",
				i, seeds[i], path, identityDiff(gotDecoded[i], want[i]))
		}
	}
}

// identityDiff lists the JSON fields of got and want that differ.
func identityDiff(got, want identity.Identity) string {
	flat := func(id identity.Identity) map[string]string {
		m := map[string]string{}
		var walk func(prefix string, v any)
		walk = func(prefix string, v any) {
			if obj, ok := v.(map[string]any); ok {
				for k, child := range obj {
					walk(prefix+k+".", child)
				}
				return
			}
			m[strings.TrimSuffix(prefix, ".")] = fmt.Sprint(v)
		}
		b, _ := json.Marshal(id)
		var v any
		_ = json.Unmarshal(b, &v)
		walk("", v)
		return m
	}
	g, w := flat(got), flat(want)
	var out bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(w)) {
		if g[k] != w[k] {
			fmt.Fprintf(&out, "  %s: got %q, want %q\n", k, g[k], w[k])
		}
	}
	return out.String()
}

// seedGen draws any seed, including odd environment and role names.
func seedGen() *rapid.Generator[identity.Seed] {
	return rapid.Custom(func(t *rapid.T) identity.Seed {
		return identity.Seed{
			Environment: rapid.OneOf(rapid.SampledFrom([]string{"production", "staging", "dev"}), rapid.String()).Draw(t, "environment"),
			Role:        rapid.OneOf(rapid.SampledFrom([]string{"admin", "buyer", "seller"}), rapid.String()).Draw(t, "role"),
			Slot:        rapid.Int().Draw(t, "slot"),
			Generation:  rapid.Int().Draw(t, "generation"),
		}
	})
}

// checkIdentity reports every way id breaks the shape an identity must have
// at domain.
func checkIdentity(t interface {
	Helper()
	Errorf(string, ...any)
}, id identity.Identity, domain string) {
	t.Helper()
	at := "@" + strings.ToLower(domain)
	local, ok := strings.CutSuffix(id.Email, at)
	if !ok {
		t.Errorf("email %q does not end with %q", id.Email, at)
	}
	lm := localRE.FindStringSubmatch(local)
	if lm == nil {
		t.Errorf("email local part %q does not match %s", local, localRE)
	}
	um := usernameRE.FindStringSubmatch(id.Username)
	if um == nil {
		t.Errorf("username %q does not match %s", id.Username, usernameRE)
	}
	if len(id.Username) > 30 {
		t.Errorf("username %q is %d characters, more than 30", id.Username, len(id.Username))
	}
	if lm != nil && um != nil && lm[1] != um[1] {
		t.Errorf("email %q and username %q have different suffixes", id.Email, id.Username)
	}
	if !phoneRE.MatchString(id.Phone) {
		t.Errorf("phone %q is not in the fictional range +1 NXX 555-0100…0199", id.Phone)
	}
	if _, err := time.Parse(time.DateOnly, id.BirthDate); err != nil {
		t.Errorf("birth date %q: %v", id.BirthDate, err)
	}
	if !streetRE.MatchString(id.Address.Street) {
		t.Errorf("street %q does not look like a US street address", id.Address.Street)
	}
	if id.DisplayName != id.GivenName+" "+id.FamilyName {
		t.Errorf("display name %q is not %q + %q", id.DisplayName, id.GivenName, id.FamilyName)
	}
	if id.Address.Country != "US" || id.Locale != "en-US" {
		t.Errorf("country %q, locale %q; want US, en-US", id.Address.Country, id.Locale)
	}
}

// ageOn returns the age in whole years of someone born on birth, on day now.
func ageOn(birth, now time.Time) int {
	age := now.Year() - birth.Year()
	if now.Month() < birth.Month() || (now.Month() == birth.Month() && now.Day() < birth.Day()) {
		age--
	}
	return age
}

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		seed := seedGen().Draw(t, "seed")
		a := identity.Generate(seed, goldenDomain, goldenNow)
		b := identity.Generate(seed, goldenDomain, goldenNow)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %+v gave two identities:\n%+v\n%+v", seed, a, b)
		}
	})
}

func TestGenerateHasTheRightShape(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		seed := seedGen().Draw(t, "seed")
		domain := rapid.SampledFrom([]string{"qa.example.test", "QA.Example.TEST", "x.y", "Mail.Example.Com"}).Draw(t, "domain")
		checkIdentity(t, identity.Generate(seed, domain, goldenNow), domain)
	})
}

func TestGenerateIsAnAdultOnNow(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		seed := seedGen().Draw(t, "seed")
		// Any instant from 1990 to 2100, in any zone: leap days included.
		now := time.Unix(rapid.Int64Range(631152000, 4102444799).Draw(t, "now"), 0).
			In(time.FixedZone("z", rapid.IntRange(-12, 14).Draw(t, "zone")*3600))
		id := identity.Generate(seed, goldenDomain, now)
		birth, err := time.Parse(time.DateOnly, id.BirthDate)
		if err != nil {
			t.Fatalf("birth date %q: %v", id.BirthDate, err)
		}
		if age := ageOn(birth, now.UTC()); age < 21 || age > 70 {
			t.Fatalf("born %s, %d years old on %s (UTC); want 21 to 70", id.BirthDate, age, now.UTC().Format(time.DateOnly))
		}
	})
}

// TestGenerateBirthDatesSpanTheAgeRange guards against a generator
// that is always 21 (or always 70): both ends of the range occur.
func TestGenerateBirthDatesSpanTheAgeRange(t *testing.T) {
	t.Parallel()
	ages := map[int]int{}
	for slot := range 5000 {
		id := identity.Generate(identity.Seed{Environment: "production", Role: "buyer", Slot: slot}, goldenDomain, goldenNow)
		birth, err := time.Parse(time.DateOnly, id.BirthDate)
		if err != nil {
			t.Fatal(err)
		}
		ages[ageOn(birth, goldenNow)]++
	}
	for age := 21; age <= 70; age++ {
		if ages[age] == 0 {
			t.Errorf("no identity of age %d in 5000", age)
		}
	}
	if len(ages) != 50 {
		t.Errorf("ages seen: %v; want exactly 21 to 70", ages)
	}
}

// TestGenerateDifferentSeedsGiveDifferentEmails varies each part of
// the seed in turn; any two seeds must give different emails (and suffixes).
func TestGenerateDifferentSeedsGiveDifferentEmails(t *testing.T) {
	t.Parallel()
	emails := map[string]identity.Seed{}
	suffixes := map[string]identity.Seed{}
	n := 0
	for _, env := range []string{"production", "staging"} {
		for _, role := range []string{"admin", "buyer", "seller", "support", "auditor"} {
			for slot := range 100 {
				for gen := range 5 {
					seed := identity.Seed{Environment: env, Role: role, Slot: slot, Generation: gen}
					id := identity.Generate(seed, goldenDomain, goldenNow)
					n++
					if prev, ok := emails[id.Email]; ok {
						t.Errorf("seeds %+v and %+v both give %s", prev, seed, id.Email)
					}
					emails[id.Email] = seed
					suffix := id.Username[len(id.Username)-identity.SuffixLength:]
					if prev, ok := suffixes[suffix]; ok {
						t.Logf("seeds %+v and %+v share the suffix %s (30 bits: rare, allowed)", prev, seed, suffix)
					}
					suffixes[suffix] = seed
				}
			}
		}
	}
	if n != 5000 || len(emails) != n {
		t.Errorf("%d distinct emails from %d seeds", len(emails), n)
	}
}

// TestGenerateSeedPartsAreSeparated checks that the seed's parts do
// not run into each other: ("ab", "c") and ("a", "bc") are different seeds,
// and so are slot 1 generation 11 and slot 11 generation 1.
func TestGenerateSeedPartsAreSeparated(t *testing.T) {
	t.Parallel()
	pairs := [][2]identity.Seed{
		{{Environment: "ab", Role: "c"}, {Environment: "a", Role: "bc"}},
		{{Environment: "a", Role: "b", Slot: 1, Generation: 11}, {Environment: "a", Role: "b", Slot: 11, Generation: 1}},
		{{Environment: "a", Role: "b", Slot: 1}, {Environment: "a", Role: "b", Slot: -1}},
	}
	for _, p := range pairs {
		a := identity.Generate(p[0], goldenDomain, goldenNow)
		b := identity.Generate(p[1], goldenDomain, goldenNow)
		if a.Email == b.Email {
			t.Errorf("seeds %+v and %+v both give %s", p[0], p[1], a.Email)
		}
	}
}

// FuzzGenerate is seeded from testdata/fuzz/FuzzGenerate and
// the f.Add calls below.
func FuzzGenerate(f *testing.F) {
	f.Add("production", "admin", 1, 0, "qa.example.test")
	f.Add("", "", 0, 0, "")
	f.Add("staging", "buyer", -1, 1<<62, "MAIL.Example.TEST")
	f.Add("é\x00", "\xff", 7, -7, "İ@ß.example")
	f.Fuzz(func(t *testing.T, env, role string, slot, gen int, domain string) {
		seed := identity.Seed{Environment: env, Role: role, Slot: slot, Generation: gen}
		a := identity.Generate(seed, domain, goldenNow)
		if b := identity.Generate(seed, domain, goldenNow); !reflect.DeepEqual(a, b) {
			t.Fatalf("not deterministic:\n%+v\n%+v", a, b)
		}
		checkIdentity(t, a, domain)
	})
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	seed := identity.Seed{Environment: "production", Role: "buyer"}
	var n int
	for b.Loop() {
		seed.Slot = n
		n++
		if id := identity.Generate(seed, goldenDomain, goldenNow); id.Email == "" {
			b.Fatal("empty email")
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "identities/s")
}
