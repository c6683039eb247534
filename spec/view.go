package spec

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/tagging"
)

// A view is an object's attributes as a plan shows and compares them:
// JSON values (strings, float64 numbers, bools, []any, map[string]any),
// with each secret's value replaced by SensitiveValue. Secrets are
// compared by their keyed digests, kept beside the view.
type view struct {
	attrs   map[string]any
	digests map[string]string
}

// normalize turns v into plain JSON values, so views compare with
// reflect.DeepEqual whatever Go types built them.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func rawObject(r json.RawMessage) any {
	if len(r) == 0 || string(r) == "null" {
		return map[string]any{}
	}
	var out any
	if err := json.Unmarshal(r, &out); err != nil {
		return string(r)
	}
	return out
}

func newView(attrs map[string]any, secretNames []string, digests map[string]string) view {
	if secretNames != nil {
		masked := map[string]any{}
		for _, n := range secretNames {
			masked[n] = SensitiveValue
		}
		attrs["secrets"] = masked
	}
	out := view{attrs: normalize(attrs).(map[string]any), digests: digests}
	if out.digests == nil {
		out.digests = map[string]string{}
	}
	return out
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func environmentView(e accounts.Environment) view {
	return newView(map[string]any{"name": e.Name, "email_domains": orEmpty(e.EmailDomains), "custom_surfaces": orEmpty(e.CustomSurfaces),
		"inbox_retention": accounts.FormatRetention(e.InboxRetentionSeconds), "inbox_max_messages": e.InboxMaxMessages,
		"capture_retention": accounts.FormatRetention(e.CaptureRetentionSeconds)}, nil, nil)
}

// desiredEnvironmentView shows the settings as the server's view does
// (see environmentSettings).
func desiredEnvironmentView(e Environment) view {
	domains := make([]string, len(e.EmailDomains))
	for i, d := range e.EmailDomains {
		domains[i] = strings.ToLower(strings.TrimSpace(d))
	}
	_, attrs, _ := environmentSettings(e)
	attrs["name"], attrs["email_domains"], attrs["custom_surfaces"] = e.Name, domains, orEmpty(e.CustomSurfaces)
	return newView(attrs, nil, nil)
}

func roleView(r accounts.Role) view {
	return newView(withPatterns(map[string]any{"environment": r.Environment, "name": r.Name, "description": r.Description,
		"pool_size": r.PoolSize, "attributes": r.Attributes, "isolation_policy": r.IsolationPolicy,
		"quarantine_on_violation": r.QuarantineOnViolation}, r.CodePattern, r.LinkPattern), nil, nil)
}

// withPatterns adds a role's patterns to its attributes, each only when
// set, so that a role without them shows as it did before they existed.
func withPatterns(attrs map[string]any, code, link string) map[string]any {
	if code != "" {
		attrs["code_pattern"] = code
	}
	if link != "" {
		attrs["link_pattern"] = link
	}
	return attrs
}

func desiredRoleView(r Role) view {
	pool, quarantine := accounts.DefaultPoolSize, true
	if r.PoolSize != nil {
		pool = *r.PoolSize
	}
	if r.QuarantineOnViolation != nil {
		quarantine = *r.QuarantineOnViolation
	}
	return newView(withPatterns(map[string]any{"environment": r.Environment, "name": r.Name, "description": r.Description,
		"pool_size": pool, "attributes": orMap(r.Attributes), "isolation_policy": orMap(r.IsolationPolicy),
		"quarantine_on_violation": quarantine}, r.CodePattern, r.LinkPattern), nil, nil)
}

func orMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

func appView(a apps.App) view {
	return newView(map[string]any{"environment": a.Environment, "name": a.Name, "provider": a.Provider,
		"settings": rawObject(a.Settings)}, orEmpty(a.SecretNames), a.SecretDigests)
}

func (s *Service) desiredAppView(a App) view {
	return newView(map[string]any{"environment": a.Environment, "name": a.Name, "provider": a.Provider,
		"settings": rawObject(a.Settings)}, slices.Sorted(maps.Keys(a.Secrets)),
		s.cfg.Keyring.DigestMap(a.Secrets, apps.SecretPurpose))
}

func destinationView(d tagging.Destination) view {
	return newView(map[string]any{"environment": d.Environment, "name": d.Name, "kind": d.Kind,
		"settings": rawObject(d.Settings), "distinct_id": d.DistinctID, "sync_interval": d.SyncInterval},
		orEmpty(d.SecretNames), d.SecretDigests)
}

// desiredDestinationView fills a distinct_id or sync_interval the spec
// leaves out with the current value (or, for a new destination, the
// server's default), as Terraform treats an optional computed attribute.
func (s *Service) desiredDestinationView(d Destination, cur *view) view {
	distinct, interval := tagging.DistinctEmail, tagging.DefaultSyncInterval.String()
	if cur != nil {
		distinct, _ = cur.attrs["distinct_id"].(string)
		interval, _ = cur.attrs["sync_interval"].(string)
	}
	if d.DistinctID != nil {
		distinct = *d.DistinctID
	}
	if d.SyncInterval != nil {
		interval = *d.SyncInterval
		if dur, err := time.ParseDuration(interval); err == nil {
			interval = dur.String()
		}
	}
	return newView(map[string]any{"environment": d.Environment, "name": d.Name, "kind": d.Kind,
		"settings": rawObject(d.Settings), "distinct_id": distinct, "sync_interval": interval},
		slices.Sorted(maps.Keys(d.Secrets)), s.cfg.Keyring.DigestMap(d.Secrets, tagging.DestinationSecretPurpose))
}

func flowView(f run.Flow) view {
	return newView(map[string]any{"environment": f.Environment, "name": f.Name, "role": f.Role, "every": f.Every}, nil, nil)
}

// desiredFlowView shows the cadence as the server's view does ("900s" as
// "15m"), so that writing it another way changes nothing; a cadence that
// is not one is shown as written (the plan refuses it).
func desiredFlowView(f Flow) view {
	every := f.Every
	if d, err := run.ParseEvery(every); err == nil {
		every = run.FormatEvery(int(d / time.Second))
	}
	return newView(map[string]any{"environment": f.Environment, "name": f.Name, "role": f.Role, "every": every}, nil, nil)
}

// storedView is the form of a view kept in spec_objects.applied.
type storedView struct {
	Attrs   map[string]any    `json:"attributes"`
	Digests map[string]string `json:"secret_digests"`
}

func (v view) stored() storedView { return storedView{Attrs: v.attrs, Digests: v.digests} }

func (sv *storedView) view() *view {
	if sv == nil || sv.Attrs == nil {
		return nil
	}
	return &view{attrs: sv.Attrs, digests: orMap(sv.Digests)}
}
