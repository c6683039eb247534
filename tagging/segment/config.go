package segment

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/tagging"
)

// Kind names this publisher in a destination's configuration.
const Kind = "segment"

// Secret names.
const (
	// SecretWriteKey is the source's write key, for the Tracking API. Required.
	SecretWriteKey = "write_key"
	// SecretAPIToken is a Public API token, for Test, the check before the
	// first write and the destination filters. Optional.
	SecretAPIToken = "api_token"
)

// Documented limits of the Tracking API's batch endpoint, taken in
// decimal kilobytes so that either reading of "KB" holds
// (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/,
// "Max request size" and "Errors": 500KB per batch request, each batched
// event "less than 32KB", 400 Bad Request beyond).
const (
	// MaxCallBytes bounds a call (event) in a batch: each is shorter.
	MaxCallBytes = 32_000
	// MaxBatchBytes is the largest batch request.
	MaxBatchBytes = 500_000
	// DefaultMaxBatch is the most calls per request (our bound; Segment
	// documents bytes only).
	DefaultMaxBatch = 500
)

// MaxFiltersPerDestination is how many destination filters Segment
// supports on one destination
// (https://segment.com/docs/connections/destinations/destination-filters/,
// FAQ "How many filters can I create?"). The publisher needs one of them.
const MaxFiltersPerDestination = 10

// FilterTitle is the title of the one destination filter per destination
// that the publisher owns; it finds its filter by this title and leaves
// every other filter alone.
const FilterTitle = "Understudy: drop synthetic users"

// FilterFQL is the managed filter's condition: an event whose user carries
// is_synthetic = true in its traits (identify), its context traits (track,
// page, screen) or its properties. FQL's = is strict, so false, "true" and
// a missing trait do not match.
const FilterFQL = "traits.is_synthetic = true or context.traits.is_synthetic = true or properties.is_synthetic = true"

// Settings is the JSON settings document of a Segment destination.
type Settings struct {
	// Region is the workspace's region, "us" or "eu". Defaults to "us".
	Region string `json:"region"`
	// SourceID is the Segment source whose write key this is. Required
	// with secrets.api_token.
	SourceID string `json:"source_id"`
	// DestinationIDs are the destinations that get the managed filter.
	// Defaults to none (no filter capability).
	DestinationIDs []string `json:"destination_ids"`
	// TrackingURL is the Tracking API's base URL. Defaults to
	// https://api.segment.io (us) or https://events.eu1.segmentapis.com (eu).
	TrackingURL string `json:"tracking_url"`
	// APIURL is the Public API's base URL. Defaults to
	// https://api.segmentapis.com (us) or https://eu1.api.segmentapis.com (eu).
	APIURL string `json:"api_url"`
	// MaxBatch is the most calls per batch request, 1 to 2000. Defaults to 500.
	MaxBatch int `json:"max_batch"`
}

var regions = map[string][2]string{
	"us": {"https://api.segment.io", "https://api.segmentapis.com"},
	"eu": {"https://events.eu1.segmentapis.com", "https://eu1.api.segmentapis.com"},
}

// Options are what the caller can set beyond the destination's
// configuration.
type Options struct {
	// Sleep waits between attempts, or until ctx is done. Defaults to a
	// timer; tests inject one that records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
}

// config is the validated configuration.
type config struct {
	Settings
	writeKey, apiToken string
}

func (c config) filters() bool { return c.apiToken != "" && len(c.DestinationIDs) > 0 }

func parse(cfg tagging.Config) (config, error) {
	var c config
	if err := tagging.DecodeSettings(cfg.Settings, &c.Settings); err != nil {
		return c, err
	}
	c.Region = cmp.Or(c.Region, "us")
	region, ok := regions[c.Region]
	if !ok {
		return c, &tagging.ConfigError{Field: "settings.region", Detail: `must be "us" or "eu"`}
	}
	c.TrackingURL = strings.TrimRight(cmp.Or(c.TrackingURL, region[0]), "/")
	c.APIURL = strings.TrimRight(cmp.Or(c.APIURL, region[1]), "/")
	if err := tagging.CheckURL("settings.tracking_url", c.TrackingURL); err != nil {
		return c, err
	}
	if err := tagging.CheckURL("settings.api_url", c.APIURL); err != nil {
		return c, err
	}
	c.MaxBatch = cmp.Or(c.MaxBatch, DefaultMaxBatch)
	if c.MaxBatch < 1 || c.MaxBatch > 2000 {
		return c, &tagging.ConfigError{Field: "settings.max_batch", Detail: "must be 1 to 2000"}
	}
	for i, id := range c.DestinationIDs {
		if strings.TrimSpace(id) == "" || strings.ContainsAny(id, "/?#") || slices.Index(c.DestinationIDs, id) != i {
			return c, &tagging.ConfigError{Field: fmt.Sprintf("settings.destination_ids[%d]", i), Detail: "must be a distinct Segment destination id"}
		}
	}
	if strings.ContainsAny(c.SourceID, "/?#") {
		return c, &tagging.ConfigError{Field: "settings.source_id", Detail: "must be a Segment source id"}
	}
	c.writeKey = strings.TrimSpace(cfg.Secrets[SecretWriteKey])
	if c.writeKey == "" {
		return c, &tagging.ConfigError{Field: "secrets." + SecretWriteKey, Detail: "is required"}
	}
	c.apiToken = strings.TrimSpace(cfg.Secrets[SecretAPIToken])
	switch {
	case c.apiToken != "" && c.SourceID == "":
		return c, &tagging.ConfigError{Field: "settings.source_id", Detail: "is required with secrets." + SecretAPIToken}
	case c.apiToken == "" && len(c.DestinationIDs) > 0:
		return c, &tagging.ConfigError{Field: "secrets." + SecretAPIToken, Detail: "is required with settings.destination_ids"}
	}
	return c, nil
}
