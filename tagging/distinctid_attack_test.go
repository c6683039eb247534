package tagging_test

import (
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/tagging"
)

// A template's extra definitions ({{define}}) are never rendered, but they
// let a rule carry any text, a real customer's address included, past
// the grammar: a rule is the fixed shape and nothing else.
func TestAttackDistinctIDTemplateHoldsNothingButItsShape(t *testing.T) {
	t.Parallel()
	for _, rule := range []string{
		`{{define "real.customer@example.com"}}{{end}}{{.Email}}`,
		`{{.AccountID}}{{define "x"}}real.customer@example.com{{end}}`,
	} {
		if _, err := tagging.ParseDistinctID(rule); err == nil || !strings.Contains(err.Error(), "define") {
			t.Errorf("%q: %v, want a refusal naming define", rule, err)
		}
	}
	// Comments and trim markers render nothing and change no field: allowed.
	for rule, want := range map[string]string{
		`{{- .Email -}}`:           "a@qa.example.test",
		`{{/* note */}}{{.Email}}`: "a@qa.example.test",
	} {
		r, err := tagging.ParseDistinctID(rule)
		if err != nil {
			t.Fatalf("%q: %v", rule, err)
		}
		if got, _ := r.Of(tagging.Person{Email: "a@qa.example.test"}); got != want {
			t.Errorf("%q gives %q, want %q", rule, got, want)
		}
	}
}
