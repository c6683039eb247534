package spec

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// listCap is how many accounts, refs or objects a list shows before it
// says how many more there are.
const listCap = 10

// effectIndent lines an effect up with the attributes of the block above.
const effectIndent = "      # "

// effects writes what a change does to accounts, below its block: the
// accounts a pool gets, the accounts retired (each leased one with its
// holder and lease end), re-provisioned, and the refs deprovisioned.
func (r *planWriter) effects(e Effects) {
	p := r.pal
	if e.Create > 0 {
		r.printf("%s%s %s will be created\n", effectIndent, p.green("+"), count(e.Create, "account"))
	}
	if len(e.Retire) > 0 {
		leased := 0
		items := make([]string, len(e.Retire))
		for i, a := range e.Retire {
			items[i] = r.account(a)
			if a.LeasedBy != "" || a.LeaseExpiresAt != nil {
				leased++
			}
		}
		note := ""
		switch {
		case leased == 1 && len(items) == 1:
			note = p.yellow("the apply waits for the lease to end (-wait-leases) or refuses")
		case leased > 0:
			note = p.yellow("the apply waits for the leases to end (-wait-leases) or refuses")
		}
		r.effectList(p.red("-"), count(len(items), "account")+" will be retired", items, note)
	}
	if len(e.Reprovision) > 0 {
		items := make([]string, len(e.Reprovision))
		for i, a := range e.Reprovision {
			items[i] = r.account(a)
		}
		r.effectList(p.yellow("~"), count(len(items), "account")+" will be provisioned again in every app", items, "")
	}
	if len(e.Deprovision) > 0 {
		items := make([]string, len(e.Deprovision))
		for i, ref := range e.Deprovision {
			items[i] = fmt.Sprintf("%s:%s of %s", ref.App, ref.Ref, ref.Email)
		}
		r.effectList(p.red("-"), count(len(items), "ref")+" will be deprovisioned", items, "")
	}
}

// effectList writes one effect: inline when it names a single item, else
// one item a line, capped, then the note.
func (r *planWriter) effectList(sign, head string, items []string, note string) {
	if len(items) == 1 {
		line := head + ": " + items[0]
		if note != "" {
			line += ": " + note
		}
		r.printf("%s%s %s\n", effectIndent, sign, line)
		return
	}
	r.printf("%s%s %s:\n", effectIndent, sign, head)
	for _, it := range capped(items) {
		r.printf("%s    %s\n", effectIndent, it)
	}
	if note != "" {
		r.printf("%s  %s\n", effectIndent, note)
	}
}

// account names an account: "buyer-2 <buyer-2@test.example.com> (slot
// 2)", with its lease when it has one.
func (r *planWriter) account(a AccountEffect) string {
	s := fmt.Sprintf("<%s> (slot %d)", a.Email, a.Slot)
	if a.ID != "" {
		s = a.ID + " " + s
	}
	if a.LeasedBy != "" || a.LeaseExpiresAt != nil {
		lease := fmt.Sprintf(", leased by %q", a.LeasedBy)
		if a.LeaseExpiresAt != nil {
			lease += " until " + a.LeaseExpiresAt.UTC().Format(time.RFC3339)
		}
		s += r.pal.yellow(lease)
	}
	return s
}

// unmanaged writes the notes about the objects on the server that the
// workspace does not manage and a plan never changes: one line for those
// other workspaces manage, however many, and a list of those no
// workspace manages, which an import block may adopt.
func (r *planWriter) unmanaged(p Plan) {
	inWorkspace := map[string]int{}
	var loose []string
	for _, o := range p.Unmanaged {
		if o.ManagedBy != "" {
			inWorkspace[o.ManagedBy]++
		} else {
			loose = append(loose, o.Kind+" "+o.ID)
		}
	}
	if len(inWorkspace) > 0 {
		names := slices.Sorted(maps.Keys(inWorkspace))
		n := len(p.Unmanaged) - len(loose)
		r.printf("\n%s in %s (%s) %s not part of this plan.\n", count(n, "object"),
			count(len(names), "other workspace"), strings.Join(capped(names), ", "), isAre(n))
	}
	if len(loose) == 0 {
		return
	}
	r.printf("\n%s on the server %s managed by no workspace and %s left alone (an import block adopts one):\n",
		count(len(loose), "object"), isAre(len(loose)), isAre(len(loose)))
	for _, it := range capped(loose) {
		r.printf("  - %s\n", it)
	}
}

// isAre is the verb of n things.
func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// capped keeps the first listCap items and says how many it left out.
func capped(items []string) []string {
	if len(items) <= listCap {
		return items
	}
	out := append([]string(nil), items[:listCap]...)
	return append(out, fmt.Sprintf("… and %d more", len(items)-listCap))
}

// count is "1 account" or "3 accounts".
func count(n int, noun string) string {
	if n != 1 {
		noun += "s"
	}
	return fmt.Sprintf("%d %s", n, noun)
}
