package tagging_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/understudy-dev/understudy/tagging"
)

// A vendor (or whoever answers at its address) that redirects a request
// elsewhere must not receive the key a second time, there: Go's client
// follows 307 and 308 with the body (where Amplitude's and PostHog's keys
// travel) to any host, and the Authorization header to the same host over
// cleartext http. Only a redirect that stays at the same scheme, host and
// port is followed.
func TestAttackARedirectNeverCarriesTheKeyElsewhere(t *testing.T) {
	t.Parallel()
	key := "test_key_" + strings.ToLower(rand.Text()) // made for this run, never written in the source
	var elsewhere atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(sink.Close)
	tlsVendor := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// https to http on the same host and port number's neighbour: a
		// downgrade to cleartext.
		http.Redirect(w, r, sink.URL+r.URL.Path, http.StatusPermanentRedirect)
	}))
	t.Cleanup(tlsVendor.Close)
	for name, status := range map[string]int{"307": http.StatusTemporaryRedirect, "308": http.StatusPermanentRedirect, "302": http.StatusFound} {
		t.Run(name, func(t *testing.T) {
			vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, sink.URL+"/capture", status)
			}))
			t.Cleanup(vendor.Close)
			before := elsewhere.Load()
			_, err := send(t, vendor.Client(), vendor.URL, key)
			if err == nil || !errors.Is(err, tagging.ErrRejected) || !strings.Contains(err.Error(), "redirect") {
				t.Fatalf("a redirect to another host: %v, want ErrRejected naming the redirect", err)
			}
			if strings.Contains(err.Error(), key) {
				t.Fatalf("the error holds the key: %v", err)
			}
			if n := elsewhere.Load() - before; n != 0 {
				t.Fatalf("the request followed the redirect to another host %d times", n)
			}
		})
	}
	t.Run("https to http", func(t *testing.T) {
		before := elsewhere.Load()
		if _, err := send(t, tlsVendor.Client(), tlsVendor.URL, key); err == nil || !strings.Contains(err.Error(), "redirect") {
			t.Fatalf("a redirect to cleartext: %v", err)
		}
		if n := elsewhere.Load() - before; n != 0 {
			t.Fatalf("the request followed a redirect from https to http %d times", n)
		}
	})
	t.Run("same origin", func(t *testing.T) {
		var hops atomic.Int64
		var vendor *httptest.Server
		vendor = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/old" {
				http.Redirect(w, r, vendor.URL+"/new", http.StatusTemporaryRedirect)
				return
			}
			hops.Add(1)
			w.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(vendor.Close)
		if resp, err := send(t, vendor.Client(), vendor.URL+"/old", key); err != nil || resp.Status != http.StatusOK || hops.Load() != 1 {
			t.Fatalf("a redirect within the vendor's own origin: %v %d %d", err, resp.Status, hops.Load())
		}
	})
}

func send(t *testing.T, client *http.Client, url, key string) (tagging.Response, error) {
	t.Helper()
	s := tagging.Sender{Vendor: "PostHog", Client: client, Attempts: 1, Secrets: []string{key}}
	return s.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"api_key":"`+key+`"}`))
		if err == nil {
			req.SetBasicAuth("user", key)
		}
		return req, err
	})
}
