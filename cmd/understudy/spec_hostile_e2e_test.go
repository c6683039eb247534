package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Hostile addresses to forget, and hostile targets and replaces of a plan,
// are each a 4xx, never a 500; a thousand long wrong addresses, as the
// contract allows, are answered in a few kilobytes; nothing is forgotten
// by a refused forget; duplicates forget an object once.
func TestHostileAddressesToForgetAndTargetAre4xx(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	mustOK(t, s.cli(t, s.Admin, "apply", "-auto-approve", exampleSpec))
	long := make([]string, 1000)
	for i := range long {
		long[i] = "understudy_role.x" + strings.Repeat("é", 140) + string(rune('a'+i%26))
	}
	longer := make([]string, 1000)
	for i := range longer {
		longer[i] = "understudy_role.x" + strings.Repeat("y", 1000) + string(rune('a'+i%26))
	}
	type call struct {
		name, path, body string
	}
	var calls []call
	for name, addrs := range map[string][]string{
		"injection": {"role.buyer'; DROP TABLE spec_objects; --"}, "unicode": {"understudy_role.bμyer\u202e"},
		"1000 long": long, "1001": make([]string, 1001), "301 bytes": {strings.Repeat("a", 301)},
	} {
		calls = append(calls, call{"forget " + name, "/v1/workspaces/default/forget", jsonOf(t, map[string]any{"addresses": addrs})})
	}
	calls = append(calls, call{"forget NUL", "/v1/workspaces/default/forget", `{"addresses":["role.bu\u0000yer"]}`},
		call{"forget not UTF-8", "/v1/workspaces/default/forget", "{\"addresses\":[\"role.\xff\"]}"},
		call{"forget a lone surrogate", "/v1/workspaces/default/forget", `{"addresses":["role.\ud800"]}`})
	for name, req := range map[string]map[string]any{
		"NUL":            {"targets": []string{"role.staging[\"\x00\"]"}},
		"malformed":      {"targets": []string{`role.staging["a"]]`, `role.staging[`, `role.`, `.x`, `role.a.b`, `role.staging[1]`, `role.staging[{}]`}},
		"1000 long":      {"targets": longer},
		"1000 replaces":  {"replace": longer},
		"1001":           {"targets": make([]string, 1001)},
		"destroy":        {"mode": "destroy", "replace": []string{"role.buyer"}},
		"every instance": {"replace": []string{"role.staging"}},
		"lone surrogate": {"targets": []string{`role.staging["\ud800"]`}},
	} {
		req["workspace"], req["desired"] = "default", map[string]any{}
		calls = append(calls, call{"plan " + name, "/v1/plans", jsonOf(t, req)})
	}
	for _, c := range calls {
		resp, b := s.raw(t, s.Admin, "POST", c.path, "application/json", strings.NewReader(c.body))
		switch {
		case resp.StatusCode < 400 || resp.StatusCode >= 500:
			t.Errorf("%s: %d\n%.300s", c.name, resp.StatusCode, b)
		case len(b) > 100_000:
			t.Errorf("%s: an answer of %d bytes", c.name, len(b))
		}
	}
	resp, b := s.raw(t, s.Admin, "POST", "/v1/workspaces/default/forget", "application/json",
		strings.NewReader(`{"addresses":["role.buyer","understudy_role.buyer","role.buyer"]}`))
	var out struct {
		Forgotten []struct{ Address string }
		Workspace struct{ Objects int }
	}
	if err := json.Unmarshal(b, &out); resp.StatusCode != http.StatusOK || err != nil || len(out.Forgotten) != 1 || out.Workspace.Objects != 5 {
		t.Fatalf("forget of one object named thrice: %d %s", resp.StatusCode, b)
	}
}
