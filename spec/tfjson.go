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

// ProviderName is the provider_name of every object in TerraformJSON's
// output and the full_name of its one provider configuration, so that a
// policy that checks providers sees which tool manages the objects. No
// registry serves it: it is a name, not a download.
const ProviderName = "registry.understudy.dev/understudy/understudy"

// providerKey is the provider_config_key of the configuration's resources.
const providerKey = "understudy"

// Address is an object's address in the JSON outputs: its resource type
// (understudy_environment, understudy_role, understudy_app,
// understudy_destination), a dot, and its name, with the instance key of
// a for_each object after it as Terraform writes it
// (understudy_role.buyer, understudy_role.team["a"]). The human plan keeps
// the spec's own address (role.buyer).
func Address(specAddress string) string {
	typ, label, _, _ := tfName(specAddress, "")
	return typ + "." + label
}

// tfName splits a spec address (role.buyer, role.team["a"]) into its
// resource type, its label with any instance key (team["a"]), its name
// (team) and the key alone (nil when there is none). kind names the type
// when the address lacks it.
func tfName(address, kind string) (typ, label, name string, key any) {
	var k string
	var ok bool
	k, label, ok = strings.Cut(address, ".")
	if !ok {
		label = address
	}
	if kind == "" {
		kind = k
	}
	name = label
	if i := strings.IndexByte(label, '['); i > 0 && strings.HasSuffix(label, "]") {
		raw := label[i+1 : len(label)-1]
		var v any
		if json.Unmarshal([]byte(raw), &v) == nil {
			name, key = label[:i], v
		}
	}
	return "understudy_" + kind, label, name, key
}

// TerraformJSON returns p in the shape of Terraform's JSON plan format
// (the output of "terraform show -json", documented on the "JSON Output
// Format" page, https://developer.hashicorp.com/terraform/internals/json-format),
// so that tools written for Terraform plans read Understudy's.
//
// Each object is a managed resource of type "understudy_<kind>" whose
// address is "<type>.<name>" (Address), with provider_name ProviderName.
// The output has format_version, timestamp, variables (each spec
// variable's value; a sensitive one's value is SensitiveValue),
// configuration (the provider and, for each object the spec declares,
// its attributes as constant values, secrets masked), planned_values (the
// objects as they will be), resource_changes (every change, no-ops
// included, with actions such as ["create"] or ["delete","create"] for a
// replace, and action_reason "replace_by_request" for a replace -replace
// asked for), resource_drift (p.Drift), applyable, complete (false for a
// plan with -target, as Terraform's) and errored.
// A forgotten object (a removed block) has actions ["forget"], after null,
// after_sensitive false and action_reason
// "delete_because_no_resource_config", as Terraform writes a removed
// block's forget. Secrets keep their masked SensitiveValue in before and
// after, and before_sensitive/after_sensitive hold true at each one, as
// in {"secrets":{"api_key":true}}. What Terraform's format has no field
// for (the plan's id, workspace, serial, mode, each change's effects on
// accounts, the spec's own address of each object) is under the
// "understudy" key.
//
// Fields the format has that Understudy has no use for
// (terraform_version, prior_state, output_changes) are left out. Errors:
// a value of p that JSON cannot encode.
func TerraformJSON(p Plan) ([]byte, error) {
	out := tfPlan{
		FormatVersion: TerraformFormatVersion,
		Variables:     map[string]tfVariable{},
		Config: tfConfig{
			ProviderConfig: map[string]tfProviderConfig{providerKey: {Name: "understudy", FullName: ProviderName}},
			RootModule:     tfConfigModule{Resources: []tfConfigResource{}, Variables: map[string]tfConfigVariable{}},
		},
		Applyable: p.HasChanges(),
		// A targeted plan leaves objects out: Terraform calls it
		// incomplete.
		Complete:   len(p.Targets) == 0,
		Drift:      []tfResourceChange{},
		Changes:    []tfResourceChange{},
		Planned:    tfValues{RootModule: tfModule{Resources: []tfResource{}}},
		Understudy: understudyOf(p),
	}
	if !p.CreatedAt.IsZero() {
		out.Timestamp = p.CreatedAt.UTC().Format(time.RFC3339)
	}
	for _, v := range p.Variables {
		tv, cv := tfVariable{Value: SensitiveValue}, tfConfigVariable{Sensitive: v.Sensitive}
		if !v.Sensitive {
			tv.Value = json.RawMessage(cmp.Or(string(v.Value), "null"))
		}
		out.Variables[v.Name], out.Config.RootModule.Variables[v.Name] = tv, cv
	}
	for _, c := range p.Changes {
		rc, err := resourceChange(c, p.Mode)
		if err != nil {
			return nil, err
		}
		out.Changes = append(out.Changes, rc)
		if c.Action != Delete && c.Action != Forget {
			out.Planned.RootModule.Resources = append(out.Planned.RootModule.Resources, plannedResource(rc))
			out.Config.RootModule.Resources = append(out.Config.RootModule.Resources, configResource(rc))
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
	slices.SortFunc(out.Config.RootModule.Resources, func(a, b tfConfigResource) int { return cmp.Compare(a.Address, b.Address) })
	return json.Marshal(out)
}

// tfPlan is the top of Terraform's JSON plan, with Understudy's extension.
type tfPlan struct {
	FormatVersion string                `json:"format_version"`
	Timestamp     string                `json:"timestamp,omitempty"`
	Variables     map[string]tfVariable `json:"variables"`
	Config        tfConfig              `json:"configuration"`
	Planned       tfValues              `json:"planned_values"`
	Drift         []tfResourceChange    `json:"resource_drift"`
	Changes       []tfResourceChange    `json:"resource_changes"`
	Applyable     bool                  `json:"applyable"`
	Complete      bool                  `json:"complete"`
	Errored       bool                  `json:"errored"`
	Understudy    tfUnderstudy          `json:"understudy"`
}

// tfVariable is a variable's value in the plan.
type tfVariable struct {
	Value any `json:"value"`
}

// tfConfig is Terraform's configuration representation: the provider
// and the root module, which is the whole spec.
type tfConfig struct {
	ProviderConfig map[string]tfProviderConfig `json:"provider_config"`
	RootModule     tfConfigModule              `json:"root_module"`
}

// tfProviderConfig names a provider.
type tfProviderConfig struct {
	Name     string `json:"name"`
	FullName string `json:"full_name"`
}

// tfConfigModule is the spec's objects and variables.
type tfConfigModule struct {
	Resources []tfConfigResource          `json:"resources"`
	Variables map[string]tfConfigVariable `json:"variables"`
}

// tfConfigVariable is a variable's declaration.
type tfConfigVariable struct {
	Sensitive bool `json:"sensitive,omitempty"`
}

// tfConfigResource is one block of the spec, its attributes as constant
// values (the spec is evaluated before the server sees it).
type tfConfigResource struct {
	Address           string                  `json:"address"`
	Mode              string                  `json:"mode"`
	Type              string                  `json:"type"`
	Name              string                  `json:"name"`
	ProviderConfigKey string                  `json:"provider_config_key"`
	Expressions       map[string]tfExpression `json:"expressions"`
	SchemaVersion     int                     `json:"schema_version"`
}

// tfExpression is an attribute's value in the configuration.
type tfExpression struct {
	ConstantValue any `json:"constant_value"`
}

// configResource is the configuration of a change's object: its
// attributes after the change, secrets masked.
func configResource(rc tfResourceChange) tfConfigResource {
	out := tfConfigResource{Address: rc.Address, Mode: rc.Mode, Type: rc.Type, Name: rc.Name,
		ProviderConfigKey: providerKey, Expressions: map[string]tfExpression{}}
	values, _ := rc.Change.After.(map[string]any)
	if values == nil {
		values, _ = rc.Change.Before.(map[string]any)
	}
	for k, v := range values {
		out.Expressions[k] = tfExpression{ConstantValue: v}
	}
	return out
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
	Index           any    `json:"index,omitempty"`
	ProviderName    string `json:"provider_name"`
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
	Index        any      `json:"index,omitempty"`
	ProviderName string   `json:"provider_name"`
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
	if c.Action == Forget {
		after, afterSens = nil, false
	}
	typ, lbl, name, key := tfName(c.Address, c.Kind)
	rc := tfResourceChange{
		Address:      typ + "." + lbl,
		Mode:         "managed",
		Type:         typ,
		Name:         name,
		Index:        key,
		ProviderName: ProviderName,
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
	case c.Action == Replace && c.ReplaceRequested:
		rc.ActionReason = "replace_by_request"
	case c.Action == Replace:
		rc.ActionReason = "replace_because_cannot_update"
		for _, a := range c.Attributes {
			if a.ForcesReplacement {
				rc.Change.ReplacePaths = append(rc.Change.ReplacePaths, strings.Split(a.Name, "."))
			}
		}
	case c.Action == Forget, c.Action == Delete && mode != ModeDestroy:
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
	return tfResource{Address: rc.Address, Mode: rc.Mode, Type: rc.Type, Name: rc.Name, Index: rc.Index,
		ProviderName: rc.ProviderName, Values: values, SensitiveValues: sens}
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
	// Targets and Replace are the plan's -target and -replace addresses.
	Targets []string `json:"targets,omitempty"`
	Replace []string `json:"replace,omitempty"`
}

// tfUnderstudyEntry is one change's part that Terraform has no field for.
type tfUnderstudyEntry struct {
	Address string `json:"address"`
	// SpecAddress is the object's address in the spec (role.buyer).
	SpecAddress string  `json:"spec_address"`
	ID          string  `json:"id"`
	Action      Action  `json:"action"`
	Reason      string  `json:"reason,omitempty"`
	Effects     Effects `json:"effects"`
}

// understudyOf builds the extension of p.
func understudyOf(p Plan) tfUnderstudy {
	var applied []AppliedChange
	for _, a := range p.Applied {
		a.Address = Address(a.Address)
		applied = append(applied, a)
	}
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
		Applied:    applied,
		ApplyError: p.ApplyError,
	}
	for _, a := range p.Targets {
		u.Targets = append(u.Targets, Address(a))
	}
	for _, a := range p.Replace {
		u.Replace = append(u.Replace, Address(a))
	}
	for _, c := range p.Changes {
		u.Changes = append(u.Changes, tfUnderstudyEntry{
			Address: Address(c.Address), SpecAddress: c.Address, ID: c.ID, Action: c.Action, Reason: c.Reason, Effects: c.Effects,
		})
	}
	return u
}
