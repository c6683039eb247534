package console

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
)

// auditFilter is the audit page's filter form.
type auditFilter struct {
	Actor, Action, TargetType, TargetID, Since string
}

// auditPageSize is how many events a page of the audit trail shows.
const auditPageSize = 50

// auditEvent is an event as the audit trail shows it: its target linked
// to the target's page, where there is one, and its details as fields.
type auditEvent struct {
	access.Event
	TargetURL string
	Fields    []field
}

// auditPage shows the audit trail, newest first, 50 a page, filtered by
// actor, action, target and time, paged by keyset: ?before= (an event id)
// goes to older events, ?after= back to newer ones.
func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, s session) {
	q := r.URL.Query()
	in := auditFilter{Actor: q.Get("actor"), Action: q.Get("action"), TargetType: q.Get("target_type"),
		TargetID: q.Get("target_id"), Since: strings.TrimSpace(q.Get("since"))}
	f := access.AuditFilter{Actor: in.Actor, Action: in.Action, TargetType: in.TargetType, TargetID: in.TargetID, Limit: auditPageSize + 1}
	var err error
	if in.Since != "" {
		f.Since, err = parseSince(in.Since, c.cfg.Now())
	}
	for name, to := range map[string]*int64{"before": &f.Before, "after": &f.After} {
		if v := q.Get(name); v != "" && err == nil {
			if *to, err = strconv.ParseInt(v, 10, 64); err != nil || *to <= 0 {
				err = understudy.Invalid("invalid page", understudy.FieldError{Field: name, Detail: "must be an event id"})
			}
		}
	}
	if err != nil && understudy.ErrorCode(err) == understudy.EINVALID {
		// The form stays as it was typed, with what is wrong with it.
		p := pageFor(s, "Audit trail", "audit")
		p.Flash = &flash{Kind: "error", Text: safeMessage(err)}
		p.Data = auditData{Filter: in}
		c.render(w, r, understudy.ErrorStatusCode(understudy.EINVALID), "audit", p)
		return
	}
	var events []access.Event
	if err == nil {
		events, err = c.cfg.Audit.List(r.Context(), f)
	}
	var shown []auditEvent
	if err == nil {
		shown, err = c.auditEvents(r.Context(), events[:min(len(events), auditPageSize)])
	}
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	d := auditData{Filter: in, Events: shown, Paged: f.Before > 0 || f.After > 0}
	more := len(events) > auditPageSize
	if n := len(shown); n > 0 {
		newest, oldest := strconv.FormatInt(shown[0].ID, 10), strconv.FormatInt(shown[n-1].ID, 10)
		switch {
		case f.After > 0: // newer events than a page seen: older ones are there, newer ones maybe
			d.Older = oldest
			if more {
				d.Newer = newest
			}
		case f.Before > 0: // older events than a page seen: newer ones are there
			d.Newer = newest
			if more {
				d.Older = oldest
			}
		default:
			if more {
				d.Older = oldest
			}
		}
	}
	p := pageFor(s, "Audit trail", "audit")
	p.Data = d
	c.render(w, r, http.StatusOK, "audit", p)
}

// auditData is what the audit page shows. Older and Newer are the event
// ids its links page from (?before=, ?after=); Paged says it is not the
// newest page, so it links to that too.
type auditData struct {
	Filter       auditFilter
	Events       []auditEvent
	Older, Newer string
	Paged        bool
}

// auditEvents prepares events for the page: each target's page, and each
// event's details as fields.
func (c *Console) auditEvents(ctx context.Context, events []access.Event) ([]auditEvent, error) {
	pages, err := c.targetPages(ctx, events)
	if err != nil {
		return nil, err
	}
	out := make([]auditEvent, len(events))
	for i, e := range events {
		out[i] = auditEvent{Event: e, Fields: fields(e.Details)}
		out[i].TargetURL = pages[e.TargetType+"/"+e.TargetID]
	}
	return out, nil
}

// targetPages maps "type/id" of each event's target to the console page
// that shows it: an account, an environment, a role's accounts, an app's
// environment, a destination on the Sync page, an isolation violation on
// the Isolation page, a lease. Targets without a page of their own
// (tokens, keys) are not linked. Roles, apps and destinations are named by id in
// the trail, so their environments' lists are read once, only when a page
// of events names one.
func (c *Console) targetPages(ctx context.Context, events []access.Event) (map[string]string, error) {
	out := map[string]string{}
	needLists := false
	for _, e := range events {
		key := e.TargetType + "/" + e.TargetID
		switch e.TargetType {
		case "account":
			out[key] = Prefix + "accounts/" + e.TargetID
		case "environment":
			out[key] = Prefix + "environments/" + e.TargetID
		case "lease":
			out[key] = Prefix + "leases/" + e.TargetID
		case "isolation_violation":
			out[key] = Prefix + "isolation?show=all"
		case "role", "app", "destination":
			needLists = true
		}
	}
	if !needLists {
		return out, nil
	}
	envs, err := c.cfg.Accounts.ListEnvironments(ctx)
	if err != nil {
		return nil, err
	}
	for _, env := range envs {
		roles, err := c.cfg.Accounts.ListRoles(ctx, env.Name)
		if err != nil {
			return nil, err
		}
		for _, r := range roles {
			out["role/"+r.ID] = link(Prefix+"accounts", "environment", env.Name, "role", r.Name)
		}
		apps, err := c.cfg.Apps.List(ctx, env.Name)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			out["app/"+a.ID] = Prefix + "environments/" + env.Name + "#apps-" + env.Name
		}
		dests, err := c.cfg.Destinations.List(ctx, env.Name)
		if err != nil {
			return nil, err
		}
		for _, d := range dests {
			out["destination/"+d.ID] = Prefix + "sync#" + destAnchor(d.Environment, d.Name)
		}
	}
	return out, nil
}

// destAnchor is the id of a destination's section on the Sync page.
func destAnchor(env, name string) string { return "dest-" + env + "-" + name }

// field is one detail of an audit event: a key (nested keys joined by
// dots) and its value as text.
type field struct{ Key, Value string }

// fields flattens an event's details into fields sorted by key: a nested
// map becomes a.b, a list of plain values is joined by commas, anything
// else is compact JSON; an empty map or list says "none".
func fields(details map[string]any) []field {
	var out []field
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			key := prefix + k
			switch v := m[k].(type) {
			case map[string]any:
				if len(v) == 0 {
					out = append(out, field{key, "none"})
				}
				walk(key+".", v)
			default:
				out = append(out, field{key, fieldValue(v)})
			}
		}
	}
	walk("", details)
	return out
}

// fieldValue renders one detail's value as text.
func fieldValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		return x
	case bool, float64, int, int64, json.Number:
		return fmt.Sprint(x)
	case []any:
		if len(x) == 0 {
			return "none"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				b, _ := json.Marshal(x)
				return string(b)
			}
			parts[i] = fieldValue(e)
		}
		return strings.Join(parts, ", ")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// sinceForms says which forms the audit page's since field takes.
const sinceForms = "must be a duration back from now (30m, 24h, 7d), a date (2026-12-01), a date and time " +
	"(2026-12-01T14:00, in UTC, or RFC 3339 with its zone, 2026-12-01T14:00:00+01:00), today or yesterday"

// daysRE is a duration in days, which time.ParseDuration does not take.
var daysRE = regexp.MustCompile(`^(\d{1,4})d$`)

// parseSince reads the audit page's since field, relative to now: a
// duration back from now (Go's units, and d for days), a date or a date
// and time (UTC unless it names its zone), today or yesterday (from
// midnight UTC). Errors: EINVALID naming the forms it takes.
func parseSince(v string, now time.Time) (time.Time, error) {
	now = now.UTC()
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch strings.ToLower(v) {
	case "today":
		return midnight, nil
	case "yesterday":
		return midnight.AddDate(0, 0, -1), nil
	}
	if m := daysRE.FindStringSubmatch(v); m != nil {
		n, _ := strconv.Atoi(m[1])
		return now.AddDate(0, 0, -n), nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, understudy.Invalid("invalid filter", understudy.FieldError{Field: "since", Detail: sinceForms})
}
