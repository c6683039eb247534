package egress_test

import (
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/internal/egress"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		raw, want, err string
	}{
		{"https://api.example.com", "https://api.example.com", ""},
		{"https://example.com/posthog/", "https://example.com/posthog", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"http://127.8.9.10", "http://127.8.9.10", ""},
		{"http://[::1]:9000/x", "http://[::1]:9000/x", ""},
		{"http://localhost:3000", "http://localhost:3000", ""},
		{"http://LOCALHOST.", "http://LOCALHOST.", ""},
		{"http://[::ffff:127.0.0.1]", "http://[::ffff:127.0.0.1]", ""},
		{"http://api.example.com", "", "must use https"},
		{"http://10.0.0.5", "", "must use https"},
		{"http://localhost.example.com", "", "must use https"},
		{"http://128.0.0.1", "", "must use https"},
		{"ftp://example.com", "", "must be an https URL"},
		{"https://user:pw@example.com", "", "credentials"},
		{"https://example.com?a=1", "", "query"},
		{"https://example.com#x", "", "fragment"},
		{"example.com", "", "absolute URL"},
		{"", "", "required"},
		{"https://exa mple.com", "", "not a URL"},
	}
	for _, tc := range cases {
		u, err := egress.CheckURL(tc.raw)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one saying %q", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil || u.String() != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.raw, u, err, tc.want)
		}
	}
}
