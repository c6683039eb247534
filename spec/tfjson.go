package spec

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TerraformFormatVersion is the format_version of TerraformJSON's output:
// the version of Terraform's JSON plan format it follows.
const TerraformFormatVersion = "1.2"

// TerraformJSON returns p in the shape of Terraform's JSON plan format
// (the output of "terraform show -json", documented on the "JSON Output
// Format" page, https://developer.hashicorp.com/terraform/internals/json-format),
// so that tools written for Terraform plans read Understudy's.
//
// Each object is a managed resource of type "understudy_<kind>" named by
// its address's label (role.buyer is understudy_role "buyer"). The output
// has format_version, timestamp, planned_values (the objects as they will
// be), resource_changes (every change, no-ops included, with actions such
// as ["create"] or ["delete","create"] for a replace), resource_drift
// (p.Drift), applyable, complete and errored. Secrets keep their masked
// SensitiveValue in before and after, and before_sensitive/after_sensitive
// hold true at each one, as in {"secrets":{"api_key":true}}. What
// Terraform's format has no field for (the plan's id, workspace, serial,
// mode, each change's effects on accounts) is under the "understudy" key.
//
// Fields the format has that Understudy has no use for (terraform_version,
// configuration, prior_state, variables, output_changes, provider_name)
// are left out. Errors: a value of p that JSON cannot encode.
func TerraformJSON(p Plan) ([]byte, error) {
	out := tfPlan{
		FormatVersion: TerraformFormatVersion,
		Applyable:     p.HasChanges(),
		Complete:      true,
		Drift:         []tfResourceChange{},
		Changes:       []tfResourceChange{},
		Planned:       tfValues{RootModule: tfModule{Resources: []tfResource{}}},
		Understudy:    understudyOf(p),
	}
	if !p.CreatedAt.IsZero() {
		out.Timestamp = p.CreatedAt.UTC().Format(time.RFC3339)
	}
	for _, c := range p.Changes {
		rc, err := resourceChange(c, p.Mode)
		if err != nil {
			return nil, err
		}
		out.Changes = append(out.Changes, rc)
		if c.Action != Delete && c.Action != Forget {
			out.Planned.RootModule.Resources = append(out.Planned.RootModule.Resources, plannedResource(rc))
		}
	}
	for _, c := range p.Drift {
		rc, err := resourceChange(c, p.Mode)
		if err != nil {
			return nil, err
		}
		rc.ActionReason = ""
		out.Drift = append(out.Drift, rc)
	}
	slices.SortFunc(out.Planned.RootModule.Resources, func(a, b tfResource) int { return cmp.Compare(a.Address, b.Address) })
	return json.Marshal(out)
}

// tfPlan is the top of Terraform's JSON plan, with Understudy's extension.
type tfPlan struct {
	FormatVersion string             `json:"format_version"`
	Timestamp     string             `json:"timestamp,omitempty"`
	Planned       tfValues           `json:"planned_values"`
	Drift         []tfResourceChange `json:"resource_drift"`
	Changes       []tfResourceChange `json:"resource_changes"`
	Applyable     bool               `json:"applyable"`
	Complete      bool               `json:"complete"`
	Errored       bool               `json:"errored"`
	Understudy    tfUnderstudy       `json:"understudy"`
}

// tfValues is Terraform's values representation: the root module only.
type tfValues struct {
	RootModule tfModule `json:"root_module"`
}

// tfModule holds a module's resources.
type tfModule struct {
	Resources []tfResource `json:"resources"`
}

// tfResource is one object as it will be after the apply.
type tfResource struct {
	Address         string `json:"address"`
	Mode            string `json:"mode"`
	Type            string `json:"type"`
	Name            string `json:"name"`
	SchemaVersion   int    `json:"schema_version"`
	Values          any    `json:"values"`
	SensitiveValues any    `json:"sensitive_values"`
}

// tfResourceChange is one change, as Terraform's resource_changes item.
type tfResourceChange struct {
	Address      string   `json:"address"`
	Mode         string   `json:"mode"`
	Type         string   `json:"type"`
	Name         string   `json:"name"`
	Change       tfChange `json:"change"`
	ActionReason string   `json:"action_reason,omitempty"`
}

// tfChange is Terraform's change representation.
type tfChange struct {
	Actions         []string     `json:"actions"`
	Before          any          `json:"before"`
	After           any          `json:"after"`
	AfterUnknown    any          `json:"after_unknown"`
	BeforeSensitive any          `json:"before_sensitive"`
	AfterSensitive  any          `json:"after_sensitive"`
	ReplacePaths    [][]string   `json:"replace_paths,omitempty"`
	Importing       *tfImporting `json:"importing,omitempty"`
}

// tfImporting is the import metadata of a change that adopts an object.
type tfImporting struct {
	ID string `json:"id"`
}

// resourceChange converts a change, masking its secrets.
func resourceChange(c Change, mode string) (tfResourceChange, error) {
	meta := metaOf(c.Attributes)
	before, beforeSens, err := maskObject(c.Before, meta)
	if err != nil {
		return tfResourceChange{}, fmt.Errorf("%s before: %w", c.Address, err)
	}
	after, afterSens, err := maskObject(c.After, meta)
	if err != nil {
		return tfResourceChange{}, fmt.Errorf("%s after: %w", c.Address, err)
	}
	kind := c.Kind
	if kind == "" {
		kind, _, _ = strings.Cut(c.Address, ".")
	}
	rc := tfResourceChange{
		Address: c.Address,
		Mode:    "managed",
		Type:    "understudy_" + kind,
		Name:    label(c.Address),
		Change: tfChange{
			Actions:         terraformActions(c.Action),
			Before:          before,
			After:           after,
			AfterUnknown:    map[string]any{},
			BeforeSensitive: beforeSens,
			AfterSensitive:  afterSens,
		},
	}
	if c.Importing {
		rc.Change.Importing = &tfImporting{ID: c.ID}
	}
	switch {
	case c.Action == Replace:
		rc.ActionReason = "replace_because_cannot_update"
		for _, a := range c.Attributes {
			if a.ForcesReplacement {
				rc.Change.ReplacePaths = append(rc.Change.ReplacePaths, strings.Split(a.Name, "."))
			}
		}
	case c.Action == Delete && mode != ModeDestroy:
		rc.ActionReason = "delete_because_no_resource_config"
	}
	return rc, nil
}

// terraformActions is an action in Terraform's words: a replace deletes,
// then creates.
func terraformActions(a Action) []string {
	if a == Replace {
		return []string{"delete", "create"}
	}
	return []string{string(a)}
}

// plannedResource is a change's object as it will be.
func plannedResource(rc tfResourceChange) tfResource {
	values, sens := rc.Change.After, rc.Change.AfterSensitive
	if m, ok := values.(map[string]any); !ok || m == nil {
		values, sens = rc.Change.Before, rc.Change.BeforeSensitive
	}
	if m, ok := sens.(map[string]any); !ok || m == nil {
		sens = map[string]any{}
	}
	return tfResource{Address: rc.Address, Mode: rc.Mode, Type: rc.Type, Name: rc.Name, Values: values, SensitiveValues: sens}
}

// tfUnderstudy carries what Terraform's format has no field for, so a
// tool reading the JSON loses nothing of the plan.
type tfUnderstudy struct {
	PlanID     string              `json:"plan_id"`
	Workspace  string              `json:"workspace"`
	Serial     int64               `json:"serial"`
	Mode       string              `json:"mode"`
	Status     string              `json:"status"`
	CreatedBy  string              `json:"created_by,omitempty"`
	Summary    Summary             `json:"summary"`
	Changes    []tfUnderstudyEntry `json:"changes"`
	Unmanaged  []Object            `json:"unmanaged"`
	Applied    []AppliedChange     `json:"applied,omitempty"`
	ApplyError string              `json:"apply_error,omitempty"`
}

// tfUnderstudyEntry is one change's part that Terraform has no field for.
type tfUnderstudyEntry struct {
	Address string  `json:"address"`
	ID      string  `json:"id"`
	Action  Action  `json:"action"`
	Reason  string  `json:"reason,omitempty"`
	Effects Effects `json:"effects"`
}

// understudyOf builds the extension of p.
func understudyOf(p Plan) tfUnderstudy {
	u := tfUnderstudy{
		PlanID:     p.ID,
		Workspace:  p.Workspace,
		Serial:     p.Serial,
		Mode:       p.Mode,
		Status:     p.Status,
		CreatedBy:  p.CreatedBy,
		Summary:    p.Summary,
		Changes:    make([]tfUnderstudyEntry, 0, len(p.Changes)),
		Unmanaged:  append([]Object{}, p.Unmanaged...),
		Applied:    p.Applied,
		ApplyError: p.ApplyError,
	}
	for _, c := range p.Changes {
		u.Changes = append(u.Changes, tfUnderstudyEntry{
			Address: c.Address, ID: c.ID, Action: c.Action, Reason: c.Reason, Effects: c.Effects,
		})
	}
	return u
}
