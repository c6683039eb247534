package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/understudy-dev/understudy/providers/webhook/signature"
	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/publishertest"
	"github.com/understudy-dev/understudy/tagging/webhook/webhooktest"
)

const testSecret = "a-signing-secret-of-32-bytes-xyz"

func noAck(context.Context, []tagging.SyntheticUser) error { return nil }

func newTest(t *testing.T, settings string, secret string) (*Publisher, *webhooktest.Fake) {
	t.Helper()
	fake := webhooktest.New(t, testSecret)
	if settings == "" {
		settings = `{"base_url": "` + fake.URL() + `/"}`
	}
	p, err := newPublisher(tagging.Config{Destination: "warehouse", Settings: json.RawMessage(settings),
		Secrets: map[string]string{SecretSigningSecret: secret}, HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	p.sender.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return p, fake
}

func TestConformance(t *testing.T) {
	t.Parallel()
	publishertest.Run(t, publishertest.Harness{
		MaxBatch: DefaultBatchSize,
		New: func(t *testing.T, bad bool, sleep func(context.Context, time.Duration) error) (tagging.Publisher, publishertest.Fake) {
			secret := testSecret
			if bad {
				secret = "another-secret-of-32-bytes-abcde"
			}
			fake := webhooktest.New(t, testSecret)
			p, err := newPublisher(tagging.Config{Settings: json.RawMessage(`{"base_url": "` + fake.URL() + `"}`),
				Secrets: map[string]string{SecretSigningSecret: secret}})
			if err != nil {
				t.Fatal(err)
			}
			p.sender.Sleep = sleep
			return p, fake
		},
	})
}

func TestSignatureVerifies(t *testing.T) {
	t.Parallel()
	var got struct {
		sync.Mutex
		header string
		body   []byte
	}
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Lock()
		got.header, got.body = r.Header.Get(signature.Header), b
		got.Unlock()
		_, _ = io.WriteString(w, `{"accepted": 1}`)
	})
	p, err := newPublisher(tagging.Config{Settings: json.RawMessage(`{"base_url": "` + srv + `"}`),
		Secrets: map[string]string{SecretSigningSecret: testSecret}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Mark(t.Context(), publishertest.Identities(1), noAck); err != nil {
		t.Fatal(err)
	}
	got.Lock()
	defer got.Unlock()
	if err := signature.Verify([]byte(testSecret), got.header, got.body, time.Now(), 0); err != nil {
		t.Fatalf("the signature does not verify with the shared verifier: %v", err)
	}
	if err := signature.Verify([]byte("another-secret-of-32-bytes-abcde"), got.header, got.body, time.Now(), 0); !errors.Is(err, signature.ErrMismatch) {
		t.Fatalf("another secret: %v, want a mismatch", err)
	}
}

func newServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestBadSignatureIsCredentials(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, "", "another-secret-of-32-bytes-abcde")
	if err := p.AddToList(t.Context(), publishertest.Identities(2), noAck); !errors.Is(err, tagging.ErrCredentials) {
		t.Fatalf("error %v, want ErrCredentials", err)
	}
	if _, err := p.Test(t.Context()); !errors.Is(err, tagging.ErrCredentials) {
		t.Fatalf("Test: %v, want ErrCredentials", err)
	}
	if len(fake.Listed()) != 0 {
		t.Fatalf("listed %v with a bad signature", fake.Listed())
	}
}

func TestPerItemErrorIsRejected(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, "", testSecret)
	p.batch = 2
	ids := publishertest.Identities(5)
	fake.Refuse(ids[1].DistinctID, "unknown_user")
	var acked []string
	err := p.Mark(t.Context(), ids, func(_ context.Context, d []tagging.SyntheticUser) error {
		for _, x := range d {
			acked = append(acked, x.DistinctID)
		}
		return nil
	})
	if !errors.Is(err, tagging.ErrRejected) || !strings.Contains(err.Error(), "unknown_user") {
		t.Fatalf("error %v, want ErrRejected naming the item's code", err)
	}
	want := []string{ids[0].DistinctID, ids[2].DistinctID, ids[3].DistinctID, ids[4].DistinctID}
	if !slices.Equal(acked, want) || !slices.Equal(fake.Marked(), want) {
		t.Fatalf("acked %v, marked %v; want %v", acked, fake.Marked(), want)
	}
}

func TestSecretNeverInErrors(t *testing.T) {
	t.Parallel()
	p, _ := newTest(t, "", testSecret)
	p.base.Path = "/" + testSecret // the worst case: a destination that echoes it back
	err := p.Mark(t.Context(), publishertest.Identities(1), noAck)
	if err == nil || strings.Contains(err.Error(), testSecret) {
		t.Fatalf("error %v", err)
	}
}

func TestIdempotencyKeyPerBatch(t *testing.T) {
	t.Parallel()
	p, fake := newTest(t, "", testSecret)
	p.batch = 2
	if err := p.AddToList(t.Context(), publishertest.Identities(3), noAck); err != nil {
		t.Fatal(err)
	}
	keys := fake.IdempotencyKeys()
	if len(keys) != 2 || keys[0] == "" || keys[0] == keys[1] {
		t.Fatalf("keys %v, want two distinct ones", keys)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	good := map[string]string{SecretSigningSecret: testSecret}
	cases := []struct {
		settings string
		secrets  map[string]string
		field    string
	}{
		{`{}`, good, "settings.base_url"},
		{`{"base_url": "http://analytics.example.test"}`, good, "settings.base_url"},
		{`{"base_url": "ftp://analytics.example.test"}`, good, "settings.base_url"},
		{`{"base_url": "https://user:pw@analytics.example.test"}`, good, "settings.base_url"},
		{`{"base_url": "https://analytics.example.test", "batch_size": 10001}`, good, "settings.batch_size"},
		{`{"base_url": "https://analytics.example.test", "batch_size": "5"}`, good, "settings.batch_size"},
		{`{"base_url": "https://analytics.example.test", "timeout": "1s"}`, good, "settings.timeout"},
		{`{"base_url": "https://analytics.example.test"}`, map[string]string{}, "secrets.signing_secret"},
		{`{"base_url": "https://analytics.example.test"}`, map[string]string{SecretSigningSecret: "short"}, "secrets.signing_secret"},
		{`{"base_url": "https://analytics.example.test"}`, map[string]string{SecretSigningSecret: testSecret, "api_key": "k"}, "secrets.api_key"},
	}
	for _, c := range cases {
		_, err := New(tagging.Config{Settings: json.RawMessage(c.settings), Secrets: c.secrets})
		var ce *tagging.ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("%s: error %v, want a ConfigError on %s", c.settings, err, c.field)
		}
		if err != nil && strings.Contains(err.Error(), testSecret) {
			t.Errorf("the secret is in the error %v", err)
		}
	}
	for _, u := range []string{"https://analytics.example.test/hook/", "http://127.0.0.1:8080", "http://localhost:9000/x", "http://[::1]:1"} {
		if _, err := New(tagging.Config{Settings: json.RawMessage(`{"base_url": "` + u + `"}`), Secrets: good}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// contractPath is the contract, from this package's directory.
var contractPath = filepath.Join("..", "..", "openapi", "destination-webhook.yaml")

// TestRequestsFollowTheContract validates every request the publisher
// sends, and every answer of the fake, against the contract.
func TestRequestsFollowTheContract(t *testing.T) {
	t.Parallel()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(contractPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the contract is not valid OpenAPI: %v", err)
	}
	for _, path := range []string{"/mark", "/unmark", "/list/add", "/list/remove", "/health"} {
		if doc.Paths.Find(path) == nil {
			t.Fatalf("the contract lacks %s", path)
		}
	}
	p, fake := newTest(t, "", testSecret)
	var mu sync.Mutex
	var problems []string
	p.sender.Client = &http.Client{Transport: checkTransport(doc, func(msg string) {
		mu.Lock()
		problems = append(problems, msg)
		mu.Unlock()
	})}
	fake.Refuse(publishertest.Identities(3)[2].DistinctID, "invalid")
	ids := publishertest.Identities(3)
	_ = p.Mark(t.Context(), ids, noAck)
	_ = p.Unmark(t.Context(), ids, noAck)
	_ = p.AddToList(t.Context(), ids, noAck)
	_ = p.RemoveFromList(t.Context(), ids, noAck)
	if _, err := p.Test(t.Context()); err != nil {
		t.Fatal(err)
	}
	if fake.Requests() != 5 {
		t.Fatalf("%d requests reached the fake, want 5", fake.Requests())
	}
	if len(problems) > 0 {
		t.Fatalf("off the contract:\n%s", strings.Join(problems, "\n"))
	}
}

func checkTransport(doc *openapi3.T, report func(string)) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		probe := r.Clone(r.Context())
		probe.Body = io.NopCloser(bytes.NewReader(body))
		probe.URL.Path = strings.TrimPrefix(probe.URL.Path, webhooktest.BasePath)
		item := doc.Paths.Find(probe.URL.Path)
		if item == nil || item.GetOperation(r.Method) == nil {
			report(r.Method + " " + r.URL.Path + ": no such operation in the contract")
			return http.DefaultTransport.RoundTrip(r)
		}
		route := &routers.Route{Spec: doc, Path: probe.URL.Path, PathItem: item, Method: r.Method, Operation: item.GetOperation(r.Method)}
		in := &openapi3filter.RequestValidationInput{Request: probe, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			report("request " + r.URL.Path + ": " + err.Error())
		}
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(rb))
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Body: io.NopCloser(bytes.NewReader(rb))}
		if err := openapi3filter.ValidateResponse(r.Context(), out); err != nil {
			report("answer to " + r.URL.Path + ": " + err.Error())
		}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestManualStepsSayTheReceiverDecides(t *testing.T) {
	t.Parallel()
	p, _ := newTest(t, "", testSecret)
	steps := strings.Join(p.ManualSteps(), "\n")
	if !strings.Contains(steps, "receiver decides what exclusion means") || !strings.Contains(steps, "destination-webhook.yaml") {
		t.Fatalf("manual steps %q, want them to say the receiver decides what exclusion means", steps)
	}
}

// TestFakeRefusesWhatTheContractRefuses: the fake answers as the contract
// says a destination must, for requests the publisher never sends.
func TestFakeRefusesWhatTheContractRefuses(t *testing.T) {
	t.Parallel()
	fake := webhooktest.New(t, testSecret)
	fake.SetMaxBody(4096)
	send := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, fake.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(signature.Header, signature.Sign([]byte(testSecret), time.Now(), []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		var p struct {
			Code string `json:"code"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&p)
		return resp.StatusCode, p.Code
	}
	identity := func(tags string) string {
		return `{"identities":[{"distinct_id":"u1","account_id":"a1","email":"u1@example.test","tags":` + tags + `}]}`
	}
	cases := []struct {
		name, method, path, body string
		status                   int
	}{
		// /health has only GET.
		{"POST /health", http.MethodPost, "/health", identity(`{"is_synthetic":"true"}`), http.StatusMethodNotAllowed},
		// Identity.tags.is_synthetic: enum ["true", "false"].
		{"is_synthetic not true or false", http.MethodPost, "/mark", identity(`{"is_synthetic":"yes"}`), http.StatusUnprocessableEntity},
		// Identity.distinct_id: minLength 1.
		{"an empty distinct_id", http.MethodPost, "/mark", `{"identities":[{"distinct_id":"","account_id":"a","email":"e","tags":{}}]}`, http.StatusUnprocessableEntity},
		// 413: a request too large to read.
		{"a body over the fake's limit", http.MethodPost, "/mark", identity(`{"x":"` + strings.Repeat("a", 4096) + `"}`), http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		status, code := send(c.method, c.path, c.body)
		if status != c.status || code != "invalid" {
			t.Errorf("%s: %d %q, want %d invalid", c.name, status, code, c.status)
		}
	}
	if m := fake.Marked(); len(m) != 0 {
		t.Errorf("refused requests marked %v", m)
	}
	if status, _ := send(http.MethodPost, "/mark", identity(`{"is_synthetic":"true"}`)); status != http.StatusOK {
		t.Errorf("a valid mark: %d", status)
	}
}
