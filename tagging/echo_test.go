package tagging_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/secret"
	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/amplitude"
	"github.com/understudy-dev/understudy/tagging/mixpanel"
	"github.com/understudy-dev/understudy/tagging/posthog"
	"github.com/understudy-dev/understudy/tagging/segment"
	"github.com/understudy-dev/understudy/tagging/webhook"
)

// echoVendor answers every request with an error that echoes the whole
// request (method, URL, every header, the body) in the answer's body, as
// some vendors do: JSON in the common error shapes (400), plain text
// (401), or a 200 whose JSON reports an error.
type echoVendor struct {
	*httptest.Server
	mode string // "json400", "text401" or "json200"
}

func newEchoVendor(t *testing.T, mode string) *echoVendor {
	e := &echoVendor{mode: mode}
	e.Server = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.Close)
	return e
}

func (e *echoVendor) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var dump strings.Builder
	fmt.Fprintf(&dump, "%s %s\n", r.Method, r.URL)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&dump, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
	dump.Write(body)
	auth := r.Header.Get("Authorization")
	shape := map[string]any{"type": "validation_error", "code": auth, "detail": dump.String(), "message": dump.String(),
		"error": dump.String(), "status": 0, "errors": []map[string]string{{"type": auth, "message": dump.String()}}}
	switch e.mode {
	case "text401":
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, dump.String())
	case "json200":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(shape)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(shape)
	}
}

// client sends every request, whatever its host, to the echo vendor.
func (e *echoVendor) client() *http.Client {
	target, _ := url.Parse(e.URL)
	return &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// echoCase is one vendor's destination, with the secrets it sends and the
// user names it pairs them with in Basic credentials.
type echoCase struct {
	kind     string
	settings string
	secrets  map[string]string
	users    []string
}

var echoCases = []echoCase{
	{posthog.Kind, `{"ingest_host": "https://ph.vendor.test", "app_host": "https://ph.vendor.test", "project_id": 1, "person_wait": "0s"}`,
		map[string]string{posthog.SecretProjectAPIKey: "phc_Echo+Project/Token=01&x", posthog.SecretPersonalAPIKey: "phx_Echo+Personal/Key=02&y"}, nil},
	{amplitude.Kind, `{"app_id": 1, "owner": "owner@example.test"}`,
		map[string]string{amplitude.SecretAPIKey: "ampApi+Key/03=zz", amplitude.SecretSecretKey: "ampSecret+Key/04=zz"}, []string{"ampApi+Key/03=zz"}},
	{mixpanel.Kind, `{"project_id": 1, "service_account_username": "svc.echo", "ingest_url": "https://mp.vendor.test", "query_url": "https://mp.vendor.test"}`,
		map[string]string{mixpanel.SecretProjectToken: "mpToken+05/x=&q", mixpanel.SecretServiceAccountSecret: "mpServiceAccount+Secret/06="}, []string{"svc.echo"}},
	{segment.Kind, `{"source_id": "src1", "destination_ids": ["dst1"], "tracking_url": "https://seg.vendor.test", "api_url": "https://segapi.vendor.test"}`,
		map[string]string{segment.SecretWriteKey: "segWrite+Key/07=", segment.SecretAPIToken: "segApi+Token/08=x"}, nil},
	// Without the Public API token and the service account: the write key
	// and the project token go out with every tracking call.
	{segment.Kind, `{"tracking_url": "https://seg.vendor.test"}`, map[string]string{segment.SecretWriteKey: "segWrite+Key/07=b"}, nil},
	{mixpanel.Kind, `{"ingest_url": "https://mp.vendor.test"}`, map[string]string{mixpanel.SecretProjectToken: "mpToken+05/x=&qq"}, nil},
	{webhook.Kind, `{"base_url": "https://wh.vendor.test"}`,
		map[string]string{webhook.SecretSigningSecret: "whSigning+Secret/09=&zzzz"}, nil},
}

// derivedForms is every form of c's secrets that must never be kept:
// raw, escaped, and base64 (both alphabets, padded or not) of the secret,
// of user:secret, secret: and :secret.
func (c echoCase) derivedForms() []string {
	var out []string
	encs := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}
	for _, sec := range c.secrets {
		out = append(out, sec, url.QueryEscape(sec), url.PathEscape(sec), "Bearer "+sec)
		plain := []string{sec, sec + ":", ":" + sec}
		for _, u := range c.users {
			plain = append(plain, u+":"+sec)
		}
		for _, p := range plain {
			for _, enc := range encs {
				out = append(out, enc.EncodeToString([]byte(p)), url.QueryEscape(enc.EncodeToString([]byte(p))))
			}
		}
	}
	return out
}

// lockedBuffer collects the logs of concurrent publishers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestVendorEchoingTheRequestNeverLeaksASecret(t *testing.T) {
	t.Parallel()
	for i, c := range echoCases {
		for _, mode := range []string{"json400", "text401", "json200"} {
			t.Run(fmt.Sprintf("%s/%d/%s", c.kind, i, mode), func(t *testing.T) {
				t.Parallel()
				f := domaintest.New(t, dbtest.Tx(t), 2)
				vendor := newEchoVendor(t, mode)
				var logs lockedBuffer
				reg := tagging.NewRegistry()
				reg.Register(posthog.Kind, posthog.New)
				reg.Register(amplitude.Kind, amplitude.New)
				reg.Register(mixpanel.Kind, mixpanel.New)
				reg.Register(segment.Kind, segment.New)
				reg.Register(webhook.Kind, webhook.New)
				kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
				if err != nil {
					t.Fatal(err)
				}
				ds, err := tagging.New(tagging.ServiceConfig{DB: f.DB, Keyring: kr, Registry: reg, HTTPClient: vendor.client(),
					Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ds.Attach(f.Ctx, "production", "echo", tagging.DestinationChange{Kind: new(c.kind),
					Settings: json.RawMessage(c.settings), Secrets: c.secrets}); err != nil {
					t.Fatal(err)
				}
				check, err := ds.Test(f.Ctx, "production", "echo")
				if err != nil {
					t.Fatal(err)
				}
				run, err := ds.Sync(f.Ctx, "production", "echo", tagging.SyncOptions{})
				if err != nil {
					t.Fatal(err)
				}
				list, err := ds.List(f.Ctx, "production")
				if err != nil {
					t.Fatal(err)
				}
				runs, err := ds.Runs(f.Ctx, "production", "echo", 10)
				if err != nil {
					t.Fatal(err)
				}
				events, err := access.NewAudit(f.DB).List(f.Ctx, access.AuditFilter{TargetType: "destination"})
				if err != nil {
					t.Fatal(err)
				}
				// The echo reached the destination: something failed and says so.
				if mode != "json200" && (check.OK || run.Outcome == tagging.RunOK) {
					t.Fatalf("the echoing vendor's errors were not seen: check %+v, run %+v", check, run)
				}
				kept := map[string]any{"check": check, "destinations": list, "runs": runs, "audit": events}
				for what, v := range kept {
					b, _ := json.Marshal(v)
					assertNoSecret(t, c, what, string(b))
				}
				assertNoSecret(t, c, "logs", logs.String())
			})
		}
	}
}

// assertNoSecret fails when text holds a derived form of one of c's
// secrets, naming where without printing it.
func assertNoSecret(t *testing.T, c echoCase, where, text string) {
	t.Helper()
	for i, form := range c.derivedForms() {
		if strings.Contains(text, form) {
			t.Errorf("%s holds derived form #%d of a %s secret", where, i, c.kind)
		}
	}
}
