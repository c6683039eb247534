package spec

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
)

var (
	workspaceRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	labelRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
)

// declared is one object of a spec, checked, with its natural id.
type declared struct {
	kind, address, id, env string
	preventDestroy         bool
	environment            *Environment
	role                   *Role
	app                    *App
	destination            *Destination
	flow                   *Flow
}

// problems gathers what is wrong with a spec, as field errors named
// "<address>.<attribute>", so every error is reported at once.
type problems struct{ fields []understudy.FieldError }

func (p *problems) add(field, format string, args ...any) {
	p.fields = append(p.fields, understudy.FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// addErr adds the field errors of a domain check of the object at
// address; an error that is not EINVALID is returned as it is.
func (p *problems) addErr(address string, err error) error {
	if err == nil {
		return nil
	}
	e, ok := errors.AsType[*understudy.Error](err)
	if !ok || e.Code != understudy.EINVALID {
		return err
	}
	if len(e.Fields) == 0 {
		p.add(address, "%s", e.Message)
	}
	for _, f := range e.Fields {
		p.fields = append(p.fields, attributeError(address, f))
	}
	return nil
}

// attributeError names a domain field error after the spec's attribute:
// email_domains[0] becomes <address>.email_domains with the index kept in
// the detail, isolation_policy[feed] becomes <address>.isolation_policy.feed.
func attributeError(address string, f understudy.FieldError) understudy.FieldError {
	name, rest, indexed := strings.Cut(f.Field, "[")
	detail := f.Detail
	if indexed {
		inner := strings.TrimSuffix(rest, "]")
		if _, err := fmt.Sscan(inner, new(int)); err == nil {
			detail = f.Field + ": " + detail
		} else {
			name += "." + inner
		}
	}
	return understudy.FieldError{Field: address + "." + name, Detail: detail}
}

func (p *problems) err() error {
	if len(p.fields) == 0 {
		return nil
	}
	return understudy.Invalid("the spec is invalid", p.fields...)
}

// declare checks the shape of d (addresses, names, references between
// environments) and returns its objects in dependency order.
func declare(d Desired, p *problems) []declared {
	var out []declared
	seen := map[string]bool{}
	ids := map[key]string{}
	add := func(x declared, name string) {
		checkAddress(x.kind, x.address, p)
		if seen[x.address] {
			p.add(x.address, "%s is declared twice", x.address)
		}
		seen[x.address] = true
		if name == "" {
			p.add(x.address+".name", "is required")
		}
		k := key{x.kind, x.id}
		if other, dup := ids[k]; dup {
			p.add(x.address+".name", "%s and %s both declare %s", other, x.address, k)
		}
		ids[k] = x.address
		out = append(out, x)
	}
	for i := range d.Environments {
		e := &d.Environments[i]
		add(declared{kind: KindEnvironment, address: e.Address, id: e.Name, env: e.Name, preventDestroy: e.Lifecycle.PreventDestroy, environment: e}, e.Name)
	}
	for i := range d.Apps {
		a := &d.Apps[i]
		add(declared{kind: KindApp, address: a.Address, id: objectID(a.Environment, a.Name), env: a.Environment, preventDestroy: a.Lifecycle.PreventDestroy, app: a}, a.Name)
	}
	for i := range d.Roles {
		r := &d.Roles[i]
		add(declared{kind: KindRole, address: r.Address, id: objectID(r.Environment, r.Name), env: r.Environment, preventDestroy: r.Lifecycle.PreventDestroy, role: r}, r.Name)
	}
	for i := range d.Destinations {
		x := &d.Destinations[i]
		add(declared{kind: KindDestination, address: x.Address, id: objectID(x.Environment, x.Name), env: x.Environment, preventDestroy: x.Lifecycle.PreventDestroy, destination: x}, x.Name)
	}
	for i := range d.Flows {
		x := &d.Flows[i]
		add(declared{kind: KindFlow, address: x.Address, id: objectID(x.Environment, x.Name), env: x.Environment, preventDestroy: x.Lifecycle.PreventDestroy, flow: x}, x.Name)
	}
	for _, x := range out {
		if x.kind != KindEnvironment && x.env == "" {
			p.add(x.address+".environment", "is required")
		}
	}
	for _, r := range d.Removed {
		checkAddress("", r.From, p)
		if seen[r.From] {
			p.add(r.From, "%s is both declared and in a removed block; remove one of them", r.From)
		}
	}
	movedFrom := map[string]bool{}
	for _, m := range d.Moved {
		movedFrom[m.From] = true
	}
	movedTwice := map[string]bool{}
	for _, m := range d.Moved {
		field := "moved." + m.From
		checkAddress("", m.From, p)
		checkAddress("", m.To, p)
		switch fk, tk := addressKind(m.From), addressKind(m.To); {
		case fk != tk:
			p.add(field, "moved from %s to %s: an object keeps its kind", m.From, m.To)
		case m.From == m.To:
			p.add(field, "moved from %s to itself", m.From)
		case seen[m.From]:
			p.add(field, "%s is both declared and moved from; a moved block's from is the old address, which no block declares any more", m.From)
		case !seen[m.To] && !movedFrom[m.To]:
			p.add(field, "moved to %s: no block declares that address, and no moved block moves it on", m.To)
		case movedTwice[m.From]:
			p.add(field, "%s is moved twice", m.From)
		}
		movedTwice[m.From] = true
	}
	for _, im := range d.Imports {
		if !seen[im.To] {
			p.add("import."+im.To, "import to %s: no block declares that address", im.To)
		}
	}
	return out
}

// checkAddress checks that address is "<kind>.<label>", or
// "<kind>.<label>[\"key\"]" for an instance of a block with for_each, of
// kind when kind is not empty.
func checkAddress(kind, address string, p *problems) {
	k, label, ok := strings.Cut(address, ".")
	if i := strings.IndexByte(label, '['); i >= 0 && strings.HasSuffix(label, "]") {
		if _, err := strconv.Unquote(label[i+1 : len(label)-1]); err == nil && label[i+1] == '"' {
			label = label[:i]
		}
	}
	switch {
	case !ok || !labelRE.MatchString(label):
		p.add(address, "%q is not an address of the form <kind>.<label> or <kind>.<label>[\"key\"]", address)
	case kind != "" && k != kind:
		p.add(address, "the address of a %s must start with %q", kind, kind+".")
	case kind == "" && !isKind(k):
		p.add(address, "%q is not a kind of object (environment, app, role, destination, flow)", k)
	}
}

// addressKind returns the kind an address starts with.
func addressKind(address string) string {
	k, _, _ := strings.Cut(address, ".")
	return k
}

func isKind(k string) bool { return slices.Contains(Kinds, k) }

// kindOrder is the rank of kind in dependency order.
func kindOrder(kind string) int { return slices.Index(Kinds, kind) }

// environmentOf returns the environment an object of d lives in: the
// spec's when it declares it, else the server's.
func environmentOf(name string, d []declared, st *state) (accounts.Environment, bool) {
	for _, x := range d {
		if x.kind == KindEnvironment && x.id == name {
			return accounts.Environment{Name: name, EmailDomains: x.environment.EmailDomains, CustomSurfaces: orEmpty(x.environment.CustomSurfaces)}, true
		}
	}
	e, ok := st.envs[name]
	return e, ok
}
