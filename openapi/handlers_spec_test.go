package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/spec"
)

var planAt = time.Date(2026, 11, 25, 21, 44, 31, 123000000, time.UTC)

// fullPlan is a plan with every field set, optional ones included, so that
// its JSON has every member the spec types can write.
func fullPlan() spec.Plan {
	acct := spec.AccountEffect{ID: "0b6a1c1e-8d0f-4b7e-9a55-3f1a2b3c4d5e", Email: "zoe@qa.example.test", Role: "buyer", Slot: 1,
		Status: "leased", LeasedBy: "ci-run-7", LeaseExpiresAt: new(planAt.Add(time.Minute))}
	// The attribute change has every member set, as no real one would.
	attr := spec.AttributeChange{Name: "pool_size", Before: 2.0, After: 1.0, Sensitive: true, ForcesReplacement: true}
	ch := spec.Change{Address: "role.buyer", Kind: spec.KindRole, ID: "production/buyer", Action: spec.Replace, Importing: true, PreviousAddress: "role.shopper",
		Before: map[string]any{"pool_size": 2.0, "token": spec.SensitiveValue}, After: map[string]any{"pool_size": 1.0},
		Attributes: []spec.AttributeChange{attr}, Reason: "environment changes", ReplaceRequested: true,
		Effects: spec.Effects{Create: 1, Retire: []spec.AccountEffect{acct}, Reprovision: []spec.AccountEffect{acct},
			Deprovision: []spec.RefEffect{{AccountID: acct.ID, Email: acct.Email, App: "chirp", Ref: "42"}}}}
	return spec.Plan{ID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", Workspace: "default", Mode: spec.ModeNormal, Status: spec.StatusFailed,
		CreatedAt: planAt, CreatedBy: "test-admin", Serial: 3, Changes: []spec.Change{ch}, Drift: []spec.Change{ch},
		Unmanaged: []spec.Object{{Kind: spec.KindEnvironment, ID: "staging", ManagedBy: "other"}},
		Summary:   spec.Summary{Add: 1, Change: 2, Destroy: 1, Import: 1, Forget: 1},
		Applied:   []spec.AppliedChange{{Address: "role.buyer", Action: spec.Delete, At: planAt}}, ApplyError: "app chirp is unavailable",
		Targets: []string{"role.buyer"}, Replace: []string{"role.buyer"}}
}

// schemaOf returns a component schema of openapi.yaml.
func schemaOf(t *testing.T, name string) *openapi3.Schema {
	t.Helper()
	doc, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	ref := doc.Components.Schemas[name]
	if ref == nil {
		t.Fatalf("openapi.yaml has no schema %s", name)
	}
	return ref.Value
}

// properties are the named members of an object schema, its allOf's
// included; none for a free-form object.
func properties(s *openapi3.Schema) openapi3.Schemas {
	out := openapi3.Schemas{}
	for _, sub := range s.AllOf {
		for k, v := range properties(sub.Value) {
			out[k] = v
		}
	}
	for k, v := range s.Properties {
		out[k] = v
	}
	return out
}

// mirror lists where the decoded JSON v and schema disagree on an object's
// members: one v has that the schema does not name, or one the schema names
// that v lacks. v must have every optional member set, so that the two
// name exactly the same members everywhere.
func mirror(s *openapi3.Schema, v any, path string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		props := properties(s)
		if len(props) == 0 {
			return nil // a free-form object
		}
		for k := range x {
			if props[k] == nil {
				out = append(out, path+"."+k+" is not in the schema")
			}
		}
		for k, p := range props {
			e, ok := x[k]
			if !ok {
				out = append(out, path+"."+k+" is in the schema but not in the JSON")
				continue
			}
			out = append(out, mirror(p.Value, e, path+"."+k)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, mirror(s.Items.Value, e, path+"["+strconv.Itoa(i)+"]")...)
		}
	}
	slices.Sort(out)
	return out
}

// decoded is v as JSON decodes it.
func decoded(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The CLI decodes the answers straight into the spec types: their JSON must
// be what the contract describes, member for member.
func TestSpecJSONMirrorsTheContract(t *testing.T) {
	t.Parallel()
	full := spec.Workspace{Name: "default", Serial: 3, Objects: 4, CreatedAt: planAt, LastAppliedAt: new(planAt),
		Lock:    &spec.Lock{Holder: "test-admin", Since: planAt, Reason: "release freeze", PlanID: "p1"},
		Managed: []spec.ManagedObject{{Address: "understudy_role.buyer", SpecAddress: "role.buyer", Kind: spec.KindRole, ID: "production/buyer", AppliedAt: new(planAt)}}}
	forgotten := spec.Forgotten{Forgotten: full.Managed, Workspace: full}
	req := spec.PlanRequest{Workspace: "default", Mode: spec.ModeDestroy, Desired: spec.Desired{
		Environments: []spec.Environment{{Address: "environment.production", Name: "production", EmailDomains: []string{"qa.example.test"},
			CustomSurfaces: []string{"stories"}, InboxRetention: new("7d"), InboxMaxMessages: new(200), CaptureRetention: new("30d"), Lifecycle: spec.Lifecycle{PreventDestroy: true}}},
		Apps: []spec.App{{Address: "app.chirp", Environment: "production", Name: "chirp", Provider: "webhook",
			Settings: json.RawMessage(`{"url":"https://chirp.example.test"}`), Secrets: map[string]string{"signing_secret": "s"}}},
		Roles: []spec.Role{{Address: "role.buyer", Environment: "production", Name: "buyer", Description: "buys", PoolSize: new(2),
			Attributes: map[string]string{"plan": "pro"}, IsolationPolicy: map[string]string{"leaderboards": "hidden"}, QuarantineOnViolation: new(false),
			CodePattern: `code: (\d{6})`, LinkPattern: `/magic/`}},
		Destinations: []spec.Destination{{Address: "destination.posthog", Environment: "production", Name: "posthog", Kind: "posthog",
			Settings: json.RawMessage(`{"project":1}`), Secrets: map[string]string{"api_key": "k"}, DistinctID: new("email"), SyncInterval: new("15m")}},
		Flows: []spec.Flow{{Address: "flow.checkout", Environment: "production", Name: "checkout", Role: "buyer", Every: "15m",
			Lifecycle: spec.Lifecycle{PreventDestroy: true}}},
		Imports: []spec.Import{{To: "environment.production", ID: "production"}},
		Removed: []spec.Removed{{From: "role.seller"}},
		Moved:   []spec.Moved{{From: "role.shopper", To: `role.buyer["eu"]`}},
	}, Targets: []string{"understudy_role.buyer"}, Replace: []string{"understudy_role.buyer"}}
	for _, tc := range []struct {
		schema string
		v      any
		asReq  bool
	}{{"Plan", planView(fullPlan()), false}, {"Workspace", full, false}, {"ForgetResult", forgotten, false}, {"PlanRequest", req, true}} {
		s := schemaOf(t, tc.schema)
		v := decoded(t, tc.v)
		opts := []openapi3.SchemaValidationOption{openapi3.VisitAsResponse()}
		if tc.asReq {
			opts = []openapi3.SchemaValidationOption{openapi3.VisitAsRequest()}
		}
		if err := s.VisitJSON(v, opts...); err != nil {
			t.Errorf("%s: the JSON of the spec type does not match the schema: %v", tc.schema, err)
		}
		if diff := mirror(s, v, tc.schema); len(diff) > 0 {
			t.Errorf("%s: the schema and the spec type differ:\n%s", tc.schema, strings.Join(diff, "\n"))
		}
	}
}

// A plan with nothing in its lists is answered with empty lists, never
// null, and planView leaves the plan it is given as it was.
func TestPlanViewAnswersEmptyListsNotNull(t *testing.T) {
	t.Parallel()
	p := spec.Plan{ID: "p1", Workspace: "default", Mode: spec.ModeNormal, Status: spec.StatusPlanned, CreatedAt: planAt, CreatedBy: "test-admin",
		Changes: []spec.Change{{Address: "environment.production", Kind: spec.KindEnvironment, ID: "production", Action: spec.Create,
			After: map[string]any{"name": "production"}}}}
	if err := schemaOf(t, "Plan").VisitJSON(decoded(t, p)); err == nil {
		t.Fatal("a plan with null lists matches the schema: the test shows nothing")
	}
	v := decoded(t, planView(p))
	if err := schemaOf(t, "Plan").VisitJSON(v, openapi3.VisitAsResponse()); err != nil {
		t.Fatalf("planView's JSON does not match the schema: %v", err)
	}
	m := v.(map[string]any)
	for _, k := range []string{"drift", "unmanaged", "applied"} {
		if l, ok := m[k].([]any); !ok || len(l) != 0 {
			t.Errorf("%s = %#v, want []", k, m[k])
		}
	}
	if ch := m["changes"].([]any)[0].(map[string]any); ch["before"] != nil || ch["attributes"] == nil {
		t.Errorf("change = %v, want before null and attributes []", ch)
	}
	if p.Changes[0].Attributes != nil || p.Drift != nil {
		t.Error("planView changed the plan it was given")
	}
}

// answerError runs the server's error handler on err as if an apply had
// returned it.
func answerError(t *testing.T, err error) *httptest.ResponseRecorder {
	t.Helper()
	s := &Server{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rec := httptest.NewRecorder()
	s.handleError(err, echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/v1/plans/p1/apply", nil), rec))
	return rec
}

func TestAnApplyThatStopsAnswersItsProblemWithThePlan(t *testing.T) {
	t.Parallel()
	p := fullPlan()
	want, err := json.Marshal(planView(p))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err    error
		status int
		detail string
	}{
		{understudy.Errorf(understudy.EUNAVAILABLE, "app chirp is unavailable"), http.StatusServiceUnavailable, "app chirp is unavailable"},
		{understudy.Errorf(understudy.ECONFLICT, "account zoe@qa.example.test is leased by ci-run-7"), http.StatusConflict, "account zoe@qa.example.test is leased by ci-run-7"},
		{errors.New("connection reset"), http.StatusInternalServerError, "internal error"},
	} {
		rec := answerError(t, applyFailed(p, tc.err))
		if rec.Code != tc.status || rec.Header().Get(echo.HeaderContentType) != ProblemContentType {
			t.Fatalf("%v: answered %d %s", tc.err, rec.Code, rec.Header().Get(echo.HeaderContentType))
		}
		// The body is a problem of the contract, its plan included.
		var doc any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if err := schemaOf(t, "Problem").VisitJSON(doc, openapi3.VisitAsResponse()); err != nil {
			t.Fatalf("%v: the problem does not match the schema: %v\n%s", tc.err, err, rec.Body)
		}
		dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		dec.DisallowUnknownFields()
		var pr Problem
		if err := dec.Decode(&pr); err != nil || pr.Status != tc.status || pr.Detail != tc.detail || pr.Plan == nil ||
			len(pr.Plan.Applied) != 1 || pr.Plan.ApplyError == nil || *pr.Plan.ApplyError != p.ApplyError {
			t.Fatalf("%v: problem %+v (%v)\n%s", tc.err, pr, err, rec.Body)
		}
		// The plan member is the spec type's JSON, as GET /v1/plans/{id} answers it.
		var got struct {
			Plan json.RawMessage `json:"plan"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || !bytes.Equal(got.Plan, want) {
			t.Fatalf("%v: plan member\n%s\nwant\n%s", tc.err, got.Plan, want)
		}
	}
}

func TestAnApplyErrorWithoutAPlanIsAPlainProblem(t *testing.T) {
	t.Parallel()
	rec := answerError(t, applyFailed(spec.Plan{}, understudy.Errorf(understudy.ENOTFOUND, "no plan p1")))
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != http.StatusNotFound {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if _, ok := doc["plan"]; ok {
		t.Fatalf("a problem without a plan has a plan member: %s", rec.Body)
	}
}

func TestProblemMembersNeverReplaceStandardOnes(t *testing.T) {
	t.Parallel()
	err := withMembers(understudy.Errorf(understudy.ECONFLICT, "workspace default is locked"),
		map[string]any{"status": 200, "detail": "fine", "holder": "test-admin"})
	rec := answerError(t, err)
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusConflict || doc["status"] != 409.0 || doc["detail"] != "workspace default is locked" || doc["holder"] != "test-admin" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestWaitLeases(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"0s": 0, "90s": 90 * time.Second, "5m": 5 * time.Minute, "1h": time.Hour} {
		if got, err := waitLeases(new(in)); err != nil || got != want {
			t.Errorf("waitLeases(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := waitLeases(nil); err != nil || got != 0 {
		t.Errorf("waitLeases(nil) = %v, %v", got, err)
	}
	for _, in := range []string{"", "soon", "5", "1h1s", "2h", "-1s", "5 m"} {
		_, err := waitLeases(new(in))
		ue, ok := errors.AsType[*understudy.Error](err)
		if !ok || ue.Code != understudy.EINVALID || len(ue.Fields) != 1 || ue.Fields[0].Field != "wait_leases" {
			t.Errorf("waitLeases(%q): %v, want EINVALID naming wait_leases", in, err)
		}
	}
}
