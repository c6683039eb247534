package spec

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/understudy-dev/understudy"
)

// step is one change of a plan with what the apply needs to make it.
type step struct {
	Change
	decl   *declared // the spec's object; nil for a delete or a forget
	oldKey key       // the object deleted, replaced or forgotten
	view   view      // the desired view, for what the apply records
	// cleanup drops the workspace's record of an object already gone.
	cleanup bool
}

// planning is a computed plan and its steps.
type planning struct {
	plan  Plan
	steps []*step
	state *state
}

// compute plans req against the server's state now.
func (s *Service) compute(ctx context.Context, req PlanRequest) (*planning, error) {
	var p problems
	if !workspaceRE.MatchString(req.Workspace) {
		p.add("workspace", "must be 1-63 lower-case letters, digits or '-', starting with a letter")
	}
	switch req.Mode {
	case ModeNormal, ModeDestroy, ModeRefreshOnly:
	default:
		p.add("mode", "must be normal, destroy or refresh-only, not %q", req.Mode)
	}
	decls := declare(req.Desired, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	st, err := s.load(ctx, req.Workspace)
	if err != nil {
		return nil, err
	}
	st.declare(decls)
	var conflicts []string
	st.move(req.Desired.Moved, &conflicts)
	pl := &planning{state: st, plan: Plan{Workspace: req.Workspace, Mode: req.Mode, Serial: st.serial,
		Changes: []Change{}, Drift: drift(st), Unmanaged: []Object{}, Applied: []AppliedChange{}}}
	if req.Mode == ModeDestroy {
		decls = nil
	}
	tg, err := resolveTargeting(req, decls, st)
	if err != nil {
		return nil, err
	}
	pl.plan.Targets, pl.plan.Replace, pl.plan.Drift = tg.targets, tg.replaces, tg.drift(pl.plan.Drift)
	planned := tg.declared(decls)
	steps := s.planDeclared(planned, req.Desired.Imports, st, &p, &conflicts)
	if err := s.checkObjects(ctx, planned, steps, st, &p); err != nil {
		return nil, err
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	if req.Mode != ModeRefreshOnly {
		tg.forceReplace(steps, st, &conflicts)
		pl.steps = append(steps, planUndeclared(tg.untouched(decls, st), req.Desired.Removed, req.Mode, st, &conflicts)...)
		if len(conflicts) > 0 {
			others := otherWorkspaces(decls, st)
			if len(others) > 0 {
				conflicts = append(conflicts, "a spec manages an object from one workspace only")
			}
			if hint := workspaceHint(others, st); hint != "" {
				conflicts = append(conflicts, hint)
			}
			return nil, understudy.Errorf(understudy.ECONFLICT, "the plan cannot be made: %s", strings.Join(conflicts, "; "))
		}
		if err := s.checkReplaceable(ctx, pl.steps, st); err != nil {
			return nil, err
		}
		if err := s.addEffects(ctx, pl); err != nil {
			return nil, err
		}
	}
	pl.order()
	pl.plan.Unmanaged = unmanaged(st, req.Workspace, pl.steps)
	pl.summarize()
	return pl, nil
}

// planDeclared plans each object the spec declares.
func (s *Service) planDeclared(decls []declared, imports []Import, st *state, p *problems, conflicts *[]string) []*step {
	importing := map[string]string{}
	for _, im := range imports {
		importing[im.To] = im.ID
	}
	var out []*step
	for i := range decls {
		d := &decls[i]
		k := key{d.kind, d.id}
		cur, exists := st.objects[k]
		x := &step{decl: d, view: s.desiredView(d, cur, exists), Change: Change{Address: d.address, Kind: d.kind, ID: d.id,
			PreviousAddress: st.movedFrom[d.address]}}
		row, mine := st.mine[d.address]
		switch {
		case mine && row.ObjectID != d.id:
			// The block now names another object: the old one goes.
			x.oldKey = key{d.kind, row.ObjectID}
			if old, ok := st.objects[x.oldKey]; ok {
				x.Action, x.Before, x.Attributes = Replace, old.attrs, diff(old, x.view)
				x.Reason = "its natural id changes from " + row.ObjectID + " to " + d.id
				if x.PreviousAddress != "" {
					x.Reason += fmt.Sprintf("; the moved block keeps the address, but an object cannot be renamed: set name = %q in the block to keep it", nameOf(row.ObjectID))
				}
				if d.preventDestroy || row.PreventDestroy {
					*conflicts = append(*conflicts, d.address+" has lifecycle.prevent_destroy set, and this plan would replace it ("+x.Reason+")")
				}
			} else {
				x.Action = Create
			}
			if exists {
				*conflicts = append(*conflicts, claimedBy(k, d.address, st))
			}
		case mine && exists:
			x.Before, x.Attributes = cur.attrs, diff(cur, x.view)
			x.Action = NoOp
			if len(x.Attributes) > 0 {
				x.Action = Update
			}
		case mine:
			x.Action, x.Reason = Create, "it was deleted outside the spec"
		default:
			if other, ok := st.managedBy[k]; ok {
				*conflicts = append(*conflicts, managedElsewhere(k, d.address, other, st))
				continue
			}
			id, imp := importing[d.address]
			switch {
			case imp && id != d.id:
				p.add("import."+d.address, "import id %q does not match the object %s declares (%s)", id, d.address, d.id)
			case imp && !exists:
				p.add("import."+d.address, "cannot import %s %s: it does not exist on the server", d.kind, id)
			case imp:
				x.Importing, x.Before, x.Attributes = true, cur.attrs, diff(cur, x.view)
				x.Action = NoOp
				if len(x.Attributes) > 0 {
					x.Action = Update
				}
			case exists:
				*conflicts = append(*conflicts, claimedBy(k, d.address, st))
				continue
			default:
				x.Action = Create
			}
		}
		if x.Action != Delete {
			x.After = x.view.attrs
		}
		out = append(out, x)
	}
	return out
}

// managedElsewhere says why the object k, managed at other, cannot be
// declared at address: another workspace manages it, or this one does
// at another address, which a moved block renames.
func managedElsewhere(k key, address string, other managed, st *state) string {
	if other.Workspace == st.workspace {
		return fmt.Sprintf("%s is managed by this workspace at %s, and declared at %s; to give its block a new address, add: moved { from = %s  to = %s }",
			k, other.Address, address, other.Address, address)
	}
	return fmt.Sprintf("%s is managed by workspace %q at %s", k, other.Workspace, other.Address)
}

// otherWorkspaces returns the names of the workspaces other than the
// plan's that manage objects the spec declares, sorted.
func otherWorkspaces(decls []declared, st *state) []string {
	others := map[string]bool{}
	for _, d := range decls {
		if m, ok := st.managedBy[key{d.kind, d.id}]; ok && m.Workspace != st.workspace {
			others[m.Workspace] = true
		}
	}
	return slices.Sorted(maps.Keys(others))
}

// workspaceHint is the last words of the conflicts of a plan for the
// default workspace when other workspaces (names) manage objects the
// spec declares: the spec most likely belongs to one of them, and
// -workspace was left out. It is empty otherwise.
func workspaceHint(names []string, st *state) string {
	if st.workspace != DefaultWorkspace {
		return ""
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("this plan is for workspace %q; if the spec belongs to workspace %q, which manages these objects, pass -workspace %s",
			DefaultWorkspace, names[0], names[0])
	}
	return fmt.Sprintf("this plan is for workspace %q; if the spec belongs to one of the workspaces that manage these objects (%s), pass -workspace NAME with its name",
		DefaultWorkspace, strings.Join(names, ", "))
}

// nameOf returns the name in a natural id: the environment's name, or
// the part after "<environment>/".
func nameOf(id string) string {
	if _, name, ok := strings.Cut(id, "/"); ok {
		return name
	}
	return id
}

// claimedBy says why the object k cannot be created at address.
func claimedBy(k key, address string, st *state) string {
	if other, ok := st.managedBy[k]; ok {
		if other.Workspace == st.workspace {
			return managedElsewhere(k, address, other, st)
		}
		return fmt.Sprintf("%s already exists, managed by workspace %q at %s", k, other.Workspace, other.Address)
	}
	return fmt.Sprintf("%s already exists on the server and no workspace manages it; adopt it with: import { to = %s  id = %q }", k, address, k.id)
}

// planUndeclared plans the objects the workspace manages that the spec no
// longer declares: deleted, forgotten (a removed block), or, when they are
// already gone, dropped from the workspace's records.
func planUndeclared(decls []declared, removed []Removed, mode string, st *state, conflicts *[]string) []*step {
	declaredAt := map[string]bool{}
	for _, d := range decls {
		declaredAt[d.address] = true
	}
	forget := map[string]bool{}
	if mode != ModeDestroy {
		for _, r := range removed {
			forget[r.From] = true
		}
	}
	var out []*step
	for _, address := range slices.Sorted(maps.Keys(st.mine)) {
		row := st.mine[address]
		if declaredAt[address] {
			continue
		}
		k := key{row.Kind, row.ObjectID}
		cur, exists := st.objects[k]
		x := &step{oldKey: k, Change: Change{Address: address, Kind: row.Kind, ID: row.ObjectID}}
		switch {
		case !exists:
			x.Action, x.cleanup = NoOp, true
		case forget[address]:
			x.Action, x.Before, x.After = Forget, cur.attrs, cur.attrs
			x.Reason = "a removed block stops managing it"
		default:
			x.Action, x.Before = Delete, cur.attrs
			x.Reason = "the spec no longer declares it"
			if mode == ModeDestroy {
				x.Reason = "destroy deletes what the workspace manages"
			}
			if row.PreventDestroy {
				*conflicts = append(*conflicts, address+" has lifecycle.prevent_destroy set, and this plan would delete it ("+x.Reason+"); remove prevent_destroy, apply, then delete it")
			}
		}
		out = append(out, x)
	}
	return out
}

// desiredView is d's view, filled from the server's where the spec
// leaves an optional attribute to it.
func (s *Service) desiredView(d *declared, cur view, exists bool) view {
	switch d.kind {
	case KindEnvironment:
		return desiredEnvironmentView(*d.environment)
	case KindRole:
		return desiredRoleView(*d.role)
	case KindApp:
		return s.desiredAppView(*d.app)
	case KindFlow:
		return desiredFlowView(*d.flow)
	default:
		var c *view
		if exists {
			c = &cur
		}
		return s.desiredDestinationView(*d.destination, c)
	}
}

// drift lists what changed on the server outside the spec since the
// workspace last applied each object it manages.
func drift(st *state) []Change {
	out := []Change{}
	for _, address := range slices.Sorted(maps.Keys(st.mine)) {
		row := st.mine[address]
		applied := row.Applied.view()
		if applied == nil {
			continue
		}
		c := Change{Address: address, Kind: row.Kind, ID: row.ObjectID, Before: applied.attrs}
		cur, exists := st.objects[key{row.Kind, row.ObjectID}]
		if !exists {
			c.Action, c.Reason = Delete, "it was deleted outside the spec"
			out = append(out, c)
			continue
		}
		if c.Attributes = diff(*applied, since(cur, *applied)); len(c.Attributes) > 0 {
			c.Action, c.After = Update, cur.attrs
			out = append(out, c)
		}
	}
	return out
}

// addedLater are the attributes that views stored by an older server
// lack; every object has them.
var addedLater = []string{"inbox_retention", "inbox_max_messages", "capture_retention"}

// since is cur without the attributes of addedLater that applied lacks
// (a view stored before they existed), so that they are no drift.
func since(cur, applied view) view {
	out := view{attrs: maps.Clone(cur.attrs), digests: cur.digests}
	for _, k := range addedLater {
		if _, ok := applied.attrs[k]; !ok {
			delete(out.attrs, k)
		}
	}
	return out
}

// unmanaged lists the server's objects that the workspace does not
// manage and the plan does not adopt.
func unmanaged(st *state, workspace string, steps []*step) []Object {
	adopting := map[key]bool{}
	for _, x := range steps {
		if x.decl != nil {
			adopting[key{x.decl.kind, x.decl.id}] = true
		}
	}
	out := []Object{}
	for k := range st.objects {
		m, isManaged := st.managedBy[k]
		if (isManaged && m.Workspace == workspace) || adopting[k] {
			continue
		}
		out = append(out, Object{Kind: k.kind, ID: k.id, ManagedBy: m.Workspace})
	}
	slices.SortFunc(out, func(a, b Object) int {
		return cmp.Or(kindOrder(a.Kind)-kindOrder(b.Kind), strings.Compare(a.ID, b.ID))
	})
	return out
}

// order puts the steps in the order an apply runs them: deletes and
// forgets first, children before parents; then everything else, parents
// first, by address within a kind.
func (pl *planning) order() {
	phase := func(x *step) int {
		if x.Action == Delete || x.Action == Forget || x.cleanup {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(pl.steps, func(a, b *step) int {
		pa, pb := phase(a), phase(b)
		if pa != pb {
			return pa - pb
		}
		ka, kb := kindOrder(a.Kind), kindOrder(b.Kind)
		if pa == 0 {
			ka, kb = kb, ka
		}
		return cmp.Or(ka-kb, strings.Compare(a.Address, b.Address))
	})
	pl.plan.Changes = pl.plan.Changes[:0]
	for _, x := range pl.steps {
		if !x.cleanup {
			pl.plan.Changes = append(pl.plan.Changes, x.Change)
		}
	}
}

// summarize counts the changes as Terraform does: a replace is one add
// and one destroy.
func (pl *planning) summarize() {
	var sum Summary
	for _, c := range pl.plan.Changes {
		switch c.Action {
		case Create:
			sum.Add++
		case Update:
			sum.Change++
		case Replace:
			sum.Add++
			sum.Destroy++
		case Delete:
			sum.Destroy++
		case Forget:
			sum.Forget++
		}
		if c.Importing {
			sum.Import++
		}
	}
	pl.plan.Summary = sum
}
