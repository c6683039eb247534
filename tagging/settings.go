package tagging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
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

// CheckURL returns a *ConfigError naming field unless raw is an http(s)
// URL with a host and no credentials, query or fragment.
func CheckURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return &ConfigError{Field: field, Detail: "must be an http(s) URL with a host and no credentials, query or fragment"}
	}
	return nil
}
