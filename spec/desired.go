package spec

import "encoding/json"

// Kinds of object a spec declares, in dependency order: an environment
// comes before the apps, roles and destinations that live in it, and a
// role before the flows that run with it.
const (
	KindEnvironment = "environment"
	KindApp         = "app"
	KindRole        = "role"
	KindDestination = "destination"
	KindFlow        = "flow"
)

// Kinds lists every kind in dependency order (creates run in this order,
// deletes in the reverse).
var Kinds = []string{KindEnvironment, KindApp, KindRole, KindDestination, KindFlow}

// DefaultWorkspace is the workspace of a plan that names none.
const DefaultWorkspace = "default"

// Desired is what a spec declares: the evaluated blocks of a directory of
// *.understudy.hcl files, sent as JSON by the CLI to POST /v1/plans. It
// holds secrets in clear (app and destination secrets), so it travels
// only to the server and is sealed there; it is never written to a file.
//
// Every object has an Address, "<kind>.<label>" as in the spec
// (role.buyer), unique within the spec. Errors about an attribute name the
// field "<address>.<attribute>" (role.buyer.pool_size), which the CLI maps
// back to a file, line and column.
type Desired struct {
	Environments []Environment `json:"environments,omitempty"`
	Apps         []App         `json:"apps,omitempty"`
	Roles        []Role        `json:"roles,omitempty"`
	Destinations []Destination `json:"destinations,omitempty"`
	Flows        []Flow        `json:"flows,omitempty"`
	// Imports adopt existing objects into the workspace (import blocks).
	Imports []Import `json:"imports,omitempty"`
	// Removed stop managing objects without deleting them (removed blocks).
	Removed []Removed `json:"removed,omitempty"`
	// Moved give managed objects new addresses (moved blocks).
	Moved []Moved `json:"moved,omitempty"`
}

// Lifecycle is a block's lifecycle settings.
type Lifecycle struct {
	// PreventDestroy refuses any plan that would delete or replace the
	// object.
	PreventDestroy bool `json:"prevent_destroy"`
}

// Environment is an environment block.
type Environment struct {
	Address        string   `json:"address"`
	Name           string   `json:"name"`
	EmailDomains   []string `json:"email_domains,omitempty"`
	CustomSurfaces []string `json:"custom_surfaces,omitempty"`
	// InboxRetention is how long the accounts keep their mail: whole days
	// ("7d") or a Go duration ("36h"). Nil takes the default, 7d.
	InboxRetention *string `json:"inbox_retention,omitempty"`
	// InboxMaxMessages is how many messages each account keeps. Nil takes
	// the default, 200.
	InboxMaxMessages *int `json:"inbox_max_messages,omitempty"`
	// CaptureRetention is how long the captured account states of failed
	// runs are kept, written as InboxRetention is. Nil takes the default,
	// 30d.
	CaptureRetention *string   `json:"capture_retention,omitempty"`
	Lifecycle        Lifecycle `json:"lifecycle"`
}

// Role is a role block. Optional attributes that the spec leaves out are
// nil and take the server's defaults (pool_size 1, quarantine on).
type Role struct {
	Address               string            `json:"address"`
	Environment           string            `json:"environment"`
	Name                  string            `json:"name"`
	Description           string            `json:"description"`
	PoolSize              *int              `json:"pool_size,omitempty"`
	Attributes            map[string]string `json:"attributes,omitempty"`
	IsolationPolicy       map[string]string `json:"isolation_policy,omitempty"`
	QuarantineOnViolation *bool             `json:"quarantine_on_violation,omitempty"`
	// CodePattern and LinkPattern are the role's RE2 patterns for its
	// mail's codes and links; empty for none.
	CodePattern string    `json:"code_pattern,omitempty"`
	LinkPattern string    `json:"link_pattern,omitempty"`
	Lifecycle   Lifecycle `json:"lifecycle"`
}

// App is an app block.
type App struct {
	Address     string          `json:"address"`
	Environment string          `json:"environment"`
	Name        string          `json:"name"`
	Provider    string          `json:"provider"`
	Settings    json.RawMessage `json:"settings,omitempty"`
	// Secrets are the app's secrets in clear, from env() or file() in
	// the spec; the server keeps only their sealed values and a keyed
	// digest of each.
	Secrets   map[string]string `json:"secrets,omitempty"`
	Lifecycle Lifecycle         `json:"lifecycle"`
}

// Destination is a destination block.
type Destination struct {
	Address      string            `json:"address"`
	Environment  string            `json:"environment"`
	Name         string            `json:"name"`
	Kind         string            `json:"kind"`
	Settings     json.RawMessage   `json:"settings,omitempty"`
	Secrets      map[string]string `json:"secrets,omitempty"`
	DistinctID   *string           `json:"distinct_id,omitempty"`
	SyncInterval *string           `json:"sync_interval,omitempty"`
	Lifecycle    Lifecycle         `json:"lifecycle"`
}

// Flow is a flow block: a test path of an environment, the role it runs
// with and the cadence it should pass at.
type Flow struct {
	Address     string `json:"address"`
	Environment string `json:"environment"`
	Name        string `json:"name"`
	// Role names a role of the environment, declared in the spec or on
	// the server.
	Role string `json:"role"`
	// Every is the cadence: a Go duration ("15m") or whole days ("1d"),
	// from 1m to 7d.
	Every     string    `json:"every"`
	Lifecycle Lifecycle `json:"lifecycle"`
}

// Import adopts the existing object ID into the workspace at address To.
// ID is the environment's name for an environment, and
// "<environment>/<name>" for the others.
type Import struct {
	To string `json:"to"`
	ID string `json:"id"`
}

// Moved gives the object the workspace manages at address From the
// address To, as Terraform's moved block does: the object itself is
// kept, and planned at To. A From the workspace does not manage is
// ignored, so that a moved block may stay in the spec after the apply.
type Moved struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Removed stops the workspace managing the object at address From,
// leaving it on the server.
type Removed struct {
	From string `json:"from"`
}
