package spec

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// WriteApplied writes the human view of an apply of p to w, as Terraform
// reports one: a line for each change p.Applied made, in order
// ("role.buyer: Modifications complete"), then "Apply complete!
// Resources: 2 added, 1 changed, 0 destroyed." Imports are counted first
// and forgets last, when there are any; a destroy plan ends "Destroy
// complete! Resources: N destroyed.". When p.ApplyError is set the apply
// stopped: the changes made are listed, then the error, and that a new
// plan shows only what is left. The only error is w's.
func WriteApplied(w io.Writer, p Plan, o RenderOptions) error {
	pal := palette{on: o.Color}
	byAddress := make(map[string]Change, len(p.Changes))
	for _, c := range p.Changes {
		byAddress[c.Address] = c
	}
	var b bytes.Buffer
	var n appliedCount
	for _, a := range p.Applied {
		c := byAddress[a.Address]
		for _, msg := range appliedMessages(a.Action, c) {
			fmt.Fprintf(&b, "%s\n", pal.bold(a.Address+": "+msg))
		}
		n.add(a.Action, c.Importing)
	}
	if p.ApplyError != "" {
		next := "Nothing was changed before the error."
		if len(p.Applied) > 0 {
			next = "The changes above were made before the error; the others were not."
		}
		fmt.Fprintf(&b, "\n%s %s\n\n%s A new plan (understudy plan) shows only what is left to do.\n",
			pal.bold(pal.red("Error:")), p.ApplyError, next)
	} else {
		fmt.Fprintf(&b, "\n%s\n", pal.bold(pal.green(n.summary(p.Mode))))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// appliedMessages are the lines Terraform prints when an action is done;
// a replace is a destruction then a creation.
func appliedMessages(a Action, c Change) []string {
	var msgs []string
	if c.Importing {
		msgs = append(msgs, fmt.Sprintf("Import complete [id=%s]", c.ID))
	}
	switch a {
	case Create:
		msgs = append(msgs, "Creation complete")
	case Update:
		msgs = append(msgs, "Modifications complete")
	case Replace:
		msgs = append(msgs, "Destruction complete", "Creation complete")
	case Delete:
		msgs = append(msgs, "Destruction complete")
	case Forget:
		msgs = append(msgs, "No longer managed by Understudy; it stays on the server")
	}
	return msgs
}

// appliedCount counts what an apply did, as Terraform counts it: a
// replace is one added and one destroyed.
type appliedCount struct {
	imported, added, changed, destroyed, forgotten int
}

// add counts one applied change.
func (n *appliedCount) add(a Action, importing bool) {
	if importing {
		n.imported++
	}
	switch a {
	case Create:
		n.added++
	case Update:
		n.changed++
	case Replace:
		n.added++
		n.destroyed++
	case Delete:
		n.destroyed++
	case Forget:
		n.forgotten++
	}
}

// summary is the closing line of an apply.
func (n appliedCount) summary(mode string) string {
	if mode == ModeDestroy {
		return fmt.Sprintf("Destroy complete! Resources: %d destroyed.", n.destroyed)
	}
	var b strings.Builder
	b.WriteString("Apply complete! Resources: ")
	if n.imported > 0 {
		fmt.Fprintf(&b, "%d imported, ", n.imported)
	}
	fmt.Fprintf(&b, "%d added, %d changed, %d destroyed", n.added, n.changed, n.destroyed)
	if n.forgotten > 0 {
		fmt.Fprintf(&b, ", %d forgotten", n.forgotten)
	}
	b.WriteString(".")
	return b.String()
}
