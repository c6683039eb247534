package segment_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/publishertest"
	"github.com/understudy-dev/understudy/tagging/segment"
	"github.com/understudy-dev/understudy/tagging/segment/segmenttest"
)

const (
	writeKey = "wk-0123456789abcdefghijklmnopqrstu"
	apiToken = "sgp_token-0123456789abcdef"
	sourceID = "src_app"
)

var destinations = []string{"dst_amplitude", "dst_braze"}

type setup struct {
	writeKey string
	noToken  bool
	dests    []string
	// record, when set, records every request the publisher sends.
	record *publishertest.Recorder
}

func newPublisher(t *testing.T, s setup, sleep func(context.Context, time.Duration) error) (tagging.Publisher, *segmenttest.Server) {
	t.Helper()
	fake := segmenttest.New(t, segmenttest.Config{WriteKey: writeKey, SourceID: sourceID, APIToken: apiToken, DestinationIDs: destinations})
	settings := map[string]any{"tracking_url": fake.URL, "api_url": fake.URL, "source_id": sourceID}
	secrets := map[string]string{segment.SecretWriteKey: writeKey, segment.SecretAPIToken: apiToken}
	if s.writeKey != "" {
		secrets[segment.SecretWriteKey] = s.writeKey
	}
	if s.noToken {
		delete(secrets, segment.SecretAPIToken)
	}
	if s.dests != nil {
		settings["destination_ids"] = s.dests
	}
	raw, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	client := fake.Client()
	if s.record != nil {
		s.record.Next = client.Transport
		client = s.record.Client()
	}
	cfg := tagging.Config{Destination: "segment-prod", Settings: raw, Secrets: secrets, HTTPClient: client}
	p, err := segment.NewWith(cfg, segment.Options{Sleep: sleep})
	if err != nil {
		t.Fatal(err)
	}
	if s.dests != nil {
		return &segment.FilteringPublisher{Publisher: p}, fake
	}
	return p, fake
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func nopAck(context.Context, []tagging.SyntheticUser) error { return nil }

func TestConformance(t *testing.T) {
	t.Parallel()
	publishertest.Run(t, publishertest.Harness{
		MaxBatch: segment.DefaultMaxBatch,
		New: func(t *testing.T, bad bool, sleep func(context.Context, time.Duration) error) (tagging.Publisher, publishertest.Fake) {
			s := setup{dests: destinations}
			if bad {
				s.writeKey = "wk-not-this-source-key-0000000000"
			}
			return newPublisher(t, s, sleep)
		},
	})
}

func TestWrongWriteKeyIsAnsweredTwoHundredAndLost(t *testing.T) {
	t.Parallel()
	// Without an API token the publisher cannot tell: Segment answers 200.
	p, fake := newPublisher(t, setup{writeKey: "wk-not-this-source-key-0000000000", noToken: true}, noSleep)
	if err := p.(tagging.Marker).Mark(t.Context(), publishertest.Identities(2), nopAck); err != nil {
		t.Fatal(err)
	}
	if len(fake.Marked()) != 0 || fake.Dropped() != 2 {
		t.Fatalf("marked %v, dropped %d under a wrong write key", fake.Marked(), fake.Dropped())
	}
	c, err := p.Test(t.Context())
	if err != nil || c.OK || !strings.Contains(c.Detail, "api_token") || fake.Requests() != 1 {
		t.Fatalf("Test without a token: %+v %v after %d requests; want OK false and no request", c, err, fake.Requests())
	}
}

func TestMarkAndUnmarkTraits(t *testing.T) {
	t.Parallel()
	p, fake := newPublisher(t, setup{}, noSleep)
	m := p.(tagging.Marker)
	list := publishertest.Identities(1)
	if err := m.Mark(t.Context(), list, nopAck); err != nil {
		t.Fatal(err)
	}
	got := fake.Traits(list[0].DistinctID)
	if got["is_synthetic"] != true || got["synthetic_role"] != "buyer" {
		t.Fatalf("traits after mark: %v", got)
	}
	if err := m.Unmark(t.Context(), list, nopAck); err != nil {
		t.Fatal(err)
	}
	got = fake.Traits(list[0].DistinctID)
	if got["is_synthetic"] != false || got["synthetic_role"] != nil || got["understudy_account_id"] != nil {
		t.Fatalf("traits after unmark: %v; want is_synthetic false and the tags null", got)
	}
}

func TestOversizedCallRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	p, fake := newPublisher(t, setup{}, noSleep)
	list := publishertest.Identities(3)
	list[1].Tags[tagging.TagRole] = strings.Repeat("x", segment.MaxCallBytes)
	err := p.(tagging.Marker).Mark(t.Context(), list, nopAck)
	if !errors.Is(err, tagging.ErrRejected) || fake.Requests() != 0 {
		t.Fatalf("error %v after %d requests; want ErrRejected before any request", err, fake.Requests())
	}
}

func TestLargeCallsSplitUnderTheBatchLimit(t *testing.T) {
	t.Parallel()
	// 60 calls of about 20 KB: 1.2 MB in all, so at least 3 batches of under 500 KB.
	rec := &publishertest.Recorder{}
	p, fake := newPublisher(t, setup{record: rec}, noSleep)
	list := publishertest.Identities(60)
	for i := range list {
		list[i].Tags[tagging.TagRole] = strings.Repeat("r", 20_000)
	}
	if err := p.(tagging.Marker).Mark(t.Context(), list, nopAck); err != nil {
		t.Fatal(err)
	}
	if len(fake.Marked()) != 60 || fake.Dropped() != 0 || fake.Batches() < 3 {
		t.Fatalf("marked %d, dropped %d, in %d batches", len(fake.Marked()), fake.Dropped(), fake.Batches())
	}
	for i, sent := range rec.Sent("/v1/batch") {
		if len(sent.Body) > segmenttest.MaxBatchBytes {
			t.Errorf("batch %d is %d bytes, over Segment's %d", i, len(sent.Body), segmenttest.MaxBatchBytes)
		}
	}
}

func TestFakeRefusesWhatSegmentRefusesForSize(t *testing.T) {
	t.Parallel()
	fake := segmenttest.New(t, segmenttest.Config{WriteKey: writeKey, SourceID: sourceID})
	post := func(path, body string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.URL+path, strings.NewReader(body))
		req.SetBasicAuth(writeKey, "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := fake.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Message string `json:"message"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Message
	}
	// identify builds a call of exactly n bytes.
	identify := func(user string, n int) string {
		head, tail := `{"type":"identify","userId":"`+user+`","traits":{"x":"`, `"}}`
		return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
	}
	var many []string
	for range 20 {
		many = append(many, identify("u", 30_000))
	}
	cases := []struct {
		name, path, body string
	}{
		// "a maximum of 32KB per normal API request"
		{"a single call over 32 KB", "/v1/identify", identify("u1", segmenttest.MaxCallBytes+1)},
		// "a maximum of 500KB per request"
		{"a 600 KB batch", "/v1/batch", `{"batch":[` + strings.Join(many, ",") + `]}`},
		// each batched event "needs to be less than 32KB"
		{"a batch holding a 32 KB call", "/v1/batch", `{"batch":[` + identify("u2", 100) + "," + identify("u3", segmenttest.MaxCallBytes) + `]}`},
	}
	for _, c := range cases {
		if code, msg := post(c.path, c.body); code != http.StatusBadRequest || msg != "Exceed payload limit" {
			t.Errorf("%s: %d %q, want 400 Exceed payload limit", c.name, code, msg)
		}
	}
	if got := fake.Marked(); len(got) != 0 {
		t.Fatalf("refused requests marked %v", got)
	}
	// Just under each limit is accepted.
	if code, _ := post("/v1/identify", identify("u4", segmenttest.MaxCallBytes)); code != http.StatusOK {
		t.Errorf("a single call of 32,000 bytes: %d, want 200", code)
	}
	if code, _ := post("/v1/batch", `{"batch":[`+identify("u5", segmenttest.MaxCallBytes-1)+`]}`); code != http.StatusOK {
		t.Errorf("a batched call of 31,999 bytes: %d, want 200", code)
	}
	if got := fake.Traits("u5"); got == nil {
		t.Errorf("the accepted batched call was not kept")
	}
}

func TestCallOfThirtyTwoKilobytesRefusedNamingTheIdentity(t *testing.T) {
	t.Parallel()
	p, fake := newPublisher(t, setup{}, noSleep)
	list := publishertest.Identities(3)
	// Grow one identity's call to exactly MaxCallBytes: Segment wants each
	// batched event under 32 KB.
	list[1].Tags[tagging.TagRole] = ""
	call, _ := json.Marshal(map[string]any{"type": "identify", "userId": list[1].DistinctID, "traits": markTraitsOf(list[1])})
	list[1].Tags[tagging.TagRole] = strings.Repeat("x", segment.MaxCallBytes-len(call))
	err := p.(tagging.Marker).Mark(t.Context(), list, nopAck)
	if !errors.Is(err, tagging.ErrRejected) || fake.Requests() != 0 {
		t.Fatalf("error %v after %d requests; want ErrRejected before any request", err, fake.Requests())
	}
	for _, want := range []string{list[1].DistinctID, list[1].AccountID, "32000 bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %q: %v", want, err)
		}
	}
}

// markTraitsOf is what Mark sends as traits for id.
func markTraitsOf(id tagging.SyntheticUser) map[string]any {
	traits := map[string]any{}
	for k, v := range id.Tags {
		traits[k] = v
	}
	traits[tagging.TagSynthetic] = true
	return traits
}

func ensure(t *testing.T, p tagging.Publisher) (bool, error) {
	t.Helper()
	f, ok := p.(tagging.Filterer)
	if !ok {
		t.Fatal("no Filterer")
	}
	return f.EnsureFilter(t.Context())
}

func TestFilterCreatedOnceThenUpdatedNotDuplicated(t *testing.T) {
	t.Parallel()
	p, fake := newPublisher(t, setup{dests: destinations}, noSleep)
	foreign := fake.AddFilter("dst_amplitude", segmenttest.Filter{SourceID: sourceID, Title: "Drop bots", If: "match(context.userAgent, '*bot*')",
		Actions: []map[string]any{{"type": "DROP"}}, Enabled: true})
	stale := fake.AddFilter("dst_amplitude", segmenttest.Filter{SourceID: sourceID, Title: segment.FilterTitle, If: "userId = 'old'",
		Actions: []map[string]any{{"type": "DROP"}}, Enabled: false})
	changed, err := ensure(t, p)
	if err != nil || !changed {
		t.Fatalf("first EnsureFilter: %v %v", changed, err)
	}
	for _, d := range destinations {
		var mine []segmenttest.Filter
		for _, f := range fake.Filters(d) {
			if f.Title == segment.FilterTitle {
				mine = append(mine, f)
			}
		}
		if len(mine) != 1 || mine[0].If != segment.FilterFQL || !mine[0].Enabled || mine[0].SourceID != sourceID {
			t.Fatalf("managed filters on %s: %+v", d, mine)
		}
	}
	if got := fake.Filters("dst_amplitude")[1]; got.ID != stale.ID || got.If != segment.FilterFQL || !got.Enabled {
		t.Fatalf("the stale managed filter was not updated in place: %+v", got)
	}
	if changed, err := ensure(t, p); err != nil || changed {
		t.Fatalf("second EnsureFilter changed %v (%v); want nothing to do", changed, err)
	}

	// A second filter with the managed title and source is a duplicate: removed.
	f := fake.Filters("dst_braze")[0]
	id := f.ID
	fake.AddFilter("dst_braze", segmenttest.Filter{SourceID: sourceID, Title: segment.FilterTitle, If: "userId = 'x'",
		Actions: []map[string]any{{"type": "DROP"}}})
	changed, err = ensure(t, p)
	if err != nil || !changed {
		t.Fatalf("EnsureFilter after an edit: %v %v", changed, err)
	}
	got := fake.Filters("dst_braze")
	if len(got) != 1 || got[0].ID != id || got[0].If != segment.FilterFQL {
		t.Fatalf("filters on dst_braze: %+v; want the one managed filter %s", got, id)
	}
	amp := fake.Filters("dst_amplitude")
	if len(amp) != 2 || !reflect.DeepEqual(amp[0], foreign) {
		t.Fatalf("the foreign filter was touched: %+v", amp)
	}
}

func TestPreviewFailurePreventsInstall(t *testing.T) {
	t.Parallel()
	p, fake := newPublisher(t, setup{dests: destinations}, noSleep)
	fake.FailPreview("invalid FQL: unexpected token")
	changed, err := ensure(t, p)
	if !errors.Is(err, tagging.ErrRejected) || changed {
		t.Fatalf("EnsureFilter with a failing preview: %v %v; want ErrRejected", changed, err)
	}
	for _, d := range destinations {
		if n := len(fake.Filters(d)); n != 0 {
			t.Fatalf("%d filters installed on %s after a failed preview", n, d)
		}
	}
}

func TestFakePreviewParsesFQL(t *testing.T) {
	t.Parallel()
	fake := segmenttest.New(t, segmenttest.Config{WriteKey: writeKey, SourceID: sourceID, APIToken: apiToken})
	preview := func(fql string, payload map[string]any) (int, string) {
		body, _ := json.Marshal(map[string]any{"filter": map[string]any{"if": fql, "actions": []any{map[string]any{"type": "DROP"}}}, "payload": payload})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.URL+"/destination/filters/preview", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/vnd.segment.v1+json")
		resp, err := fake.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				Result json.RawMessage `json:"result"`
			} `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, string(out.Data.Result)
	}
	synthetic := map[string]any{"type": "identify", "userId": "u", "traits": map[string]any{"is_synthetic": true}}
	for _, bad := range []string{`userId = oops"`, `traits.is_synthetic =`, `(type = 'track'`, `nosuch(userId)`} {
		if code, _ := preview(bad, synthetic); code != http.StatusBadRequest {
			t.Errorf("preview of %q: %d, want 400", bad, code)
		}
	}
	if code, res := preview(segment.FilterFQL, synthetic); code != 200 || res != "null" {
		t.Errorf("the managed FQL on a synthetic identify: %d %s, want dropped", code, res)
	}
	if code, res := preview(`userId in ['a', 'u'] and !contains(type, 'track')`, synthetic); code != 200 || res != "null" {
		t.Errorf("an in list: %d %s, want dropped", code, res)
	}
	real := map[string]any{"type": "identify", "userId": "u", "traits": map[string]any{"is_synthetic": "true"}}
	if code, res := preview(segment.FilterFQL, real); code != 200 || res == "null" {
		t.Errorf("the managed FQL on the string \"true\": %d %s, want kept (= is strict)", code, res)
	}
}

func TestCapabilitiesFollowTheSettings(t *testing.T) {
	t.Parallel()
	cfg := func(settings string, secrets map[string]string) tagging.Config {
		return tagging.Config{Settings: json.RawMessage(settings), Secrets: secrets}
	}
	p, err := segment.New(cfg(`{}`, map[string]string{segment.SecretWriteKey: writeKey}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(tagging.Filterer); ok || len(p.Capabilities()) != 1 || len(p.ManualSteps()) != 3 {
		t.Fatalf("without filters: %v, %d steps", p.Capabilities(), len(p.ManualSteps()))
	}
	// The UI steps of https://segment.com/docs/connections/destinations/destination-filters/
	// ("Create a Destination Filter"), whose rule builder takes conditions, not FQL.
	ui := p.ManualSteps()[1]
	for _, fact := range []string{"Connections > Destinations", "Filters", "+ New Filter", "User Traits", "Load Sample Event", "Next Step", "Save"} {
		if !strings.Contains(ui, fact) {
			t.Errorf("the filter step does not say %q:\n%s", fact, ui)
		}
	}
	p, err = segment.New(cfg(`{"source_id":"src","destination_ids":["d1"]}`, map[string]string{segment.SecretWriteKey: writeKey, segment.SecretAPIToken: apiToken}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(tagging.Filterer); !ok || len(p.Capabilities()) != 2 || len(p.ManualSteps()) != 2 {
		t.Fatalf("with filters: %v, %d steps", p.Capabilities(), len(p.ManualSteps()))
	}
	// What Segment needs, said even when Understudy keeps the filter.
	steps := strings.Join(p.ManualSteps(), "\n")
	for _, fact := range []string{"Business tier", "Warehouse", "S3", "device-mode"} {
		if !strings.Contains(steps, fact) {
			t.Errorf("the manual steps do not say %q:\n%s", fact, steps)
		}
	}
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	t.Parallel()
	p, _ := newPublisher(t, setup{writeKey: "wk-not-this-source-key-0000000000"}, noSleep)
	_, err := p.Test(t.Context())
	if !errors.Is(err, tagging.ErrCredentials) {
		t.Fatalf("Test with a wrong write key: %v", err)
	}
	for _, s := range []string{"wk-not-this-source-key-0000000000", apiToken, writeKey} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("a secret leaked: %v", err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	good := map[string]string{segment.SecretWriteKey: writeKey}
	withToken := map[string]string{segment.SecretWriteKey: writeKey, segment.SecretAPIToken: apiToken}
	cases := []struct {
		settings string
		secrets  map[string]string
		field    string
	}{
		{`{"writeKey": "x"}`, good, "settings.writeKey"},
		{`{"region": "ap"}`, good, "settings.region"},
		{`{"max_batch": 0.5}`, good, "settings.max_batch"},
		{`{"max_batch": 5000}`, good, "settings.max_batch"},
		{`{"api_url": "https://u:p@h"}`, good, "settings.api_url"},
		{`{"destination_ids": ["a", "a"], "source_id": "s"}`, withToken, "settings.destination_ids[1]"},
		{`{}`, nil, "secrets.write_key"},
		{`{}`, withToken, "settings.source_id"},
		{`{"destination_ids": ["a"]}`, good, "secrets.api_token"},
	}
	for _, c := range cases {
		_, err := segment.New(tagging.Config{Settings: json.RawMessage(c.settings), Secrets: c.secrets})
		ce, ok := errors.AsType[*tagging.ConfigError](err)
		if !ok || ce.Field != c.field {
			t.Errorf("settings %s: error %v, want a ConfigError naming %s", c.settings, err, c.field)
			continue
		}
		if strings.Contains(ce.Error(), writeKey) || strings.Contains(ce.Error(), apiToken) {
			t.Errorf("a secret leaked: %v", ce)
		}
	}
}

func TestFakeRefusesFQLItCannotParseOnCreateAndUpdate(t *testing.T) {
	t.Parallel()
	fake := segmenttest.New(t, segmenttest.Config{WriteKey: writeKey, SourceID: sourceID, APIToken: apiToken, DestinationIDs: destinations})
	existing := fake.AddFilter("dst_braze", segmenttest.Filter{SourceID: sourceID, Title: "Drop bots", If: "type = 'track'",
		Actions: []map[string]any{{"type": "DROP"}}, Enabled: true})
	call := func(method, path string, body map[string]any) (int, map[string]any) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(t.Context(), method, fake.URL+path, strings.NewReader(string(raw)))
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/vnd.segment.v1+json")
		resp, err := fake.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	// wantFieldError checks the 422's RequestErrorEnvelope names the field.
	wantFieldError := func(what string, code int, out map[string]any, field string) {
		t.Helper()
		errs, _ := out["errors"].([]any)
		first, _ := func() (map[string]any, bool) {
			if len(errs) == 0 {
				return nil, false
			}
			m, ok := errs[0].(map[string]any)
			return m, ok
		}()
		gotField, _ := first["field"].(string)
		if code != http.StatusUnprocessableEntity || first["type"] != "validation" || gotField != field || first["message"] == nil {
			t.Errorf("%s: %d %v, want 422 with a validation error on %q", what, code, out, field)
		}
	}
	for _, bad := range []string{`userId = oops"`, `traits.is_synthetic =`, `(type = 'track'`, `nosuch(userId)`} {
		code, out := call(http.MethodPost, "/destination/dst_amplitude/filters", map[string]any{"sourceId": sourceID, "title": "t",
			"if": bad, "actions": []any{map[string]any{"type": "DROP"}}, "enabled": true})
		wantFieldError("creating "+bad, code, out, "if")
		code, out = call(http.MethodPatch, "/destination/dst_braze/filters/"+existing.ID, map[string]any{"if": bad})
		wantFieldError("updating to "+bad, code, out, "if")
	}
	if n := len(fake.Filters("dst_amplitude")); n != 0 {
		t.Errorf("%d filters created from FQL that does not parse", n)
	}
	if got := fake.Filters("dst_braze")[0]; got.If != existing.If {
		t.Errorf("the filter was updated to %q", got.If)
	}
	// Segment supports 10 filters per destination: the eleventh is refused.
	for i := range segmenttest.MaxFiltersPerDestination {
		code, _ := call(http.MethodPost, "/destination/dst_amplitude/filters", map[string]any{"sourceId": sourceID,
			"title": fmt.Sprintf("f%d", i), "if": "type = 'track'", "actions": []any{map[string]any{"type": "DROP"}}, "enabled": true})
		if code != http.StatusOK {
			t.Fatalf("filter %d: %d, want 200", i+1, code)
		}
	}
	code, out := call(http.MethodPost, "/destination/dst_amplitude/filters", map[string]any{"sourceId": sourceID,
		"title": "eleventh", "if": "type = 'track'", "actions": []any{map[string]any{"type": "DROP"}}, "enabled": true})
	wantFieldError("an eleventh filter", code, out, "")
	if n := len(fake.Filters("dst_amplitude")); n != segmenttest.MaxFiltersPerDestination {
		t.Errorf("%d filters on the destination, want %d", n, segmenttest.MaxFiltersPerDestination)
	}
}

func TestFilterNotAddedBesideTenOthers(t *testing.T) {
	t.Parallel()
	p, fake := newPublisher(t, setup{dests: destinations}, noSleep)
	for i := range segment.MaxFiltersPerDestination {
		fake.AddFilter("dst_amplitude", segmenttest.Filter{SourceID: sourceID, Title: fmt.Sprintf("Team filter %d", i),
			If: "type = 'track'", Actions: []map[string]any{{"type": "DROP"}}, Enabled: true})
	}
	_, err := ensure(t, p)
	if !errors.Is(err, tagging.ErrRejected) {
		t.Fatalf("EnsureFilter beside 10 filters: %v, want ErrRejected", err)
	}
	for _, want := range []string{"dst_amplitude", "10 filters", "settings.destination_ids"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if n := len(fake.Filters("dst_amplitude")); n != segment.MaxFiltersPerDestination {
		t.Errorf("%d filters on dst_amplitude, want the 10 others untouched", n)
	}

	// With its own filter among the 10, the publisher keeps it current and adds none.
	q, fake2 := newPublisher(t, setup{dests: destinations}, noSleep)
	for i := range segment.MaxFiltersPerDestination - 1 {
		fake2.AddFilter("dst_amplitude", segmenttest.Filter{SourceID: sourceID, Title: fmt.Sprintf("Team filter %d", i),
			If: "type = 'track'", Actions: []map[string]any{{"type": "DROP"}}, Enabled: true})
	}
	fake2.AddFilter("dst_amplitude", segmenttest.Filter{SourceID: sourceID, Title: segment.FilterTitle, If: "userId = 'old'",
		Actions: []map[string]any{{"type": "DROP"}}})
	if _, err := ensure(t, q); err != nil {
		t.Fatalf("EnsureFilter with its own filter among 10: %v", err)
	}
	got := fake2.Filters("dst_amplitude")
	if len(got) != segment.MaxFiltersPerDestination || got[len(got)-1].If != segment.FilterFQL || !got[len(got)-1].Enabled {
		t.Errorf("filters on dst_amplitude: %+v", got)
	}
}

// TestTrackingAPIWantsJSON: the HTTP API page says "a content-type header
// must be set to 'application/json'"; the fake refuses a call without it
// and keeps nothing, so a publisher that forgot it fails here.
func TestTrackingAPIWantsJSON(t *testing.T) {
	t.Parallel()
	fake := segmenttest.New(t, segmenttest.Config{WriteKey: writeKey, SourceID: sourceID})
	body := `{"batch":[{"type":"identify","userId":"u1","traits":{"is_synthetic":true}}]}`
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.URL+"/v1/batch", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(writeKey, "")
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a batch with Content-Type %q: %d, want 400", ct, resp.StatusCode)
		}
	}
	if m := fake.Marked(); len(m) != 0 {
		t.Errorf("refused batches marked %v", m)
	}
}
