package webhook_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/webhook"
	"github.com/understudy-dev/understudy/providers/webhook/signature"
)

func TestSurfaceAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		status   int
		body     string
		want     error
		mentions string
	}{
		{"refs", 200, `{"refs":["7","42","7"]}`, nil, ""},
		{"no one", 200, `{"refs":[]}`, nil, ""},
		{"no refs", 200, `{"users":["7"]}`, providers.ErrProtocol, "no refs array"},
		{"null refs", 200, `{"refs":null}`, providers.ErrProtocol, "no refs array"},
		{"numbers", 200, `{"refs":[7,42]}`, providers.ErrProtocol, "does not fit the contract"},
		{"empty ref", 200, `{"refs":["7",""]}`, providers.ErrProtocol, "empty ref"},
		{"garbage", 200, `<html>trending</html>`, providers.ErrProtocol, "not a JSON object"},
		{"array", 200, `["7"]`, providers.ErrProtocol, "not a JSON object"},
		{"404 no_surface", 404, `{"code":"no_surface","detail":"chirp has no reviews"}`, providers.ErrNoSurface, "chirp has no reviews"},
		{"404 not_found", 404, `{"code":"not_found"}`, providers.ErrNoSurface, "HTTP 404"},
		{"404 without code", 404, `404 page not found`, providers.ErrProtocol, "settings.base_url"},
		{"422", 422, `{"code":"invalid"}`, providers.ErrRefused, "HTTP 422"},
		{"500", 500, `{"code":"internal"}`, providers.ErrUnavailable, "HTTP 500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, tc.status, tc.body) })
			c, _ := newClient(t, a.URL, func(cfg *webhook.Config) { cfg.MaxAttempts = 1 })
			refs, err := c.Surface(t.Context(), "trending")
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Surface: %v, want nil", err)
				}
				var want struct{ Refs []string }
				_ = json.Unmarshal([]byte(tc.body), &want)
				if !slices.Equal(refs, want.Refs) || refs == nil {
					t.Fatalf("Surface = %#v, want %#v", refs, want.Refs)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.mentions) || refs != nil {
				t.Fatalf("Surface = %v, %v, want %q mentioning %q", refs, err, tc.want, tc.mentions)
			}
			if !strings.Contains(err.Error(), "reading surface trending of shop") {
				t.Errorf("error %q does not say what was being done", err)
			}
		})
	}
}

func TestSurfaceRequest(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			problem(w, 503, "internal", "busy")
			return
		}
		writeJSON(w, 200, `{"refs":["7"]}`)
	})
	c, clk := newClient(t, a.URL, nil)
	refs, err := c.Surface(access.WithRequestID(t.Context(), "req-surface"), "leaderboards")
	if err != nil || !slices.Equal(refs, []string{"7"}) {
		t.Fatalf("Surface = %v, %v", refs, err)
	}
	reqs := a.requests()
	if len(reqs) != 2 || len(clk.Waits()) != 1 {
		t.Fatalf("%d requests, %d waits: want one retry after the 503", len(reqs), len(clk.Waits()))
	}
	for _, r := range reqs {
		if r.path != "/surface" || string(r.body) != `{"surface":"leaderboards"}` {
			t.Errorf("request %s %s, want /surface with the surface", r.path, r.body)
		}
		if r.header.Get("X-Request-ID") != "req-surface" || r.header.Get("Idempotency-Key") != "" {
			t.Errorf("headers %v: want the request id and no idempotency key (a read)", r.header)
		}
		if err := signature.Verify(secret, r.header.Get(signature.Header), r.body, testNow, time.Minute); err != nil {
			t.Errorf("signature: %v", err)
		}
	}
}
