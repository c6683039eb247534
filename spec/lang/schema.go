package lang

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/understudy-dev/understudy/spec"
)

// attrSpec is one attribute of a block kind.
type attrSpec struct {
	name     string
	typ      cty.Type // cty.DynamicPseudoType: any object (settings)
	required bool
	// secret marks the attributes that may hold sensitive values (the
	// secrets maps); they are not readable by references either.
	secret bool
}

// kindSpec is what a block of one kind holds.
type kindSpec struct {
	attrs  []attrSpec
	blocks []string // nested blocks, at most one of each
}

var (
	stringList = cty.List(cty.String)
	stringMap  = cty.Map(cty.String)
	anyObject  = cty.DynamicPseudoType
)

// metaForEach is the meta-argument that makes one object per key.
const metaForEach = "for_each"

// Nested block types.
const (
	blockLifecycle       = "lifecycle"
	blockIsolationPolicy = "isolation_policy"
)

// kinds are the block kinds of the objects a spec manages, as in the
// REST API.
var kinds = map[string]kindSpec{
	spec.KindEnvironment: {attrs: []attrSpec{
		{name: "name", typ: cty.String},
		{name: "email_domains", typ: stringList, required: true},
		{name: "custom_surfaces", typ: stringList},
		{name: "inbox_retention", typ: cty.String},
		{name: "inbox_max_messages", typ: cty.Number},
		{name: "capture_retention", typ: cty.String},
	}, blocks: []string{blockLifecycle}},
	spec.KindApp: {attrs: []attrSpec{
		{name: "environment", typ: cty.String, required: true},
		{name: "name", typ: cty.String},
		{name: "provider", typ: cty.String, required: true},
		{name: "settings", typ: anyObject},
		{name: "secrets", typ: stringMap, secret: true},
	}, blocks: []string{blockLifecycle}},
	spec.KindRole: {attrs: []attrSpec{
		{name: "environment", typ: cty.String, required: true},
		{name: "name", typ: cty.String},
		{name: "description", typ: cty.String},
		{name: "pool_size", typ: cty.Number},
		{name: "attributes", typ: stringMap},
		{name: "quarantine_on_violation", typ: cty.Bool},
		{name: "code_pattern", typ: cty.String},
		{name: "link_pattern", typ: cty.String},
	}, blocks: []string{blockIsolationPolicy, blockLifecycle}},
	spec.KindDestination: {attrs: []attrSpec{
		{name: "environment", typ: cty.String, required: true},
		{name: "name", typ: cty.String},
		{name: "kind", typ: cty.String, required: true},
		{name: "settings", typ: anyObject},
		{name: "secrets", typ: stringMap, secret: true},
		{name: "distinct_id", typ: cty.String},
		{name: "sync_interval", typ: cty.String},
	}, blocks: []string{blockLifecycle}},
	spec.KindFlow: {attrs: []attrSpec{
		{name: "environment", typ: cty.String, required: true},
		{name: "name", typ: cty.String},
		{name: "role", typ: cty.String, required: true},
		{name: "every", typ: cty.String, required: true},
	}, blocks: []string{blockLifecycle}},
}

// schema returns the HCL schema of a kind.
func (k kindSpec) schema() *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, a := range k.attrs {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: a.name, Required: a.required})
	}
	s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: metaForEach})
	for _, b := range k.blocks {
		s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: b})
	}
	return s
}

// attr returns the spec of attribute name.
func (k kindSpec) attr(name string) attrSpec {
	for _, a := range k.attrs {
		if a.name == name {
			return a
		}
	}
	return attrSpec{}
}

var lifecycleSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "prevent_destroy"}}}

var importSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "to", Required: true}, {Name: "id", Required: true},
}}

var movedSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "from", Required: true}, {Name: "to", Required: true},
}}

var removedSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "from", Required: true}}}

var variableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"},
}}

// expected adds to each diagnostic of an unexpected argument or block
// what the body (described by what, "A role block") expects instead.
func expected(diags hcl.Diagnostics, what string, s *hcl.BodySchema) hcl.Diagnostics {
	for _, d := range diags {
		switch d.Summary {
		case "Unsupported argument":
			d.Detail += " " + expects(what, "arguments", attributeNames(s))
		case "Unsupported block type":
			d.Detail += " " + expects(what, "blocks", blockNames(s))
		}
	}
	return diags
}

func expects(what, things string, names []string) string {
	if len(names) == 0 {
		return fmt.Sprintf("%s takes no %s.", what, things)
	}
	return fmt.Sprintf("%s takes the %s %s.", what, things, strings.Join(names, ", "))
}

func attributeNames(s *hcl.BodySchema) []string {
	var names []string
	for _, a := range s.Attributes {
		names = append(names, a.Name)
	}
	return names
}

func blockNames(s *hcl.BodySchema) []string {
	var names []string
	for _, b := range s.Blocks {
		names = append(names, b.Type)
	}
	return names
}
