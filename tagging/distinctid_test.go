package tagging_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

// badDistinctIDs are rules that could name someone other than the account.
var badDistinctIDs = []string{
	"realcustomer@example.com",
	`{{"realcustomer@example.com"}}`,
	`realcustomer@example.com{{.AccountID}}`,
	`{{.AccountID}}@example.com`,
	`{{"00000000-0000-0000-0000-000000000001"}}`,
	`{{printf "%s" .Email}}`,
	`{{.Email | printf "%s"}}`,
	`{{if .Email}}realcustomer{{end}}`,
	`{{with .Email}}{{.}}{{end}}`,
	`{{range .Refs}}{{.}}{{end}}`,
	`{{$x := "someone"}}{{$x}}{{.Email}}`,
	`{{.AccountID}}{{.AccountID}}`,
	`{{.}}`,
	`{{.Refs}}`,
	`{{index .Refs .Email}}`,
	`{{index .Refs "Chirp App"}}`,
	`{{.Email.Missing}}`,
	`{{.Missing}}`,
	`{{/* nothing */}}`,
	`a-real-customer-named-in-a-long-prefix{{.AccountID}}`,
	`with space {{.Email}}`,
	`{{template "x"}}{{.Email}}`,
	`{{.Email`,
}

func TestDistinctIDThatCouldNameSomeoneElseIsRefused(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	ds := destinations(t, f, nil)
	ok := tagging.DestinationChange{Kind: new("posthog")}
	for _, bad := range badDistinctIDs {
		if _, err := tagging.ParseDistinctID(bad); err == nil {
			t.Errorf("ParseDistinctID(%q) accepted it", bad)
		}
		c := ok
		c.DistinctID = new(bad)
		for what, err := range map[string]error{
			"attach": func() error { _, err := ds.Attach(f.Ctx, "production", "ph", c); return err }(),
			"check":  ds.Check("production", "ph", c),
		} {
			e := domaintest.WantCode(t, err, understudy.EINVALID)
			i := slices.IndexFunc(e.Fields, func(fe understudy.FieldError) bool { return fe.Field == "distinct_id" })
			if i < 0 || e.Fields[i].Detail == "" {
				t.Errorf("%s of %q: fields %+v, want distinct_id and why", what, bad, e.Fields)
			}
		}
	}
}

func TestDistinctIDUpdateRefusesATemplateOfAnotherIdentity(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)
	if _, err := ds.Attach(f.Ctx, "production", "ph", posthogChange(ph, ph.ProjectToken())); err != nil {
		t.Fatal(err)
	}
	_, err := ds.Update(f.Ctx, "production", "ph", tagging.DestinationChange{DistinctID: new(`{{"realcustomer@example.com"}}`)})
	if got := fieldsOf(t, err); !slices.Equal(got, []string{"distinct_id"}) {
		t.Fatalf("update: fields %v", got)
	}
	if d, _ := ds.Get(f.Ctx, "production", "ph"); d.DistinctID != tagging.DistinctEmail {
		t.Fatalf("the refused rule was stored: %q", d.DistinctID)
	}
}

// templatePiece is one piece a random template is made of, and whether
// the grammar allows it (field names the account field it reads).
type templatePiece struct {
	text  string
	field string // "" for text
	ok    bool
}

var (
	fieldPieces = []templatePiece{{"{{.AccountID}}", "AccountID", true}, {"{{.Email}}", "Email", true},
		{"{{.Username}}", "Username", true}, {`{{index .Refs "chirp"}}`, "chirp", true}, {`{{ index .Refs "shop" }}`, "shop", true}}
	textPieces = []templatePiece{{"user-", "", true}, {":", "", true}, {"_", "", true}, {"env.prod.", "", true}, {"X", "", true}}
	badPieces  = []templatePiece{{"@", "", false}, {"@example.com", "", false}, {" ", "", false}, {`{{"someone"}}`, "", false},
		{`{{printf "%s" .Email}}`, "", false}, {"{{if .Email}}x{{end}}", "", false}, {`{{$v := .Email}}`, "", false},
		{"{{.Refs}}", "", false}, {"{{len .Email}}", "", false}, {"{{.Nope}}", "", false}, {"+", "", false}}
)

// randomTemplate makes a template of 1 to 5 pieces and says whether the
// grammar allows it: only allowed pieces, at least one field and no field
// twice, at most MaxDistinctIDLiteral characters of text.
func randomTemplate(r *rand.Rand) (string, bool) {
	var b strings.Builder
	valid, fields, literal := true, map[string]bool{}, 0
	for range 1 + r.IntN(5) {
		var p templatePiece
		switch x := r.IntN(10); {
		case x < 5:
			p = fieldPieces[r.IntN(len(fieldPieces))]
		case x < 9:
			p = textPieces[r.IntN(len(textPieces))]
		default:
			p = badPieces[r.IntN(len(badPieces))]
		}
		if p.field != "" {
			valid = valid && !fields[p.field]
			fields[p.field] = true
		} else if p.ok {
			literal += len(p.text)
		}
		valid = valid && p.ok
		b.WriteString(p.text)
	}
	s := b.String()
	if !strings.Contains(s, "{{") {
		return s, false // not a template: a literal, refused unless a named rule
	}
	return s, valid && len(fields) > 0 && literal <= tagging.MaxDistinctIDLiteral
}

// randomPerson is an account of environment env, sometimes without a ref.
func randomPerson(r *rand.Rand, env string, n int) tagging.Person {
	p := tagging.Person{AccountID: fmt.Sprintf("%08x-0000-4000-8000-%012x", r.Uint32(), n),
		Email: fmt.Sprintf("%s-%d@%s.example.test", env, n, env), Username: fmt.Sprintf("%s_user_%d", env, n), Refs: map[string]string{}}
	if r.IntN(4) > 0 {
		p.Refs["chirp"] = fmt.Sprintf("%s-chirp-%d", env, n)
	}
	if r.IntN(4) > 0 {
		p.Refs["shop"] = fmt.Sprintf("%s-shop-%d", env, n)
	}
	return p
}

func ownValues(p tagging.Person) []string {
	out := []string{p.AccountID, p.Email, p.Username}
	for _, v := range p.Refs {
		out = append(out, v)
	}
	return out
}

// TestDistinctIDPropertyEveryIDIsTheAccountsOwn: for random templates,
// valid and not, and random accounts of two environments, a template is
// accepted exactly when the grammar allows it, and every id an accepted
// one gives holds one of that account's own identifiers and is none of the
// other environment's.
func TestDistinctIDPropertyEveryIDIsTheAccountsOwn(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(14, 2026))
	var accepted, refused int
	for range 3000 {
		tmpl, valid := randomTemplate(r)
		rule, err := tagging.ParseDistinctID(tmpl)
		if (err == nil) != valid {
			t.Fatalf("ParseDistinctID(%q): error %v, want valid %v", tmpl, err, valid)
		}
		if err != nil {
			refused++
			continue
		}
		accepted++
		envs := map[string][]tagging.Person{}
		for _, env := range []string{"prod", "staging"} {
			for n := range 1 + r.IntN(4) {
				envs[env] = append(envs[env], randomPerson(r, env, n))
			}
		}
		for env, people := range envs {
			var others []string
			for e, ps := range envs {
				if e != env {
					for _, o := range ps {
						others = append(others, ownValues(o)...)
					}
				}
			}
			for _, p := range people {
				id, err := rule.Of(p)
				if err != nil {
					t.Fatalf("%q on %+v: %v", tmpl, p, err)
				}
				if id == "" {
					continue
				}
				if !slices.ContainsFunc(ownValues(p), func(v string) bool { return strings.Contains(id, v) }) || slices.Contains(others, id) {
					t.Fatalf("%q gives %q for account %s of %s: not one of its own identifiers", tmpl, id, p.AccountID, env)
				}
			}
		}
	}
	if accepted < 300 || refused < 300 {
		t.Fatalf("the generator is lopsided: %d accepted, %d refused", accepted, refused)
	}
}

// TestEveryListedDistinctIDIsASyntheticAccounts: with destinations of
// random accepted templates, every entry of the exclusion list belongs to
// an account on it and holds one of that account's own identifiers.
func TestEveryListedDistinctIDIsASyntheticAccounts(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 3)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)
	r := rand.New(rand.NewPCG(14, 1))
	for n := 0; n < 4; {
		tmpl, valid := randomTemplate(r)
		if !valid {
			continue
		}
		c := posthogChange(ph, ph.ProjectToken())
		c.DistinctID = new(tmpl)
		if _, err := ds.Attach(f.Ctx, "production", fmt.Sprintf("ph%d", n), c); err != nil {
			t.Fatalf("%q: %v", tmpl, err)
		}
		n++
	}
	own := map[string][]string{} // account id → its identifiers (not distinct ids)
	var listed []tagging.Entry
	err := tagging.NewExclusions(f.DB, nil).Stream(f.Ctx, "production", 0, func(tagging.List) error { return nil }, func(e tagging.Entry) error {
		if e.Kind == "distinct_id" {
			listed = append(listed, e)
			return nil
		}
		v := e.Identifier
		if e.Kind == "app_ref" {
			v = strings.TrimPrefix(v, e.Source+":")
		}
		own[e.AccountID] = append(own[e.AccountID], v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) == 0 {
		t.Fatal("no destination listed a distinct id: the test checks nothing")
	}
	for _, e := range listed {
		if !slices.ContainsFunc(own[e.AccountID], func(v string) bool { return v != "" && strings.Contains(e.Identifier, v) }) {
			t.Errorf("the list holds %q (by %s), which is none of account %s's identifiers %v", e.Identifier, e.Source, e.AccountID, own[e.AccountID])
		}
	}
}
