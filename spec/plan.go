package spec

import (
	"encoding/json"
	"slices"
	"time"
)

// Action is what a plan does to one object. Its String is the symbol a
// plan shows before the object, as Terraform shows it.
type Action string

// Actions of a change.
const (
	NoOp    Action = "no-op"
	Create  Action = "create"
	Update  Action = "update"
	Replace Action = "replace" // delete, then create
	Delete  Action = "delete"
	// Forget stops managing the object and leaves it on the server (a
	// removed block).
	Forget Action = "forget"
)

// Symbol is the action's sign in a human plan: + ~ -/+ - and a blank for
// a no-op or a forget.
func (a Action) Symbol() string {
	switch a {
	case Create:
		return "+"
	case Update:
		return "~"
	case Replace:
		return "-/+"
	case Delete:
		return "-"
	}
	return " "
}

// Modes of a plan.
const (
	// ModeNormal plans the spec against the server.
	ModeNormal = "normal"
	// ModeDestroy plans the deletion of everything the workspace manages.
	ModeDestroy = "destroy"
	// ModeRefreshOnly reports drift only: what changed on the server
	// outside the spec since the last apply. Applying it records the
	// server's state as the workspace's.
	ModeRefreshOnly = "refresh-only"
)

// Statuses of a plan.
const (
	StatusPlanned  = "planned"
	StatusApplying = "applying"
	StatusApplied  = "applied"
	StatusFailed   = "failed" // the apply stopped on an error; Applied says what was done
)

// Plan is the difference between a spec and the server's state, computed
// by the server, stored, and applied as it is.
type Plan struct {
	ID        string    `json:"id"`
	Workspace string    `json:"workspace"`
	Mode      string    `json:"mode"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	// Serial is the workspace's state serial the plan was computed
	// against; an apply refuses the plan when it has moved on.
	Serial int64 `json:"serial"`
	// Changes are the objects the plan touches or checks, in the order an
	// apply runs them (dependency order: creates parent first, deletes
	// child first). No-ops are included so tools see every managed object.
	Changes []Change `json:"changes"`
	// Drift is what changed on the server outside the spec since the
	// workspace's last apply: before is what was applied, after what the
	// server holds now.
	Drift []Change `json:"drift"`
	// Unmanaged are objects on the server no spec of this workspace
	// manages; a plan never changes them.
	Unmanaged []Object `json:"unmanaged"`
	Summary   Summary  `json:"summary"`
	// Applied lists the changes an apply made, in order, and the error
	// that stopped it, if one did.
	Applied    []AppliedChange `json:"applied"`
	ApplyError string          `json:"apply_error,omitempty"`
	// Variables are the spec's variables the plan was made with. The
	// client records them (the server never sees them), so that a saved
	// plan's JSON lists them as Terraform's does.
	Variables []Variable `json:"variables,omitempty"`
	// Targets and Replace are the request's, as spec addresses: a plan
	// with Targets is incomplete (Terraform's "Resource targeting is in
	// effect"), and its apply is planned again with both.
	Targets []string `json:"targets,omitempty"`
	Replace []string `json:"replace,omitempty"`
}

// Variable is a spec variable's value in a plan. A sensitive one has no
// Value: it is never written anywhere.
type Variable struct {
	Name      string          `json:"name"`
	Value     json.RawMessage `json:"value,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// HasChanges reports whether applying the plan would change anything.
func (p Plan) HasChanges() bool {
	s := p.Summary
	if s.Add+s.Change+s.Destroy+s.Import+s.Forget > 0 || (p.Mode == ModeRefreshOnly && len(p.Drift) > 0) {
		return true
	}
	return slices.ContainsFunc(p.Changes, func(c Change) bool { return c.PreviousAddress != "" })
}

// Change is the plan for one object.
type Change struct {
	Address string `json:"address"`
	Kind    string `json:"kind"`
	// ID is the object's natural id: the environment's name, or
	// "<environment>/<name>".
	ID     string `json:"id"`
	Action Action `json:"action"`
	// PreviousAddress is the address the workspace managed the object at
	// before a moved block gave it this one; the apply records the new
	// address, and the object is otherwise planned as usual.
	PreviousAddress string `json:"previous_address,omitempty"`
	// Importing is set when the change adopts an existing object.
	Importing bool `json:"importing,omitempty"`
	// Before and After are the object's attributes (nil for a create's
	// before and a delete's after). Secrets appear as their names only,
	// each with SensitiveValue.
	Before map[string]any `json:"before"`
	After  map[string]any `json:"after"`
	// Attributes are the attribute-level differences, by name.
	Attributes []AttributeChange `json:"attributes"`
	// Reason says why an object is replaced or deleted.
	Reason string `json:"reason,omitempty"`
	// ReplaceRequested is set on a replace that -replace asked for
	// (Terraform's action reason replace_by_request).
	ReplaceRequested bool `json:"replace_requested,omitempty"`
	// Effects are what the change does to accounts.
	Effects Effects `json:"effects"`
}

// SensitiveValue stands for a secret's value in Before and After.
const SensitiveValue = "(sensitive value)"

// AttributeChange is one attribute that differs. A secret's values are
// never shown: Sensitive is set and Before/After are nil.
type AttributeChange struct {
	// Name is the attribute's name, or "<attribute>.<key>" for one key of
	// a map attribute (secrets.api_key), which is how a changed secret is
	// named: its masked values in Before and After look alike.
	Name              string `json:"name"`
	Before            any    `json:"before"`
	After             any    `json:"after"`
	Sensitive         bool   `json:"sensitive,omitempty"`
	ForcesReplacement bool   `json:"forces_replacement,omitempty"`
}

// Effects are what a change does to the accounts of the server.
type Effects struct {
	// Create counts the accounts a role's pool will get.
	Create int `json:"create,omitempty"`
	// Retire are the accounts retired (pool lowered, role deleted or
	// replaced). A leased one is never retired while leased: the apply
	// waits for its lease to end, or refuses.
	Retire []AccountEffect `json:"retire,omitempty"`
	// Reprovision are the accounts provisioned again into every app
	// (a role's attributes changed, or an app is added or replaced).
	Reprovision []AccountEffect `json:"reprovision,omitempty"`
	// Deprovision are the refs dropped with an app that is removed.
	Deprovision []RefEffect `json:"deprovision,omitempty"`
}

// AccountEffect names an account a change touches.
type AccountEffect struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	Slot   int    `json:"slot"`
	Status string `json:"status"`
	// LeasedBy is the holder of the account's current lease, if any, and
	// LeaseExpiresAt when that lease ends at the latest.
	LeasedBy       string     `json:"leased_by,omitempty"`
	LeaseExpiresAt *time.Time `json:"lease_expires_at,omitempty"`
}

// RefEffect names an account's ref in an app.
type RefEffect struct {
	AccountID string `json:"account_id"`
	Email     string `json:"email"`
	App       string `json:"app"`
	Ref       string `json:"ref"`
}

// Object is an object on the server, named by kind and natural id.
type Object struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// ManagedBy is the workspace that manages it, empty when none does.
	ManagedBy string `json:"managed_by,omitempty"`
}

// Summary counts a plan's changes: a replace counts as one add and one
// destroy, as Terraform counts it.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Import  int `json:"import"`
	Forget  int `json:"forget"`
}

// AppliedChange is one change an apply made.
type AppliedChange struct {
	Address string    `json:"address"`
	Action  Action    `json:"action"`
	At      time.Time `json:"at"`
}
