package client

import (
	"encoding/json"
	"os"
	"testing"
)

// spellingTable is testdata/spellings.json: the one table of spellings
// that the server's check (package isolation) and this client are both
// tested against.
type spellingTable struct {
	Listed    []string `json:"listed"`
	Spellings []struct {
		Name      string `json:"name"`
		Subject   string `json:"subject"`
		Synthetic bool   `json:"synthetic"`
	} `json:"spellings"`
}

func readSpellings(t *testing.T) spellingTable {
	t.Helper()
	b, err := os.ReadFile("testdata/spellings.json")
	if err != nil {
		t.Fatal(err)
	}
	var st spellingTable
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Listed) == 0 || len(st.Spellings) < 20 {
		t.Fatalf("spellings.json has %d listed and %d spellings", len(st.Listed), len(st.Spellings))
	}
	return st
}

// TestClientMatchesEverySpelling checks the client against the shared
// table: a spelling of a listed identifier is hidden from a real viewer,
// and also when the viewer is that same spelling's account seen through
// another spelling, it is itself.
func TestClientMatchesEverySpelling(t *testing.T) {
	t.Parallel()
	st := readSpellings(t)
	f := newFakeServer(t)
	l := smallList("1-1")
	l.Identities = []wireIdentity{{IDs: st.Listed, Role: "buyer", Policy: buyerPolicy}}
	f.setList(t, l)
	c := started(t, f, nil)
	for _, sp := range st.Spellings {
		visible, reason := c.Decide("real-viewer", "leaderboards", sp.Subject)
		want, wantReason := !sp.Synthetic, ReasonNotSynthetic
		if sp.Synthetic {
			wantReason = ReasonHidden
		}
		if visible != want || reason != wantReason {
			t.Errorf("%s: Decide(%q) = %v, %s; want %v, %s", sp.Name, sp.Subject, visible, reason, want, wantReason)
		}
		if got := c.Synthetic(sp.Subject); got != sp.Synthetic {
			t.Errorf("%s: Synthetic(%q) = %v, want %v", sp.Name, sp.Subject, got, sp.Synthetic)
		}
		if sp.Synthetic {
			// The account sees itself under any of its spellings.
			if ok, reason := c.Decide(sp.Subject, "leaderboards", st.Listed[0]); !ok || reason != ReasonSelf {
				t.Errorf("%s: viewer %q on its own account = %v, %s; want self", sp.Name, sp.Subject, ok, reason)
			}
		}
	}
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Gia+Promo@QA.Example.Test":            "gia@qa.example.test",
		" gia@qa.example.test\n":               "gia@qa.example.test",
		"Zoe\u0308@x.test":                     "zo\u00eb@x.test",
		"chirp:Zoe\u0308":                      "chirp:Zo\u00eb",
		"chirp:ABC":                            "chirp:ABC",
		"4F1C2A9E-6B3D-4E8F-9A71-0C5D2B7E8F10": "4f1c2a9e-6b3d-4e8f-9a71-0c5d2b7e8f10",
		"+tag@x.test":                          "+tag@x.test",
		"gia@":                                 "gia@",
		"@x.test":                              "@x.test",
		"":                                     "",
		"a@b@C.test":                           "a@b@c.test",
		"\u0130STANBUL@x.test":                 "istanbul@x.test",
		"user_1":                               "user_1",
	} {
		got := Canonical(in)
		if got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
		if again := Canonical(got); again != got {
			t.Errorf("Canonical(Canonical(%q)) = %q, want %q", in, again, got)
		}
	}
}

// TestCanonicalOfCanonicalDoesNotAllocate keeps the lookup of a subject
// not on the list cheap: it is not parallel, as AllocsPerRun requires.
func TestCanonicalOfCanonicalDoesNotAllocate(t *testing.T) {
	for _, id := range []string{"gia@qa.example.test", "user_1", "chirp:42", "4f1c2a9e-6b3d-4e8f-9a71-0c5d2b7e8f10"} {
		if n := testing.AllocsPerRun(100, func() { _ = Canonical(id) }); n != 0 {
			t.Errorf("Canonical(%q) allocates %v times, want 0", id, n)
		}
	}
}
