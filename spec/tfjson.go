package spec

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
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
// replace, action_reason "replace_by_request" for a replace -replace
// asked for, and previous_address for an object a moved block moved), resource_drift (p.Drift), applyable, complete (false for a
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
	var b bytes.Buffer
	if err := WriteTerraformJSON(&b, p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// WriteTerraformJSON writes TerraformJSON's document to w, then a
// newline. It is written as it is made, one resource at a time through a
// small buffer, so a plan of any size is never held as a whole document,
// let alone twice. Errors: a value of p that JSON cannot encode, or w's.
func WriteTerraformJSON(w io.Writer, p Plan) error {
	bw := bufio.NewWriter(w)
	s := &jsonStream{w: bw, enc: json.NewEncoder(bw)}
	s.raw(`{"format_version":`)
	s.value(TerraformFormatVersion)
	if !p.CreatedAt.IsZero() {
		s.raw(`,"timestamp":`)
		s.value(p.CreatedAt.UTC().Format(time.RFC3339))
	}
	vars, configVars := map[string]tfVariable{}, map[string]tfConfigVariable{}
	for _, v := range p.Variables {
		tv, cv := tfVariable{Value: SensitiveValue}, tfConfigVariable{Sensitive: v.Sensitive}
		if !v.Sensitive {
			tv.Value = json.RawMessage(cmp.Or(string(v.Value), "null"))
		}
		vars[v.Name], configVars[v.Name] = tv, cv
	}
	s.raw(`,"variables":`)
	s.value(vars)
	planned := plannedOrder(p)
	s.raw(`,"configuration":{"provider_config":`)
	s.value(map[string]tfProviderConfig{providerKey: {Name: "understudy", FullName: ProviderName}})
	s.raw(`,"root_module":{"resources":`)
	s.picked(p, planned, func(rc tfResourceChange) any { return configResource(rc) })
	s.raw(`,"variables":`)
	s.value(configVars)
	s.raw(`}},"planned_values":{"root_module":{"resources":`)
	s.picked(p, planned, func(rc tfResourceChange) any { return plannedResource(rc) })
	s.raw(`}},"resource_drift":`)
	s.changes(p.Mode, p.Drift, func(rc tfResourceChange) any {
		rc.ActionReason = ""
		return rc
	})
	s.raw(`,"resource_changes":`)
	s.changes(p.Mode, p.Changes, func(rc tfResourceChange) any { return rc })
	s.raw(`,"applyable":`)
	s.value(p.HasChanges())
	// A targeted plan leaves objects out: Terraform calls it incomplete.
	s.raw(`,"complete":`)
	s.value(len(p.Targets) == 0)
	s.raw(`,"errored":false,"understudy":`)
	s.understudy(p)
	s.raw("}\n")
	if s.err != nil {
		return s.err
	}
	return bw.Flush()
}

// plannedOrder returns the indices of the changes whose objects remain
// after the plan (neither deleted nor forgotten), by their address in the
// JSON outputs: the order of planned_values and configuration.
func plannedOrder(p Plan) []int {
	var out []int
	for i, c := range p.Changes {
		if c.Action != Delete && c.Action != Forget {
			out = append(out, i)
		}
	}
	tfAddr := func(i int) string {
		typ, label, _, _ := tfName(p.Changes[i].Address, p.Changes[i].Kind)
		return typ + "." + label
	}
	slices.SortStableFunc(out, func(a, b int) int { return cmp.Compare(tfAddr(a), tfAddr(b)) })
	return out
}

// jsonStream writes a JSON document piece by piece; its first error
// stops it and is kept.
type jsonStream struct {
	w   io.Writer
	enc *json.Encoder
	err error
}

// raw writes s, a piece of JSON syntax, as it is.
func (s *jsonStream) raw(text string) {
	if s.err == nil {
		_, s.err = io.WriteString(s.w, text)
	}
}

// value writes v as JSON. The encoder's newline after it is whitespace
// between tokens, which JSON allows.
func (s *jsonStream) value(v any) {
	if s.err == nil {
		s.err = s.enc.Encode(v)
	}
}

// array writes the n items that item returns as a JSON array.
func (s *jsonStream) array(n int, item func(i int) (any, error)) {
	s.raw("[")
	for i := 0; i < n && s.err == nil; i++ {
		if i > 0 {
			s.raw(",")
		}
		v, err := item(i)
		if err != nil {
			s.err = err
			return
		}
		s.value(v)
	}
	s.raw("]")
}

// changes writes an array of what view makes of each change, converted.
func (s *jsonStream) changes(mode string, cs []Change, view func(tfResourceChange) any) {
	s.array(len(cs), func(i int) (any, error) {
		rc, err := resourceChange(cs[i], mode)
		return view(rc), err
	})
}

// picked writes an array of what view makes of the changes of p at
// indices, converted.
func (s *jsonStream) picked(p Plan, indices []int, view func(tfResourceChange) any) {
	s.array(len(indices), func(i int) (any, error) {
		rc, err := resourceChange(p.Changes[indices[i]], p.Mode)
		return view(rc), err
	})
}

// understudy writes the extension of p, its changes one at a time.
func (s *jsonStream) understudy(p Plan) {
	s.raw("{")
	for i, f := range []struct {
		key string
		v   any
	}{{"plan_id", p.ID}, {"workspace", p.Workspace}, {"serial", p.Serial}, {"mode", p.Mode}, {"status", p.Status}} {
		if i > 0 {
			s.raw(",")
		}
		s.raw(strconv.Quote(f.key) + ":")
		s.value(f.v)
	}
	if p.CreatedBy != "" {
		s.raw(`,"created_by":`)
		s.value(p.CreatedBy)
	}
	s.raw(`,"summary":`)
	s.value(p.Summary)
	s.raw(`,"changes":`)
	s.array(len(p.Changes), func(i int) (any, error) {
		c := p.Changes[i]
		return tfUnderstudyEntry{Address: Address(c.Address), SpecAddress: c.Address, ID: c.ID, Action: c.Action, Reason: c.Reason, Effects: c.Effects}, nil
	})
	s.raw(`,"unmanaged":`)
	s.array(len(p.Unmanaged), func(i int) (any, error) { return p.Unmanaged[i], nil })
	if len(p.Applied) > 0 {
		s.raw(`,"applied":`)
		s.array(len(p.Applied), func(i int) (any, error) {
			a := p.Applied[i]
			a.Address = Address(a.Address)
			return a, nil
		})
	}
	for _, f := range []struct {
		key   string
		addrs []string
	}{{"targets", p.Targets}, {"replace", p.Replace}} {
		if len(f.addrs) > 0 {
			s.raw(`,"` + f.key + `":`)
			s.array(len(f.addrs), func(i int) (any, error) { return Address(f.addrs[i]), nil })
		}
	}
	if p.ApplyError != "" {
		s.raw(`,"apply_error":`)
		s.value(p.ApplyError)
	}
	s.raw("}")
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
	Address      string `json:"address"`
	Mode         string `json:"mode"`
	Type         string `json:"type"`
	Name         string `json:"name"`
	Index        any    `json:"index,omitempty"`
	ProviderName string `json:"provider_name"`
	// PreviousAddress is the address a moved block moved the object from.
	PreviousAddress string   `json:"previous_address,omitempty"`
	Change          tfChange `json:"change"`
	ActionReason    string   `json:"action_reason,omitempty"`
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
	if c.PreviousAddress != "" {
		rc.PreviousAddress = Address(c.PreviousAddress)
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
