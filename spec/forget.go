package spec

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// ManagedObject is one object a workspace manages, as "terraform state
// list" names it.
type ManagedObject struct {
	// Address is the object's address in the JSON outputs
	// (understudy_role.buyer).
	Address string `json:"address"`
	// SpecAddress is its address in the spec (role.buyer).
	SpecAddress string `json:"spec_address"`
	Kind        string `json:"kind"`
	// ID is the natural id: the environment's name, or
	// "<environment>/<name>".
	ID string `json:"id"`
	// AppliedAt is when an apply last recorded it; absent while a create
	// was interrupted before it was recorded.
	AppliedAt *time.Time `json:"applied_at,omitempty"`
}

// Forgotten is what a forget did: the objects the workspace stopped
// managing, and the workspace after.
type Forgotten struct {
	Forgotten []ManagedObject `json:"forgotten"`
	Workspace Workspace       `json:"workspace"`
}

const (
	listManagedSQL = `SELECT address, kind, object_id, applied_at FROM spec_objects WHERE workspace = $1`
	// holdWorkspaceSQL reads who holds the workspace's row, locking it
	// for the transaction.
	holdWorkspaceSQL = `SELECT lock_holder IS NOT NULL AND lock_plan_id IS NULL FROM spec_workspaces WHERE name = $1 FOR UPDATE`
)

func scanManagedObject(row pgx.Row, m *ManagedObject) error {
	if err := row.Scan(&m.SpecAddress, &m.Kind, &m.ID, &m.AppliedAt); err != nil {
		return err
	}
	m.Address = Address(m.SpecAddress)
	return nil
}

// managedObjects lists what workspace name manages, by address.
func managedObjects(ctx context.Context, db pgdb.DB, name string) ([]ManagedObject, error) {
	list, err := pgdb.QueryAll(ctx, db, scanManagedObject, listManagedSQL, name)
	slices.SortFunc(list, func(a, b ManagedObject) int { return strings.Compare(a.Address, b.Address) })
	return list, err
}

// matches reports whether the address a user gave names m: its address
// in the JSON outputs or in the spec, or, without an instance key, every
// instance of its resource (understudy_role.team names
// understudy_role.team["a"]), as Terraform's state commands read one.
func (m ManagedObject) matches(given string) bool {
	if given == m.Address || given == m.SpecAddress {
		return true
	}
	for _, a := range []string{m.Address, m.SpecAddress} {
		if base, _, keyed := strings.Cut(a, "["); keyed && given == base {
			return true
		}
	}
	return false
}

// Forget stops workspace name managing the objects at addresses, and
// leaves them on the server, as "terraform state rm" does. It takes the
// workspace as an apply does (refused while an apply runs or a lock by
// hand holds it), and bumps the serial, so that a plan made before is
// refused as stale. Each address is one in the JSON outputs
// (understudy_role.buyer) or in the spec (role.buyer); one without an
// instance key names every instance of its resource. Every object is
// forgotten, and audited, in one transaction, or none is. Errors:
// EINVALID naming each address the workspace manages nothing at,
// ENOTFOUND, ECONFLICT naming the lock's holder.
func (s *Service) Forget(ctx context.Context, name string, addresses []string) (Forgotten, error) {
	if len(addresses) == 0 {
		return Forgotten{}, understudy.Invalid("nothing to forget", understudy.FieldError{Field: "addresses", Detail: "must name at least one object"})
	}
	if _, err := s.Workspace(ctx, name); err != nil {
		return Forgotten{}, err
	}
	var out Forgotten
	held := false
	err := pgdb.InTx(ctx, s.cfg.DB, func(tx pgx.Tx) error {
		var idle, byHand bool
		if err := tx.QueryRow(ctx, applyIdleSQL, name).Scan(&idle); err != nil || !idle {
			held = err == nil
			return err
		}
		if err := tx.QueryRow(ctx, holdWorkspaceSQL, name).Scan(&byHand); err != nil || byHand {
			held = err == nil
			return err
		}
		list, err := managedObjects(ctx, tx, name)
		if err != nil {
			return err
		}
		if out.Forgotten, err = pick(name, list, addresses); err != nil {
			return err
		}
		return forgetAll(ctx, tx, name, out.Forgotten)
	})
	if held {
		return Forgotten{}, s.heldError(ctx, name)
	}
	if err != nil {
		return Forgotten{}, err
	}
	out.Workspace, err = s.Workspace(ctx, name)
	return out, err
}

// pick returns the objects of list that addresses name, each once.
// Errors: EINVALID naming every address that names none.
func pick(workspace string, list []ManagedObject, addresses []string) ([]ManagedObject, error) {
	var fields []understudy.FieldError
	var unknown []string
	picked := map[string]bool{}
	var out []ManagedObject
	for i, given := range addresses {
		found := false
		for _, m := range list {
			if !m.matches(given) {
				continue
			}
			found = true
			if !picked[m.SpecAddress] {
				picked[m.SpecAddress] = true
				out = append(out, m)
			}
		}
		if !found {
			if unknown = append(unknown, given); len(unknown) <= maxSuggested {
				fields = append(fields, understudy.FieldError{Field: fmt.Sprintf("addresses[%d]", i),
					Detail: fmt.Sprintf("%s names no object of the workspace; `understudy workspaces show %s` lists them", given, workspace)})
			}
		}
	}
	// The error names the first maxSuggested unknown addresses only, so
	// that its size does not grow with the request's.
	if len(unknown) > 0 {
		return nil, understudy.Invalid(fmt.Sprintf("workspace %s manages no object at %s; nothing was forgotten", workspace, firstOf(unknown, ", ")), fields...)
	}
	slices.SortFunc(out, func(a, b ManagedObject) int { return cmp.Compare(a.Address, b.Address) })
	return out, nil
}

// forgetAll drops the workspace's records of list, audits each, and bumps
// the serial once, in tx.
func forgetAll(ctx context.Context, tx pgx.Tx, ws string, list []ManagedObject) error {
	for _, m := range list {
		var kind, id string
		if err := tx.QueryRow(ctx, forgetSQL, ws, m.SpecAddress).Scan(&kind, &id); err != nil {
			return err
		}
		if err := access.Record(ctx, tx, access.Event{Action: "workspace.forget", TargetType: "workspace", TargetID: ws,
			Details: map[string]any{"address": m.SpecAddress, "kind": kind, "object": id, "why": "workspaces forget"}}); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, bumpSerialSQL, ws)
	return err
}
