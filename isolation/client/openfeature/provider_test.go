package openfeature_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/understudy-dev/understudy/isolation/client"
	"github.com/understudy-dev/understudy/isolation/client/openfeature"
)

// listBody is a list in the contract's format, with one synthetic account.
const listBody = `{"format":1,"environment":"production","version":"3-1","issued_at":"2026-11-25T20:00:00Z",
"controlled_domains":["qa.example.test"],"surfaces":["leaderboards","social_feed","public_profile"],
"identities":[{"ids":["acc-a","a@qa.example.test"],"role":"buyer",
"policy":{"leaderboards":"hidden","social_feed":"testers_only","public_profile":"allowed"}},
{"ids":["acc-b"],"role":"buyer","policy":{"leaderboards":"hidden","social_feed":"testers_only","public_profile":"allowed"}}]}`

// newClient starts a client against a fake server signing listBody with
// a pinned key; down makes the server answer 503.
func newClient(t *testing.T, down *atomic.Bool) *client.Client {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	keyID := hex.EncodeToString(sum[:8])
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(listBody)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() || r.URL.Path != "/v1/environments/production/isolation/list" {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("ETag", `"3-1"`)
		w.Header().Set(client.SignatureHeader, "keyid="+keyID+", ed25519="+sig)
		_, _ = w.Write([]byte(listBody))
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(client.Config{
		BaseURL: srv.URL, Token: "app-token", Environment: "production",
		PublicKeys:        map[string]ed25519.PublicKey{keyID: pub},
		ControlledDomains: []string{"qa.example.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// ofClient is an OpenFeature client of an isolated API using the provider.
func ofClient(t *testing.T, c *client.Client) *of.Client {
	t.Helper()
	api := isolated.NewAPI()
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	if err := api.SetProviderAndWait(context.Background(), openfeature.New(c)); err != nil {
		t.Fatal(err)
	}
	return api.NewClient()
}

func TestBooleanFlags(t *testing.T) {
	t.Parallel()
	ofc := ofClient(t, newClient(t, new(atomic.Bool)))
	ctx := context.Background()
	tests := []struct {
		name, flag, subject string
		attrs               map[string]any
		want                bool
		variant, reason     string
	}{
		{"synthetic id", "understudy.synthetic", "a@qa.example.test", nil, true, "synthetic", ""},
		{"real id", "understudy.synthetic", "real-1", nil, false, "real", ""},
		{"hidden to a real viewer", "understudy.visible.leaderboards", "acc-a", map[string]any{"viewer": "real-1"}, false, "hidden", "hidden"},
		{"testers_only to a synthetic viewer", "understudy.visible.social_feed", "acc-a", map[string]any{"viewer": "acc-b"}, true, "visible", "testers_only_synthetic_viewer"},
		{"testers_only to an anonymous viewer", "understudy.visible.social_feed", "acc-a", nil, false, "hidden", "testers_only_real_viewer"},
		{"allowed", "understudy.visible.public_profile", "acc-a", map[string]any{"viewer": "real-1"}, true, "visible", "allowed"},
		{"self", "understudy.visible.leaderboards", "acc-a", map[string]any{"viewer": "a@qa.example.test"}, true, "visible", "self"},
		{"real subject", "understudy.visible.leaderboards", "real-2", map[string]any{"viewer": "real-1"}, true, "visible", "not_synthetic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The default is the opposite of the answer, so a fallback shows.
			d, err := ofc.BooleanValueDetails(ctx, tt.flag, !tt.want, of.NewEvaluationContext(tt.subject, tt.attrs))
			if err != nil {
				t.Fatalf("BooleanValueDetails: %v", err)
			}
			if d.Value != tt.want || d.Variant != tt.variant || d.Reason != of.TargetingMatchReason {
				t.Errorf("got %v, variant %q, reason %s; want %v, %q, TARGETING_MATCH", d.Value, d.Variant, d.Reason, tt.want, tt.variant)
			}
			if got, _ := d.FlagMetadata["reason"].(string); got != tt.reason {
				t.Errorf("metadata reason %q, want %q", got, tt.reason)
			}
			if got := d.FlagMetadata["list_version"]; got != "3-1" {
				t.Errorf("metadata list_version %v, want 3-1", got)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ofc := ofClient(t, newClient(t, new(atomic.Bool)))
	ctx := context.Background()
	withViewer := of.NewEvaluationContext("acc-a", map[string]any{"viewer": "real-1"})

	check := func(name string, gotCode of.ErrorCode, gotReason of.Reason, err error, wantCode of.ErrorCode) {
		t.Helper()
		if err == nil || gotCode != wantCode || gotReason != of.ErrorReason {
			t.Errorf("%s: code %q, reason %s, err %v; want %s, ERROR", name, gotCode, gotReason, err, wantCode)
		}
	}
	d, err := ofc.BooleanValueDetails(ctx, "checkout.new_flow", true, withViewer)
	check("unknown flag", d.ErrorCode, d.Reason, err, of.FlagNotFoundCode)
	if !d.Value {
		t.Error("unknown flag did not return the default")
	}
	d, err = ofc.BooleanValueDetails(ctx, "understudy.visible.", true, withViewer)
	check("no surface", d.ErrorCode, d.Reason, err, of.FlagNotFoundCode)
	s, err := ofc.StringValueDetails(ctx, "understudy.synthetic", "x", withViewer)
	check("string evaluation", s.ErrorCode, s.Reason, err, of.TypeMismatchCode)
	if s.Value != "x" {
		t.Errorf("string evaluation value %q, want the default", s.Value)
	}
	i, err := ofc.IntValueDetails(ctx, "understudy.visible.search", 7, withViewer)
	check("int evaluation", i.ErrorCode, i.Reason, err, of.TypeMismatchCode)
	fl, err := ofc.FloatValueDetails(ctx, "other.flag", 1, withViewer)
	check("float evaluation of another flag", fl.ErrorCode, fl.Reason, err, of.FlagNotFoundCode)
	o, err := ofc.ObjectValueDetails(ctx, "understudy.synthetic", nil, withViewer)
	check("object evaluation", o.ErrorCode, o.Reason, err, of.TypeMismatchCode)
	d, err = ofc.BooleanValueDetails(ctx, "understudy.synthetic", true, of.NewTargetlessEvaluationContext(nil))
	check("no targeting key", d.ErrorCode, d.Reason, err, of.TargetingKeyMissingCode)
	d, err = ofc.BooleanValueDetails(ctx, "understudy.visible.leaderboards", true, of.NewEvaluationContext("acc-a", map[string]any{"viewer": 42}))
	check("viewer not a string", d.ErrorCode, d.Reason, err, of.InvalidContextCode)
	if !d.Value {
		t.Error("an invalid context did not return the default")
	}
}

func TestStaleWhileDegraded(t *testing.T) {
	t.Parallel()
	down := new(atomic.Bool)
	down.Store(true)
	c := newClient(t, down)
	ofc := ofClient(t, c)
	ctx := context.Background()
	evalCtx := of.NewEvaluationContext("a@QA.example.test", map[string]any{"viewer": "real-1"})
	d, err := ofc.BooleanValueDetails(ctx, "understudy.visible.public_profile", true, evalCtx)
	if err != nil || d.Value || d.Reason != openfeature.StaleReason || d.FlagMetadata["reason"] != "degraded_fail_closed" {
		t.Errorf("before the first list: %v, %s, %v, err %v; want hidden, STALE, degraded_fail_closed", d.Value, d.Reason, d.FlagMetadata, err)
	}
	down.Store(false)
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	d, err = ofc.BooleanValueDetails(ctx, "understudy.visible.public_profile", false, evalCtx)
	if err != nil || !d.Value || d.Reason != of.TargetingMatchReason {
		t.Errorf("with the list: %v, %s, err %v; want visible, TARGETING_MATCH", d.Value, d.Reason, err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
