package segment

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"

	"github.com/understudy-dev/understudy/tagging"
)

// filterDescription is the managed filter's description in Segment's UI.
const filterDescription = "Managed by Understudy: drops the events of synthetic test accounts. Edits are overwritten; delete it in Understudy's configuration."

// filterAction is a destination filter action.
type filterAction struct {
	Type string `json:"type"`
}

// filter is a destination filter as the Public API shows it.
type filter struct {
	ID          string         `json:"id"`
	SourceID    string         `json:"sourceId"`
	If          string         `json:"if"`
	Actions     []filterAction `json:"actions"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Enabled     bool           `json:"enabled"`
}

var dropAction = []filterAction{{Type: "DROP"}}

// EnsureFilter previews the managed filter's FQL, and only when the
// preview drops a synthetic event and keeps a real one, creates or updates
// the one managed filter on each configured destination (found by its
// title and source), deleting duplicates of it and leaving every other
// filter alone.
func (p *FilteringPublisher) EnsureFilter(ctx context.Context) (bool, error) {
	if err := p.preview(ctx); err != nil {
		return false, fmt.Errorf("previewing the filter of %s (nothing installed): %w", p.dest, err)
	}
	changed := false
	for _, dest := range p.cfg.DestinationIDs {
		c, err := p.ensureOn(ctx, dest)
		if err != nil {
			return changed, fmt.Errorf("keeping the filter of %s on destination %s: %w", p.dest, dest, err)
		}
		changed = changed || c
	}
	return changed, nil
}

// preview runs the FQL on a synthetic and a real sample event: invalid FQL
// would drop every event, so a preview error or a wrong result installs
// nothing.
func (p *FilteringPublisher) preview(ctx context.Context) error {
	samples := []struct {
		payload map[string]any
		drop    bool
	}{
		{map[string]any{"type": "identify", "userId": "synthetic-preview", "traits": map[string]any{tagging.TagSynthetic: true}}, true},
		{map[string]any{"type": "track", "event": "Preview", "userId": "synthetic-preview",
			"context": map[string]any{"traits": map[string]any{tagging.TagSynthetic: true}}}, true},
		{map[string]any{"type": "track", "event": "Preview", "userId": "real-preview",
			"context": map[string]any{"traits": map[string]any{tagging.TagSynthetic: false}}}, false},
	}
	for _, s := range samples {
		var out struct {
			Data struct {
				Result json.RawMessage `json:"result"`
			} `json:"data"`
		}
		in := map[string]any{"filter": map[string]any{"if": FilterFQL, "actions": dropAction}, "payload": s.payload}
		if err := p.api(ctx, "POST", "/destination/filters/preview", in, &out); err != nil {
			return err
		}
		dropped := len(out.Data.Result) == 0 || string(out.Data.Result) == "null"
		if dropped != s.drop {
			return fmt.Errorf("%w: the preview of %q on a %s event dropped it: %v, want %v",
				tagging.ErrRejected, FilterFQL, s.payload["type"], dropped, s.drop)
		}
	}
	return nil
}

// ensureOn makes the managed filter on one destination what it should be.
func (p *FilteringPublisher) ensureOn(ctx context.Context, dest string) (bool, error) {
	all, err := p.listFilters(ctx, dest)
	if err != nil {
		return false, err
	}
	var mine []filter
	for _, f := range all {
		if f.Title == FilterTitle && f.SourceID == p.cfg.SourceID {
			mine = append(mine, f)
		}
	}
	base := "/destination/" + url.PathEscape(dest) + "/filters"
	want := map[string]any{"if": FilterFQL, "actions": dropAction, "title": FilterTitle, "description": filterDescription, "enabled": true}
	changed := false
	switch {
	case len(mine) == 0 && len(all) >= MaxFiltersPerDestination:
		return false, fmt.Errorf("%w: destination %s already has %d filters, and Segment supports %d per destination; "+
			"remove or merge one of them so that Understudy can add its own, or take %s out of settings.destination_ids",
			tagging.ErrRejected, dest, len(all), MaxFiltersPerDestination, dest)
	case len(mine) == 0:
		want["sourceId"] = p.cfg.SourceID
		if err := p.api(ctx, "POST", base, want, nil); err != nil {
			return false, fmt.Errorf("creating the filter: %w", err)
		}
		p.log.InfoContext(ctx, "segment filter created", slog.String("destination", p.dest), slog.String("segment_destination", dest))
		return true, nil
	case !current(mine[0]):
		if err := p.api(ctx, "PATCH", base+"/"+url.PathEscape(mine[0].ID), want, nil); err != nil {
			return false, fmt.Errorf("updating filter %s: %w", mine[0].ID, err)
		}
		p.log.InfoContext(ctx, "segment filter updated", slog.String("destination", p.dest), slog.String("segment_destination", dest),
			slog.String("filter", mine[0].ID))
		changed = true
	}
	for _, dup := range mine[1:] {
		if err := p.api(ctx, "DELETE", base+"/"+url.PathEscape(dup.ID), nil, nil); err != nil {
			return changed, fmt.Errorf("deleting duplicate filter %s: %w", dup.ID, err)
		}
		changed = true
	}
	return changed, nil
}

func current(f filter) bool {
	return f.If == FilterFQL && f.Enabled && slices.Equal(f.Actions, dropAction) && f.Description == filterDescription
}

// listFilters reads every filter of a destination, page by page.
func (p *FilteringPublisher) listFilters(ctx context.Context, dest string) ([]filter, error) {
	var all []filter
	cursor := ""
	for page := 0; page < 100; page++ {
		q := url.Values{"pagination[count]": {"100"}}
		if cursor != "" {
			q.Set("pagination[cursor]", cursor)
		}
		var out struct {
			Data struct {
				Filters    []filter `json:"filters"`
				Pagination struct {
					Next *json.RawMessage `json:"next"`
				} `json:"pagination"`
			} `json:"data"`
		}
		if err := p.api(ctx, "GET", "/destination/"+url.PathEscape(dest)+"/filters?"+q.Encode(), nil, &out); err != nil {
			return nil, fmt.Errorf("listing filters: %w", err)
		}
		all = append(all, out.Data.Filters...)
		next := nextCursor(out.Data.Pagination.Next)
		if next == "" || next == cursor {
			return all, nil
		}
		cursor = next
	}
	return nil, fmt.Errorf("%w: listing filters: more than 100 pages", tagging.ErrRejected)
}

// nextCursor reads the next page's cursor, a string or (in some versions
// of the API description) a number.
func nextCursor(raw *json.RawMessage) string {
	if raw == nil {
		return ""
	}
	var s string
	if json.Unmarshal(*raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(*raw, &n) == nil {
		return n.String()
	}
	return ""
}
