package spec

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"

	"github.com/understudy-dev/understudy"
)

// targeting is what a plan's Targets and Replace ask of it, resolved to
// the spec addresses they name.
type targeting struct {
	// selected are the addresses a targeted plan plans; nil plans every
	// object.
	selected map[string]bool
	// replace are the addresses whose objects are replaced on request.
	replace map[string]bool
	// targets and replaces are the request's addresses in canonical spec
	// form, for the plan.
	targets, replaces []string
}

// has reports whether the plan plans the object at address.
func (t targeting) has(address string) bool { return t.selected == nil || t.selected[address] }

// parseAddress turns an address as a user types it, the JSON plan's
// (understudy_role.buyer, understudy_role.team["a"]) or the spec's
// (role.buyer), into the spec's canonical form (role.team["a"]).
func parseAddress(addr string) (string, error) {
	typ, rest, ok := strings.Cut(addr, ".")
	kind := strings.TrimPrefix(typ, "understudy_")
	if !ok || rest == "" {
		return "", fmt.Errorf("an address is TYPE.NAME, such as understudy_role.buyer or understudy_role.team[\"a\"]")
	}
	if !slices.Contains(Kinds, kind) {
		return "", fmt.Errorf("there is no object type %s: the types are understudy_environment, understudy_app, understudy_role, understudy_destination and understudy_flow", typ)
	}
	name, key, keyed := strings.Cut(rest, "[")
	if name == "" || strings.ContainsAny(name, ".]\"") {
		return "", fmt.Errorf("%q is not a block name", name)
	}
	if !keyed {
		return kind + "." + name, nil
	}
	raw, ok := strings.CutSuffix(key, "]")
	if !ok {
		return "", fmt.Errorf("the instance key of %s has no closing ]", addr)
	}
	k, err := strconv.Unquote(raw)
	if err != nil && json.Unmarshal([]byte(raw), &k) != nil {
		return "", fmt.Errorf("the instance key %s is not a quoted string (a for_each key is one: [\"key\"])", raw)
	}
	return kind + "." + name + "[" + strconv.Quote(k) + "]", nil
}

// canonical is address in parseAddress's form, or itself when it does
// not parse.
func canonical(address string) string {
	if c, err := parseAddress(address); err == nil {
		return c
	}
	return address
}

// resolveTargeting checks req's Targets and Replace against the objects
// the plan knows: decls (what it plans to declare) and the workspace's
// objects in st. Errors: EINVALID naming each unknown address, with the
// closest known one, and each replace that cannot be made.
func resolveTargeting(req PlanRequest, decls []declared, st *state) (targeting, error) {
	var t targeting
	if len(req.Targets) == 0 && len(req.Replace) == 0 {
		return t, nil
	}
	declaredAt := map[string]*declared{}
	for i := range decls {
		declaredAt[canonical(decls[i].address)] = &decls[i]
	}
	known := map[string]string{} // canonical -> the address the plan uses
	for _, d := range decls {
		known[canonical(d.address)] = d.address
	}
	for a := range st.mine {
		known[canonical(a)] = a
	}
	var problems []string
	unknown := 0
	resolve := func(flag, addr string) []string {
		c, err := parseAddress(addr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("-%s=%s: %v", flag, addr, err))
			return nil
		}
		if a, ok := known[c]; ok {
			return []string{a}
		}
		var instances []string
		if !strings.Contains(c, "[") {
			for k, a := range known {
				if strings.HasPrefix(k, c+"[") {
					instances = append(instances, a)
				}
			}
		}
		if len(instances) == 0 {
			var candidates []string
			if unknown++; unknown <= maxSuggested {
				candidates = slices.Collect(maps.Keys(known))
			}
			problems = append(problems, unknownAddress(flag, addr, c, candidates, st.workspace))
		}
		slices.Sort(instances)
		return instances
	}

	if len(req.Targets) > 0 {
		t.selected = map[string]bool{}
	}
	for _, addr := range req.Targets {
		for _, a := range resolve("target", addr) {
			if !slices.Contains(t.targets, a) {
				t.targets = append(t.targets, a)
			}
			t.selected[a] = true
			if d, ok := declaredAt[canonical(a)]; ok {
				// A declared object needs its environment.
				if d.kind != KindEnvironment {
					for _, e := range decls {
						if e.kind == KindEnvironment && e.id == d.env {
							t.selected[e.address] = true
						}
					}
				}
				continue
			}
			// An object the plan deletes goes with the objects in it
			// that the plan deletes too.
			if row := st.mine[a]; row.Kind == KindEnvironment {
				for addr, r := range st.mine {
					if env, _ := splitID(r.ObjectID); r.Kind != KindEnvironment && env == row.ObjectID && declaredAt[canonical(addr)] == nil {
						t.selected[addr] = true
					}
				}
			}
		}
	}
	if len(req.Replace) > 0 && req.Mode != ModeNormal {
		problems = append(problems, fmt.Sprintf("-replace cannot be used in a %s plan: it replaces objects the spec declares", req.Mode))
	} else {
		t.replace = map[string]bool{}
		for _, addr := range req.Replace {
			as := resolve("replace", addr)
			switch {
			case len(as) == 0:
			case len(as) > 1 || canonical(as[0]) != canonical(addr):
				problems = append(problems, fmt.Sprintf("-replace=%s names the %d instances of a for_each block; -replace takes one object, such as -replace='%s'",
					addr, len(as), Address(as[0])))
			case declaredAt[canonical(as[0])] == nil:
				problems = append(problems, fmt.Sprintf("-replace=%s: the spec does not declare %s, so this plan deletes it or stops managing it; there is nothing to replace", addr, as[0]))
			case !t.has(as[0]):
				problems = append(problems, fmt.Sprintf("-replace=%s is outside the objects -target selects: add -target=%s", addr, Address(as[0])))
			case !t.replace[as[0]]:
				t.replace[as[0]] = true
				t.replaces = append(t.replaces, as[0])
			}
		}
	}
	if t.selected != nil {
		var missing []string
		for _, to := range slices.Sorted(maps.Keys(st.movedFrom)) {
			if !t.selected[to] {
				missing = append(missing, "-target="+Address(to))
			}
		}
		if len(missing) > 0 {
			problems = append(problems, "moved blocks give objects of this workspace new addresses, and a targeted plan must include them, as Terraform's does: add "+
				strings.Join(missing, " ")+", or plan without -target")
		}
	}
	if len(problems) > 0 {
		return t, understudy.Errorf(understudy.EINVALID, "%s", firstOf(problems, "; "))
	}
	return t, nil
}

// maxSuggested bounds the unknown addresses a plan looks for the closest
// known one to, so that a long list of wrong ones costs little; and the
// problems an error names, so that its message stays short whatever the
// request held.
const maxSuggested = 10

// firstOf joins the first maxSuggested of list with sep, and says how
// many more there are.
func firstOf(list []string, sep string) string {
	if len(list) <= maxSuggested {
		return strings.Join(list, sep)
	}
	return fmt.Sprintf("%s%sand %d more", strings.Join(list[:maxSuggested], sep), sep, len(list)-maxSuggested)
}

// unknownAddress says that addr (canonical c) names no object, and which
// of known is closest, when one is close.
func unknownAddress(flag, addr, c string, known []string, workspace string) string {
	msg := fmt.Sprintf("-%s=%s: neither the spec nor workspace %q has an object at this address", flag, addr, workspace)
	best, bestD := "", len(c)/3+2
	slices.Sort(known)
	for _, k := range known {
		if d := levenshtein.Distance(c, canonical(k), nil); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		msg += "; did you mean " + Address(best) + "?"
	}
	return msg
}

// declared keeps the declarations a targeted plan plans.
func (t targeting) declared(decls []declared) []declared {
	if t.selected == nil {
		return decls
	}
	var out []declared
	for _, d := range decls {
		if t.selected[d.address] {
			out = append(out, d)
		}
	}
	return out
}

// untouched is decls and, in a targeted plan, a declaration of each
// object of the workspace outside the targets, so that the plan of what
// the spec no longer declares leaves those alone.
func (t targeting) untouched(decls []declared, st *state) []declared {
	if t.selected == nil {
		return decls
	}
	out := slices.Clone(decls)
	for _, a := range slices.Sorted(maps.Keys(st.mine)) {
		if !t.selected[a] {
			out = append(out, declared{address: a})
		}
	}
	return out
}

// drift keeps the drift of the objects a targeted plan plans.
func (t targeting) drift(drift []Change) []Change {
	if t.selected == nil {
		return drift
	}
	return slices.DeleteFunc(drift, func(c Change) bool { return !t.selected[c.Address] })
}

// forceReplace turns the change of each object -replace names into a
// replace: deleted, then created as the spec declares it. An object the
// plan creates is only created, as in Terraform. prevent_destroy refuses
// it, as it refuses any replace.
func (t targeting) forceReplace(steps []*step, st *state, conflicts *[]string) {
	for _, x := range steps {
		if !t.replace[x.Address] || x.decl == nil {
			continue
		}
		switch x.Action {
		case NoOp, Update:
			// ReplaceRequested says why: Reason stays empty.
			x.Action, x.oldKey = Replace, key{x.Kind, x.ID}
			if x.decl.preventDestroy || st.mine[x.Address].PreventDestroy {
				*conflicts = append(*conflicts, x.Address+" has lifecycle.prevent_destroy set, and -replace would replace it")
			}
		case Replace:
		default:
			continue
		}
		x.ReplaceRequested = true
	}
}

// checkReplaceable refuses a requested replace that cannot be made: an
// environment is deleted only when it is empty and has never had an
// account, since account history is kept (and deleting one would take
// the objects in it with it).
func (s *Service) checkReplaceable(ctx context.Context, steps []*step, st *state) error {
	var problems []string
	for _, x := range steps {
		if !x.ReplaceRequested || x.Kind != KindEnvironment {
			continue
		}
		env := x.oldKey.id
		history, err := s.cfg.Accounts.Reconciler().CountAccountsEver(ctx, env)
		if err != nil {
			return err
		}
		var holds []string
		for k := range st.objects {
			if k.kind != KindEnvironment && strings.HasPrefix(k.id, env+"/") {
				holds = append(holds, k.String())
			}
		}
		slices.Sort(holds)
		switch {
		case history > 0:
			problems = append(problems, fmt.Sprintf("-replace=%s: environment %s keeps the history of %d account(s), retired ones included, so it is never deleted, and cannot be replaced",
				Address(x.Address), env, history))
		case len(holds) > 0:
			problems = append(problems, fmt.Sprintf("-replace=%s: environment %s holds %s, which deleting it would delete too; replace those objects instead",
				Address(x.Address), env, strings.Join(holds, ", ")))
		}
	}
	if len(problems) > 0 {
		return understudy.Errorf(understudy.ECONFLICT, "%s", strings.Join(problems, "; "))
	}
	return nil
}
