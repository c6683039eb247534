package webhook_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/webhook"
	"github.com/understudy-dev/understudy/providers/webhook/signature"
)

func TestAnswers(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("very long detail ", 1000)
	cases := []struct {
		name     string
		status   int
		body     string
		want     error
		mentions string
	}{
		{"200", 200, `{"ref":"42","synthetic":true,"account_id":"acct-1"}`, nil, ""},
		{"not synthetic", 200, `{"ref":"42","synthetic":false,"account_id":""}`, providers.ErrNotSynthetic, "real user"},
		{"other account", 200, `{"ref":"42","synthetic":true,"account_id":"acct-2"}`, providers.ErrNotOwned, "acct-2"},
		{"missing synthetic", 200, `{"ref":"42","account_id":"acct-1"}`, providers.ErrProtocol, "lacks"},
		{"other ref", 200, `{"ref":"43","synthetic":true,"account_id":"acct-1"}`, providers.ErrProtocol, "43"},
		{"not JSON", 200, `<html>hello</html>`, providers.ErrProtocol, "not a JSON object"},
		{"404 not_found", 404, `{"code":"not_found","detail":"no user 42"}`, providers.ErrNotFound, "no user 42"},
		{"404 without code", 404, `404 page not found`, providers.ErrProtocol, "settings.base_url"},
		{"409 not_synthetic", 409, `{"code":"not_synthetic"}`, providers.ErrNotSynthetic, "HTTP 409"},
		{"409 not_owned", 409, `{"code":"not_owned"}`, providers.ErrNotOwned, "HTTP 409"},
		{"409 other", 409, `{"code":"conflict"}`, providers.ErrProtocol, "conflict"},
		{"422", 422, `{"code":"invalid","detail":"ref must be a number"}`, providers.ErrRefused, "ref must be a number"},
		{"400", 400, `{"code":"invalid"}`, providers.ErrRefused, "HTTP 400"},
		{"401", 401, `signature: the signature does not match the body`, providers.ErrRefused, "secrets.signing_secret"},
		{"403", 403, `{"code":"forbidden"}`, providers.ErrProtocol, "HTTP 403"},
		{"302", 302, ``, providers.ErrProtocol, "HTTP 302"},
		{"501", 501, `{"code":"internal"}`, providers.ErrUnavailable, "HTTP 501"},
		{"truncated detail", 422, `{"code":"invalid","detail":"` + long + `"}`, providers.ErrRefused, "very long detail"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if tc.status == 302 {
					w.Header().Set("Location", "http://169.254.169.254/")
				}
				writeJSON(w, tc.status, tc.body)
			})
			c, _ := newClient(t, a.URL, nil)
			err := c.Verify(t.Context(), target)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.mentions) {
				t.Fatalf("Verify: %v, want %q mentioning %q", err, tc.want, tc.mentions)
			}
			if !strings.Contains(err.Error(), "verifying user 42 of account acct-1 in shop") {
				t.Errorf("error %q does not say what was being done", err)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error is %d bytes long, want the detail truncated: %s", len(err.Error()), err)
			}
			if strings.Contains(err.Error(), string(secret)) {
				t.Errorf("error %q holds the signing secret", err)
			}
		})
	}
}

func TestProvisionWithoutRef(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) { writeJSON(w, 200, `{"id":"7"}`) })
	c, _ := newClient(t, a.URL, nil)
	provisioned, err := c.Provision(t.Context(), providers.Account{ID: "acct-1"})
	ref := provisioned.Ref
	if !errors.Is(err, providers.ErrProtocol) || !strings.Contains(err.Error(), "no ref") {
		t.Fatalf("Provision answered without ref = %q, %v; want ErrProtocol", ref, err)
	}
}

func TestSnapshot(t *testing.T) {
	t.Parallel()
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			writeJSON(w, 200, `{"state":{"cart":["sku-1"]}}`)
			return
		}
		writeJSON(w, 200, `{"state":null}`)
	})
	c, _ := newClient(t, a.URL, nil)
	s, err := c.Snapshot(t.Context(), target)
	if err != nil || string(s) != `{"cart":["sku-1"]}` {
		t.Fatalf("Snapshot = %s, %v; want the state", s, err)
	}
	if _, err := c.Snapshot(t.Context(), target); !errors.Is(err, providers.ErrProtocol) {
		t.Errorf("Snapshot answered a null state: %v, want ErrProtocol", err)
	}
}

// TestVerifyBeforeWrite proves that Restore and Deprovision send nothing
// but /verify when verify fails.
func TestVerifyBeforeWrite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code string
		want error
	}{
		{"not_synthetic", providers.ErrNotSynthetic},
		{"not_owned", providers.ErrNotOwned},
	} {
		a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if r.URL.Path == "/verify" {
				problem(w, http.StatusConflict, tc.code, "no")
				return
			}
			writeJSON(w, 200, `{}`)
		})
		c, _ := newClient(t, a.URL, nil)
		err := c.Restore(t.Context(), target, providers.State(`{"cart":[]}`))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "verify before write") {
			t.Errorf("Restore when verify says %s: %v, want %q", tc.code, err, tc.want)
		}
		if err := c.Deprovision(t.Context(), target); !errors.Is(err, tc.want) {
			t.Errorf("Deprovision when verify says %s: %v, want %q", tc.code, err, tc.want)
		}
		if got := a.paths(); !slices.Equal(got, []string{"/verify", "/verify"}) {
			t.Errorf("the app got %v, want only the two verifies", got)
		}
	}
}

func TestRestoreAndDeprovision(t *testing.T) {
	t.Parallel()
	var gone atomic.Bool
	a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case r.URL.Path == "/verify" && gone.Load():
			problem(w, http.StatusNotFound, "not_found", "no user 42")
		case r.URL.Path == "/verify":
			verified(w)
		case r.URL.Path == "/deprovision":
			gone.Store(true)
			writeJSON(w, 200, `{}`)
		default:
			writeJSON(w, 200, `{}`)
		}
	})
	c, _ := newClient(t, a.URL, nil)
	ctx := t.Context()
	if err := c.Restore(ctx, target, providers.State(`{"cart":["sku-1"]}`)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if err := c.Restore(ctx, target, providers.State(`[]`)); err == nil {
		t.Error("Restore of a state that is not an object succeeded, want an error")
	}
	if err := c.Deprovision(ctx, target); err != nil {
		t.Fatalf("Deprovision: %v", err)
	}
	if err := c.Deprovision(ctx, target); err != nil {
		t.Fatalf("Deprovision of a user already gone: %v, want nil", err)
	}
	want := []string{"/verify", "/restore", "/verify", "/deprovision", "/verify"}
	if got := a.paths(); !slices.Equal(got, want) {
		t.Errorf("the app got %v, want %v", got, want)
	}
	var body struct {
		Ref       string          `json:"ref"`
		AccountID string          `json:"account_id"`
		State     json.RawMessage `json:"state"`
	}
	restore := a.requests()[1]
	if err := json.Unmarshal(restore.body, &body); err != nil || body.Ref != "42" || body.AccountID != "acct-1" || string(body.State) != `{"cart":["sku-1"]}` {
		t.Errorf("restore body %s, want ref, account_id and state", restore.body)
	}
	if restore.header.Get("Idempotency-Key") == "" || a.requests()[3].header.Get("Idempotency-Key") == "" {
		t.Error("restore and deprovision carry no Idempotency-Key")
	}
}

func TestSignature(t *testing.T) {
	t.Parallel()
	ok := func(w http.ResponseWriter, r *http.Request) { verified(w) }
	good := httptest.NewServer(signature.Middleware(secret, 0, http.HandlerFunc(ok)))
	t.Cleanup(good.Close)
	other := httptest.NewServer(signature.Middleware([]byte("another-secret-of-the-app"), 0, http.HandlerFunc(ok)))
	t.Cleanup(other.Close)

	c, _ := newClient(t, good.URL, func(c *webhook.Config) { c.Now = time.Now })
	if err := c.Verify(t.Context(), target); err != nil {
		t.Errorf("Verify against an app checking signatures: %v, want nil", err)
	}
	c, _ = newClient(t, other.URL, func(c *webhook.Config) { c.Now = time.Now })
	err := c.Verify(t.Context(), target)
	if !errors.Is(err, providers.ErrRefused) || !strings.Contains(err.Error(), "signing_secret") || !strings.Contains(err.Error(), "401") {
		t.Errorf("Verify with the wrong secret: %v, want ErrRefused mentioning HTTP 401 and the signing secret", err)
	}
}

func TestTest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		answer func(w http.ResponseWriter)
		want   error
	}{
		{"not_found", func(w http.ResponseWriter) { problem(w, 404, "not_found", "no such user") }, nil},
		{"invalid ref", func(w http.ResponseWriter) { problem(w, 422, "invalid", "ref must be a number") }, nil},
		{"wrong base_url", func(w http.ResponseWriter) { http.NotFound(w, nil) }, providers.ErrProtocol},
		{"wrong secret", func(w http.ResponseWriter) { http.Error(w, "bad signature", 401) }, providers.ErrRefused},
		{"down", func(w http.ResponseWriter) { problem(w, 503, "internal", "down") }, providers.ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, func(w http.ResponseWriter, r *http.Request, n int) { tc.answer(w) })
			c, _ := newClient(t, a.URL, nil)
			err := c.Test(t.Context())
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Test: %v, want %v", err, tc.want)
			}
			for _, r := range a.requests() {
				if r.path != "/verify" {
					t.Errorf("Test sent %s, want only /verify", r.path)
				}
			}
		})
	}
}
