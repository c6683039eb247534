package lang

import (
	"encoding/json"
	"fmt"

	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/understudy-dev/understudy/spec"
)

// add adds the evaluated r to the Desired.
func (l *loader) add(r *resource) {
	d := &l.cfg.Desired
	lc := spec.Lifecycle{PreventDestroy: r.preventDestroy}
	switch r.kind {
	case spec.KindEnvironment:
		d.Environments = append(d.Environments, spec.Environment{Address: r.addr, Name: r.name(),
			EmailDomains: r.strings("email_domains"), CustomSurfaces: r.strings("custom_surfaces"),
			InboxRetention: r.strPtr("inbox_retention"), InboxMaxMessages: r.intPtr("inbox_max_messages"),
			CaptureRetention: r.strPtr("capture_retention"), Lifecycle: lc})
	case spec.KindApp:
		d.Apps = append(d.Apps, spec.App{Address: r.addr, Environment: r.str("environment"), Name: r.name(),
			Provider: r.str("provider"), Settings: r.settings(), Secrets: r.stringMap("secrets"), Lifecycle: lc})
	case spec.KindRole:
		d.Roles = append(d.Roles, spec.Role{Address: r.addr, Environment: r.str("environment"), Name: r.name(),
			Description: r.str("description"), PoolSize: r.intPtr("pool_size"), Attributes: r.stringMap("attributes"),
			IsolationPolicy: r.isolation, QuarantineOnViolation: r.boolPtr("quarantine_on_violation"),
			CodePattern: r.str("code_pattern"), LinkPattern: r.str("link_pattern"), Lifecycle: lc})
	case spec.KindDestination:
		d.Destinations = append(d.Destinations, spec.Destination{Address: r.addr, Environment: r.str("environment"),
			Name: r.name(), Kind: r.str("kind"), Settings: r.settings(), Secrets: r.stringMap("secrets"),
			DistinctID: r.strPtr("distinct_id"), SyncInterval: r.strPtr("sync_interval"), Lifecycle: lc})
	case spec.KindFlow:
		d.Flows = append(d.Flows, spec.Flow{Address: r.addr, Environment: r.str("environment"), Name: r.name(),
			Role: r.str("role"), Every: r.str("every"), Lifecycle: lc})
	}
}

// name returns the block's name: its name attribute, else the instance
// key of an instance of a for_each block, else its label.
func (r *resource) name() string {
	if v, ok := r.vals["name"]; ok {
		return v.AsString()
	}
	if r.key != nil {
		return *r.key
	}
	return r.label
}

func (r *resource) str(name string) string {
	if v, ok := r.vals[name]; ok {
		return v.AsString()
	}
	return ""
}

func (r *resource) strPtr(name string) *string {
	if v, ok := r.vals[name]; ok {
		return new(v.AsString())
	}
	return nil
}

func (r *resource) boolPtr(name string) *bool {
	if v, ok := r.vals[name]; ok {
		return new(v.True())
	}
	return nil
}

func (r *resource) intPtr(name string) *int {
	if v, ok := r.vals[name]; ok {
		i, _ := v.AsBigFloat().Int64()
		return new(int(i))
	}
	return nil
}

// strings returns a list of strings attribute, empty when absent.
func (r *resource) strings(name string) []string {
	list := []string{}
	if v, ok := r.vals[name]; ok {
		for _, e := range v.AsValueSlice() {
			list = append(list, e.AsString())
		}
	}
	return list
}

// stringMap returns a map of strings attribute, empty when absent.
func (r *resource) stringMap(name string) map[string]string {
	m := map[string]string{}
	if v, ok := r.vals[name]; ok {
		for k, e := range v.AsValueMap() {
			m[k] = e.AsString()
		}
	}
	return m
}

// settings returns the settings attribute as a JSON object, {} when
// absent.
func (r *resource) settings() json.RawMessage {
	v, ok := r.vals["settings"]
	if !ok {
		return json.RawMessage("{}")
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil { // cannot happen: v is known, unmarked and an object
		return json.RawMessage("{}")
	}
	return b
}

// checkNames reports two blocks of a kind with the same name in the same
// environment (or two environments with the same name): the server
// could not tell them apart.
func (l *loader) checkNames() {
	seen := map[string]*resource{}
	for _, r := range l.objects() {
		if !r.evaluated || r.unknown["name"] || r.unknown["environment"] {
			continue
		}
		key := r.kind + "\x00" + r.str("environment") + "\x00" + r.name()
		prev, dup := seen[key]
		if !dup {
			seen[key] = r
			continue
		}
		where := ""
		if r.kind != spec.KindEnvironment {
			where = fmt.Sprintf(" in environment %q", r.str("environment"))
		}
		subject := l.cfg.Sources[r.addr+".name"]
		l.errorf(&subject, "Duplicate name",
			"%s and %s (at %s) both name %s %q%s; names must be unique.",
			r.addr, prev.addr, at(prev.block.DefRange), article(r.kind), r.name(), where)
	}
}
