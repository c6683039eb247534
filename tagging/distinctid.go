package tagging

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"text/template"
)

// Distinct id rules of a destination: which identifier it knows users by.
const (
	// DistinctEmail uses the account's email. The default.
	DistinctEmail = "email"
	// DistinctAccountID uses the Understudy account id.
	DistinctAccountID = "account_id"
	// DistinctAppRefPrefix, followed by an app's name, uses the account's
	// ref in that app ("app_ref:chirp").
	DistinctAppRefPrefix = "app_ref:"
)

// Person is what a distinct id template sees of an account:
// {{.AccountID}}, {{.Email}}, {{.Username}} and {{index .Refs "chirp"}}.
type Person struct {
	AccountID string
	Email     string
	Username  string
	// Refs are the account's refs, by app name.
	Refs map[string]string
}

var appNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// DistinctIDRule maps an account to the id one destination knows it by.
type DistinctIDRule struct {
	rule string
	app  string
	tmpl *template.Template
}

// ParseDistinctID parses a destination's distinct_id setting: email (the
// default, for ""), account_id, app_ref:<app>, or a text/template over
// Person such as "user-{{.AccountID}}". The error says what is wrong.
func ParseDistinctID(rule string) (DistinctIDRule, error) {
	switch {
	case rule == "" || rule == DistinctEmail:
		return DistinctIDRule{rule: DistinctEmail}, nil
	case rule == DistinctAccountID:
		return DistinctIDRule{rule: rule}, nil
	case strings.HasPrefix(rule, DistinctAppRefPrefix):
		app := strings.TrimPrefix(rule, DistinctAppRefPrefix)
		if !appNameRE.MatchString(app) {
			return DistinctIDRule{}, fmt.Errorf("app_ref:<app> needs an app name (lower-case letters, digits or '-'), not %q", app)
		}
		return DistinctIDRule{rule: rule, app: app}, nil
	case strings.Contains(rule, "{{"):
		t, err := template.New("distinct_id").Option("missingkey=zero").Parse(rule)
		if err != nil {
			return DistinctIDRule{}, fmt.Errorf("is not a valid template: %v", err)
		}
		sample := Person{AccountID: "00000000-0000-0000-0000-000000000000", Email: "user@example.test", Username: "user", Refs: map[string]string{}}
		if err := t.Execute(&bytes.Buffer{}, sample); err != nil {
			return DistinctIDRule{}, fmt.Errorf("the template fails on an account: %v", err)
		}
		return DistinctIDRule{rule: rule, tmpl: t}, nil
	default:
		return DistinctIDRule{}, fmt.Errorf("must be email, account_id, app_ref:<app> or a template such as user-{{.AccountID}}, not %q", rule)
	}
}

// needsRefs says whether the rule reads the account's refs.
func (r DistinctIDRule) needsRefs() bool { return r.tmpl != nil || r.app != "" }

// String returns the rule as written.
func (r DistinctIDRule) String() string { return r.rule }

// Of returns p's distinct id under the rule, or "" when p has none (no ref
// in the app, or a template that renders empty).
func (r DistinctIDRule) Of(p Person) (string, error) {
	switch {
	case r.tmpl != nil:
		var b bytes.Buffer
		if err := r.tmpl.Execute(&b, p); err != nil {
			return "", fmt.Errorf("distinct id template of account %s: %w", p.AccountID, err)
		}
		return strings.TrimSpace(b.String()), nil
	case r.app != "":
		return p.Refs[r.app], nil
	case r.rule == DistinctAccountID:
		return p.AccountID, nil
	default:
		return p.Email, nil
	}
}
