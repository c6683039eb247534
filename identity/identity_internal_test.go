package identity

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var coherenceNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// TestPlacesTableIsWellFormed checks each row on its own: a real time zone,
// a two-letter state, a five-digit ZIP and a NANP area code.
func TestPlacesTableIsWellFormed(t *testing.T) {
	t.Parallel()
	region := regexp.MustCompile(`^[A-Z]{2}$`)
	postal := regexp.MustCompile(`^\d{5}$`)
	area := regexp.MustCompile(`^[2-9]\d\d$`)
	seen := map[place]bool{}
	for _, p := range places {
		if seen[p] {
			t.Errorf("%+v is in the table twice (it would be drawn twice as often)", p)
		}
		seen[p] = true
		if p.city == "" || !region.MatchString(p.region) || !postal.MatchString(p.postal) || !area.MatchString(p.area) {
			t.Errorf("malformed place %+v", p)
		}
		if _, err := time.LoadLocation(p.tz); err != nil {
			t.Errorf("place %+v: time zone: %v", p, err)
		}
	}
}

// TestIdentityPlaceIsOneRowOfTheTable checks that an identity's city,
// region, postal code, phone area code and time zone all come from the same
// row of places, and that every row can be drawn.
func TestIdentityPlaceIsOneRowOfTheTable(t *testing.T) {
	t.Parallel()
	drawn := map[place]int{}
	for slot := range 5000 {
		id := Generate(Seed{Environment: "production", Role: "seller", Slot: slot}, "qa.example.test", coherenceNow)
		if len(id.Phone) != 12 {
			t.Fatalf("phone %q is not +1 and ten digits", id.Phone)
		}
		got := place{city: id.Address.City, region: id.Address.Region, postal: id.Address.PostalCode, area: id.Phone[2:5], tz: id.TimeZone}
		found := false
		for _, p := range places {
			if p == got {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("identity of slot %d mixes rows of the places table: %+v", slot, got)
		}
		drawn[got]++
	}
	for _, p := range places {
		if drawn[p] == 0 {
			t.Errorf("%+v was never drawn in 5000 identities", p)
		}
	}
}

// TestEveryStreetPartCanBeDrawn guards the bounds of the street draws (an
// off-by-one would leave the last name or type out) and the house numbers.
func TestEveryStreetPartCanBeDrawn(t *testing.T) {
	t.Parallel()
	names, types := map[string]bool{}, map[string]bool{}
	for slot := range 5000 {
		street := Generate(Seed{Environment: "staging", Role: "admin", Slot: slot}, "x.test", coherenceNow).Address.Street
		parts := strings.Fields(street)
		if len(parts) != 3 {
			t.Fatalf("street %q is not number, name, type", street)
		}
		if n, err := strconv.Atoi(parts[0]); err != nil || n < 1 || n > 9899 {
			t.Errorf("street %q: house number not in 1..9899", street)
		}
		names[parts[1]], types[parts[2]] = true, true
	}
	if want := sliceSet(streetNames); !maps.Equal(names, want) {
		t.Errorf("street names drawn: %v; want all of %v", slices.Sorted(maps.Keys(names)), streetNames)
	}
	if want := sliceSet(streetTypes); !maps.Equal(types, want) {
		t.Errorf("street types drawn: %v; want all of %v", slices.Sorted(maps.Keys(types)), streetTypes)
	}
}

func sliceSet(s []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range s {
		m[v] = true
	}
	return m
}
