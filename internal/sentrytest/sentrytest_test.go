package sentrytest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/getsentry/sentry-go"
)

// post sends body to the fake's handler with the auth header given and
// returns the status and the error's detail.
func post(t *testing.T, f *Fake, path string, header http.Header, body []byte) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	f.Handler().ServeHTTP(rec, req)
	var answer struct{ Detail string }
	_ = json.Unmarshal(rec.Body.Bytes(), &answer)
	return rec.Code, answer.Detail
}

func authHeader(key string) http.Header {
	return http.Header{"X-Sentry-Auth": {"Sentry sentry_version=7, sentry_client=test/1.0, sentry_key=" + key},
		"Content-Type": {"application/x-sentry-envelope"}}
}

const eventID = "9ec79c33ec9942ab8353589fcb2e04dc"

// envelopeOf is a valid envelope: a header naming eventID and one event.
func envelopeOf(event string) []byte {
	return []byte(`{"event_id":"` + eventID + `","sent_at":"2026-01-02T03:04:05.678Z"}` + "\n" +
		`{"type":"event","length":` + strconv.Itoa(len(event)) + "}\n" + event + "\n")
}

// The documentation's examples are accepted, and what they hold is
// recorded: headers, items, payloads and the decoded event.
func TestAcceptsTheDocumentedEnvelopes(t *testing.T) {
	t.Parallel()
	f := New(t)
	path := "/api/" + ProjectID + "/envelope/"
	for name, c := range map[string]struct {
		body  string
		items []string // each item's type and payload
	}{
		"two items with lengths": {"{\"event_id\":\"" + eventID + "\",\"dsn\":\"https://" + f.Key + ":@sentry.io/42\"}\n" +
			"{\"type\":\"attachment\",\"length\":10,\"content_type\":\"text/plain\",\"filename\":\"hello.txt\"}\n\xef\xbb\xbfHello\r\n\n" +
			"{\"type\":\"event\",\"length\":41,\"content_type\":\"application/json\",\"filename\":\"application.log\"}\n" +
			"{\"message\":\"hello world\",\"level\":\"error\"}\n",
			[]string{"attachment:\xef\xbb\xbfHello\r\n", `event:{"message":"hello world","level":"error"}`}},
		"last newline omitted": {"{\"event_id\":\"" + eventID + "\"}\n{\"type\":\"event\",\"length\":41}\n" +
			"{\"message\":\"hello world\",\"level\":\"error\"}", []string{`event:{"message":"hello world","level":"error"}`}},
		"two empty attachments": {"{\"event_id\":\"" + eventID + "\"}\n{\"type\":\"attachment\",\"length\":0}\n\n{\"type\":\"attachment\",\"length\":0}\n",
			[]string{"attachment:", "attachment:"}},
		"implicit length": {"{\"event_id\":\"" + eventID + "\"}\n{\"type\":\"attachment\"}\nhelloworld\n", []string{"attachment:helloworld"}},
		"implicit length at the end": {"{}\n{\"type\":\"session\"}\n{\"started\": \"2020-02-07T14:16:00Z\"}",
			[]string{`session:{"started": "2020-02-07T14:16:00Z"}`}},
		"header alone": {"{\"event_id\":\"" + eventID + "\"}\n", nil},
	} {
		before := len(f.Envelopes())
		if status, detail := post(t, f, path, authHeader(f.Key), []byte(c.body)); status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, status, detail)
		}
		envs := f.Envelopes()
		if len(envs) != before+1 {
			t.Fatalf("%s: %d envelopes recorded, want %d", name, len(envs), before+1)
		}
		env := envs[len(envs)-1]
		var got []string
		for _, it := range env.Items {
			got = append(got, it.Type+":"+string(it.Payload))
		}
		if strings.Join(got, "|") != strings.Join(c.items, "|") || env.Auth.Client != "test/1.0" || env.Auth.Key != f.Key {
			t.Errorf("%s: items %q, auth %+v; want %q", name, got, env.Auth, c.items)
		}
	}
	events := f.Events()
	if len(events) != 2 || events[0].Message != "hello world" || events[0].Level != "error" {
		t.Errorf("events = %+v", events)
	}
}

// Each request Sentry refuses, the fake refuses with Sentry's status, and
// records nothing.
func TestRefusesWhatSentryRefuses(t *testing.T) {
	t.Parallel()
	f := New(t)
	path := "/api/" + ProjectID + "/envelope/"
	ok := envelopeOf(`{"message":"m"}`)
	other := strings.Repeat("ab", 16)
	withHeader := func(k, v string) http.Header { h := authHeader(f.Key); h.Set(k, v); return h }
	big := `{"message":"` + strings.Repeat("x", MaxEvent) + `"}`
	report := `{"timestamp":"2026-01-02T03:04:05Z","discarded_events":[` + strings.Repeat(`{"reason":"queue_overflow","category":"error","quantity":1},`, 80) + `{}]}`
	for _, c := range []struct {
		name   string
		path   string
		header http.Header
		body   []byte
		status int
	}{
		{"no auth", path, http.Header{}, ok, 401},
		{"header and query", path + "?sentry_key=" + f.Key + "&sentry_version=7", authHeader(f.Key), ok, 401},
		{"not Sentry k=v", path, withHeader("X-Sentry-Auth", "Sentry garbage"), ok, 401},
		{"no key", path, withHeader("X-Sentry-Auth", "Sentry sentry_version=7"), ok, 401},
		{"no version", path, withHeader("X-Sentry-Auth", "Sentry sentry_key="+f.Key), ok, 401},
		{"version 6", path, withHeader("X-Sentry-Auth", "Sentry sentry_version=6, sentry_key="+f.Key), ok, 400},
		{"key not hex", path, authHeader("not-a-key"), ok, 400},
		{"project not a number", "/api/abc/envelope/", authHeader(f.Key), ok, 400},
		{"wrong key", path, authHeader(other), ok, 403},
		{"wrong project", "/api/7/envelope/", authHeader(f.Key), ok, 403},
		{"wrong query key", path + "?sentry_key=" + other + "&sentry_version=7", http.Header{}, ok, 403},
		{"content type", path, withHeader("Content-Type", "application/json"), ok, 415},
		{"content encoding", path, withHeader("Content-Encoding", "compress"), ok, 415},
		{"empty", path, authHeader(f.Key), nil, 400},
		{"header not JSON", path, authHeader(f.Key), []byte("hello\n"), 400},
		{"header padded", path, authHeader(f.Key), []byte(" {}\n"), 400},
		{"header with CR", path, authHeader(f.Key), []byte("{}\r\n"), 400},
		{"sent_at twice", path, authHeader(f.Key), []byte(`{"sent_at":"2026-01-02T03:04:05Z","sent_at":"2026-01-02T03:04:05Z"}` + "\n"), 400},
		{"event_id not a UUID", path, authHeader(f.Key), []byte(`{"event_id":"42"}` + "\n"), 400},
		{"sent_at not RFC 3339", path, authHeader(f.Key), []byte(`{"sent_at":"yesterday"}` + "\n"), 400},
		{"dsn of another key", path, authHeader(f.Key), []byte(`{"dsn":"https://` + other + `@sentry.io/42"}` + "\n"), 400},
		{"dsn of another project", path, authHeader(f.Key), []byte(`{"dsn":"https://` + f.Key + `@sentry.io/7"}` + "\n"), 400},
		{"item without type", path, authHeader(f.Key), []byte("{}\n{\"length\":0}\n\n"), 400},
		{"negative length", path, authHeader(f.Key), []byte("{}\n{\"type\":\"event\",\"length\":-1}\n\n"), 400},
		{"length past the end", path, authHeader(f.Key), []byte("{}\n{\"type\":\"event\",\"length\":99}\n{}\n"), 400},
		{"payload not ended by a newline", path, authHeader(f.Key), []byte("{}\n{\"type\":\"event\",\"length\":2}\n{} \n"), 400},
		{"whitespace after the last newline", path, authHeader(f.Key), []byte("{}\n{\"type\":\"event\",\"length\":2}\n{}\n\n"), 400},
		{"event not an object", path, authHeader(f.Key), envelopeOf(`["m"]`), 400},
		{"event over 1 MiB", path, authHeader(f.Key), envelopeOf(big), 413},
		{"client report over 4 KiB", path, authHeader(f.Key), []byte("{}\n{\"type\":\"client_report\",\"length\":" + strconv.Itoa(len(report)) + "}\n" + report + "\n"), 413},
	} {
		status, detail := post(t, f, c.path, c.header, c.body)
		if status != c.status {
			t.Errorf("%s: %d %q, want %d", c.name, status, detail, c.status)
		}
	}
	if n := len(f.Envelopes()); n != 0 {
		t.Errorf("%d envelopes recorded from refused requests", n)
	}
	// The right key in the query alone, and a gzipped body, are taken.
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(ok)
	_ = zw.Close()
	if status, detail := post(t, f, path+"?sentry_key="+f.Key+"&sentry_version=7", http.Header{"Content-Encoding": {"gzip"}}, zipped.Bytes()); status != 200 {
		t.Errorf("query auth, gzip: %d %s", status, detail)
	}
}

// A body declared over 200 MiB is refused before it is read.
func TestRefusesABodyOverTheEnvelopeLimit(t *testing.T) {
	t.Parallel()
	f := New(t)
	req := httptest.NewRequest(http.MethodPost, "/api/"+ProjectID+"/envelope/", bytes.NewReader(envelopeOf(`{}`)))
	for k, v := range authHeader(f.Key) {
		req.Header[k] = v
	}
	req.ContentLength = MaxEnvelope + 1
	rec := httptest.NewRecorder()
	f.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || len(f.Bodies()) != 0 {
		t.Errorf("status %d, %d bodies kept", rec.Code, len(f.Bodies()))
	}
}

// The Go SDK's own request is accepted as it is sent: a passing test
// against the fake means the real endpoint would have taken it.
func TestAcceptsTheGoSDK(t *testing.T) {
	t.Parallel()
	f := New(t)
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: f.DSN, Environment: "test", Release: "understudy@test", Transport: sentry.NewHTTPSyncTransport(),
		DisableMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	ev := client.EventFromException(errors.New("it broke"), sentry.LevelError)
	ev.Tags["request_id"] = "req-1"
	client.CaptureEvent(ev, nil, nil)
	events := f.WaitEvents(t, 1)
	got := events[0]
	if got.Environment != "test" || got.Release != "understudy@test" || got.Tags["request_id"] != "req-1" ||
		len(got.Exceptions) != 1 || got.Exceptions[0].Value != "it broke" || got.Level != "error" {
		t.Errorf("event = %+v", got)
	}
	env := f.Envelopes()[0]
	if !strings.HasPrefix(env.Auth.Client, "sentry.go/") {
		t.Errorf("sentry_client = %q", env.Auth.Client)
	}
}

// Answer makes the fake refuse everything; Hang holds requests until
// released, and a client that gives up is let go.
func TestAnswerAndHang(t *testing.T) {
	t.Parallel()
	f := New(t)
	url := f.URL + "/api/" + ProjectID + "/envelope/"
	send := func(ctx context.Context) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(envelopeOf(`{"message":"m"}`)))
		req.Header = authHeader(f.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	f.Answer(http.StatusServiceUnavailable)
	if status, err := send(context.Background()); err != nil || status != 503 || len(f.Envelopes()) != 0 || len(f.Bodies()) != 1 {
		t.Fatalf("refusing: %d %v, %d envelopes", status, err, len(f.Envelopes()))
	}
	f.Answer(0)
	arrived, release := f.Hang()
	done := make(chan int)
	go func() {
		status, _ := send(context.Background())
		done <- status
	}()
	<-arrived
	select {
	case status := <-done:
		t.Fatalf("a held request was answered %d", status)
	default:
	}
	release()
	if status := <-done; status != 200 || len(f.Envelopes()) != 1 {
		t.Fatalf("released: %d, %d envelopes", status, len(f.Envelopes()))
	}
	// A client that gives up while held does not keep the fake waiting:
	// its request ends, unanswered, and the fake records nothing of it.
	arrived, release = f.Hang()
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	if _, err := send(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("a held request given up: %v", err)
	}
	if n := len(f.Envelopes()); n != 1 {
		t.Fatalf("%d envelopes after a request given up", n)
	}
}
