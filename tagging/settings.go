package tagging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/understudy-dev/understudy/internal/egress"
)

// DecodeSettings decodes a destination's settings into v strictly: one
// JSON object, no unknown field. Empty settings decode as {}. Errors are a
// *ConfigError naming the setting ("settings.project_id").
func DecodeSettings(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		return &ConfigError{Field: "settings", Detail: "holds more than one JSON value"}
	}
	if err == nil {
		return nil
	}
	if ute, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && ute.Field != "" {
		return &ConfigError{Field: "settings." + ute.Field, Detail: fmt.Sprintf("must be a %s, not a JSON %s", ute.Type, ute.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &ConfigError{Field: "settings." + strings.Trim(name, `"`), Detail: "is not a known setting"}
	}
	return &ConfigError{Field: "settings", Detail: "is not a JSON object: " + err.Error()}
}

// CheckURL returns a *ConfigError naming field unless raw passes
// egress.CheckURL: https (http only to a loopback host), with a host and
// no credentials, query or fragment. Every destination's URL setting goes
// through it, so no vendor key travels in cleartext.
func CheckURL(field, raw string) error {
	if _, err := egress.CheckURL(raw); err != nil {
		return &ConfigError{Field: field, Detail: err.Error()}
	}
	return nil
}
