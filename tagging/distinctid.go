package tagging

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template/parse"
)

// Distinct id rules of a destination: which identifier it knows users by.
const (
	// DistinctEmail uses the account's email. The default.
	DistinctEmail = "email"
	// DistinctAccountID uses the Understudy account id.
	DistinctAccountID = "account_id"
	// DistinctUsername uses the account's username.
	DistinctUsername = "username"
	// DistinctAppRefPrefix, followed by an app's name, uses the account's
	// ref in that app ("app_ref:chirp").
	DistinctAppRefPrefix = "app_ref:"
)

// MaxDistinctIDLiteral is the most literal text a distinct id template
// holds, all its pieces together.
const MaxDistinctIDLiteral = 32

// Person is what a distinct id template sees of an account:
// {{.AccountID}}, {{.Email}}, {{.Username}} and {{index .Refs "chirp"}}.
type Person struct {
	AccountID string
	Email     string
	Username  string
	// Refs are the account's refs, by app name.
	Refs map[string]string
}

var (
	appNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	// literalRE is the literal text a template may hold: separators and
	// prefixes, never an email (no '@') nor spaces.
	literalRE = regexp.MustCompile(`^[A-Za-z0-9_:.-]*$`)
)

// DistinctIDRule maps an account to the id one destination knows it by.
type DistinctIDRule struct {
	rule string
	app  string
	// parts are a template's pieces in order: literal text, or a field of
	// the account (field set).
	parts []distinctPart
}

// distinctPart is a piece of a template: lit, or the account's field
// (AccountID, Email, Username, or the ref in app for "Refs").
type distinctPart struct {
	lit, field, app string
}

// ParseDistinctID parses a destination's distinct_id setting. It is one of
//
//   - email (the default, for ""), account_id, username, app_ref:<app>;
//   - a template that joins the account's own fields with fixed text, such
//     as "user-{{.AccountID}}" or "{{index .Refs "chirp"}}:{{.Username}}":
//     its actions are only {{.AccountID}}, {{.Email}}, {{.Username}} and
//     {{index .Refs "<app>"}}, each at most once and at least one of them;
//     its literal text is at most MaxDistinctIDLiteral characters in all,
//     of letters, digits, '_', ':', '.' and '-' only. No pipeline,
//     function, variable, condition, range or definition.
//
// So every id a rule gives holds the account's own identifier: a rule
// can never name a real user, nor another environment's account. The
// error says what is wrong.
func ParseDistinctID(rule string) (DistinctIDRule, error) {
	switch {
	case rule == "" || rule == DistinctEmail:
		return DistinctIDRule{rule: DistinctEmail}, nil
	case rule == DistinctAccountID || rule == DistinctUsername:
		return DistinctIDRule{rule: rule}, nil
	case strings.HasPrefix(rule, DistinctAppRefPrefix):
		app := strings.TrimPrefix(rule, DistinctAppRefPrefix)
		if !appNameRE.MatchString(app) {
			return DistinctIDRule{}, fmt.Errorf("app_ref:<app> needs an app name (lower-case letters, digits or '-'), not %q", app)
		}
		return DistinctIDRule{rule: rule, app: app}, nil
	case strings.Contains(rule, "{{"):
		parts, err := parseTemplate(rule)
		if err != nil {
			return DistinctIDRule{}, err
		}
		return DistinctIDRule{rule: rule, parts: parts}, nil
	default:
		return DistinctIDRule{}, fmt.Errorf("must be email, account_id, username, app_ref:<app> or a template of the account's fields such as user-{{.AccountID}}, not %q", rule)
	}
}

// parseTemplate checks rule against the template grammar of
// ParseDistinctID and returns its pieces.
func parseTemplate(rule string) ([]distinctPart, error) {
	trees, err := parse.Parse("distinct_id", rule, "{{", "}}", map[string]any{"index": true})
	if err != nil {
		return nil, fmt.Errorf("is not a valid template: %v", err)
	}
	if len(trees) != 1 || trees["distinct_id"] == nil {
		// Never rendered, but it would let a rule carry any text.
		return nil, errors.New("holds {{define}} or {{block}}: a template is only the account's fields with text between them")
	}
	var parts []distinctPart
	seen, literal := map[string]bool{}, 0
	for _, n := range trees["distinct_id"].Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			text := string(n.Text)
			if !literalRE.MatchString(text) {
				return nil, fmt.Errorf("holds the text %q: a template's text may only be letters, digits, '_', ':', '.' or '-' (no '@', no spaces), around the account's fields", text)
			}
			if literal += len(text); literal > MaxDistinctIDLiteral {
				return nil, fmt.Errorf("holds more than %d characters of text: a template joins the account's fields with short separators or a prefix", MaxDistinctIDLiteral)
			}
			parts = append(parts, distinctPart{lit: text})
		case *parse.ActionNode:
			p, err := fieldOf(n)
			if err != nil {
				return nil, err
			}
			key := p.field + " " + p.app
			if seen[key] {
				return nil, fmt.Errorf("uses %s twice: each of the account's fields at most once", n)
			}
			seen[key] = true
			parts = append(parts, p)
		default:
			return nil, fmt.Errorf("holds %s: a template may only hold {{.AccountID}}, {{.Email}}, {{.Username}} and {{index .Refs \"<app>\"}}, with text between them", n)
		}
	}
	if len(seen) == 0 {
		return nil, errors.New("uses none of the account's fields: it needs at least one of {{.AccountID}}, {{.Email}}, {{.Username}} or {{index .Refs \"<app>\"}}")
	}
	return parts, nil
}

// fieldOf reads an action that must be {{.AccountID}}, {{.Email}},
// {{.Username}} or {{index .Refs "<app>"}}.
func fieldOf(n *parse.ActionNode) (distinctPart, error) {
	bad := fmt.Errorf("holds %s: a template's actions may only be {{.AccountID}}, {{.Email}}, {{.Username}} or {{index .Refs \"<app>\"}}", n)
	if len(n.Pipe.Decl) != 0 || len(n.Pipe.Cmds) != 1 {
		return distinctPart{}, bad
	}
	args := n.Pipe.Cmds[0].Args
	switch {
	case len(args) == 1:
		f, ok := args[0].(*parse.FieldNode)
		if ok && len(f.Ident) == 1 && slices.Contains([]string{"AccountID", "Email", "Username"}, f.Ident[0]) {
			return distinctPart{field: f.Ident[0]}, nil
		}
	case len(args) == 3:
		fn, ok1 := args[0].(*parse.IdentifierNode)
		f, ok2 := args[1].(*parse.FieldNode)
		app, ok3 := args[2].(*parse.StringNode)
		if ok1 && ok2 && ok3 && fn.Ident == "index" && len(f.Ident) == 1 && f.Ident[0] == "Refs" {
			if !appNameRE.MatchString(app.Text) {
				return distinctPart{}, fmt.Errorf("names the app %q: an app name is lower-case letters, digits or '-'", app.Text)
			}
			return distinctPart{field: "Refs", app: app.Text}, nil
		}
	}
	return distinctPart{}, bad
}

// needsRefs says whether the rule reads the account's refs.
func (r DistinctIDRule) needsRefs() bool {
	return r.app != "" || slices.ContainsFunc(r.parts, func(p distinctPart) bool { return p.field == "Refs" })
}

// String returns the rule as written.
func (r DistinctIDRule) String() string { return r.rule }

// Of returns p's distinct id under the rule, or "" when p has none (no ref
// in the app, or a field of the template that p lacks: an id is never
// made of the template's text alone).
func (r DistinctIDRule) Of(p Person) (string, error) {
	switch {
	case r.parts != nil:
		var b strings.Builder
		for _, part := range r.parts {
			v := part.lit
			switch part.field {
			case "AccountID":
				v = p.AccountID
			case "Email":
				v = p.Email
			case "Username":
				v = p.Username
			case "Refs":
				v = p.Refs[part.app]
			}
			if part.field != "" && strings.TrimSpace(v) == "" {
				return "", nil
			}
			b.WriteString(v)
		}
		return strings.TrimSpace(b.String()), nil
	case r.app != "":
		return p.Refs[r.app], nil
	case r.rule == DistinctAccountID:
		return p.AccountID, nil
	case r.rule == DistinctUsername:
		return p.Username, nil
	default:
		return p.Email, nil
	}
}
