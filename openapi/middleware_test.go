package openapi

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/understudy-dev/understudy/access"
)

// requestIDSpec is the rule validRequestID implements.
var requestIDSpec = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func FuzzValidRequestID(f *testing.F) {
	for _, s := range []string{"", "abc", "trace-abc-123", "a.b_c:d-e", "a b", "a\n", "é", strings.Repeat("x", 128), strings.Repeat("x", 129), "/", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := validRequestID(id), requestIDSpec.MatchString(id); got != want {
			t.Errorf("validRequestID(%q) = %v, the rule says %v", id, got, want)
		}
	})
}

func TestRequestIDEchoesOrGenerates(t *testing.T) {
	t.Parallel()
	e := echo.New()
	for sent, keep := range map[string]bool{"": false, "trace-abc-123": true, "bad id": false, strings.Repeat("x", 129): false} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if sent != "" {
			req.Header.Set(HeaderRequestID, sent)
		}
		rec := httptest.NewRecorder()
		c := e.NewContext(req, rec)
		var seen string
		if err := requestID(func(c echo.Context) error {
			seen = access.RequestID(c.Request().Context())
			return nil
		})(c); err != nil {
			t.Fatal(err)
		}
		echoed := rec.Header().Get(HeaderRequestID)
		if echoed != seen || len(rec.Header().Values(HeaderRequestID)) != 1 {
			t.Errorf("sent %q: echoed %v, the context has %q", sent, rec.Header().Values(HeaderRequestID), seen)
		}
		if keep && seen != sent {
			t.Errorf("sent %q: the request id is %q, want it kept", sent, seen)
		}
		if _, err := uuid.Parse(seen); !keep && err != nil {
			t.Errorf("sent %q: the request id is %q, want a new UUID", sent, seen)
		}
	}
}

// BenchmarkValidRequestID compares the loop with the regexp it replaced,
// on a client's typical id.
func BenchmarkValidRequestID(b *testing.B) {
	id := "trace-0b6a1c1e-8d0f-4b7e-9a55-3f1a2b3c4d5e"
	b.Run("loop", func(b *testing.B) {
		for b.Loop() {
			if !validRequestID(id) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			if !requestIDSpec.MatchString(id) {
				b.Fatal("refused")
			}
		}
	})
}

// Acquiring a lease and applying a plan may wait as long as the caller
// asks: the request deadline leaves them to their handlers' own bounds,
// and bounds every other route.
func TestDeadlineLeavesSelfBoundedRoutesToTheirHandlers(t *testing.T) {
	t.Parallel()
	e := echo.New()
	bounded := map[string]bool{}
	h := func(c echo.Context) error {
		_, ok := c.Request().Context().Deadline()
		bounded[c.Request().Method+" "+c.Path()] = ok
		return nil
	}
	mw := deadline(time.Second)
	e.POST("/v1/leases", h, mw)
	e.GET("/v1/leases", h, mw)
	e.POST("/v1/plans", h, mw)
	e.POST("/v1/plans/:plan_id/apply", h, mw)
	for _, r := range []struct{ method, target string }{
		{http.MethodPost, "/v1/leases"}, {http.MethodGet, "/v1/leases"}, {http.MethodPost, "/v1/plans"}, {http.MethodPost, "/v1/plans/p1/apply"},
	} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(r.method, r.target, nil))
	}
	want := map[string]bool{"POST /v1/leases": false, "GET /v1/leases": true, "POST /v1/plans": true, "POST /v1/plans/:plan_id/apply": false}
	if !reflect.DeepEqual(bounded, want) {
		t.Fatalf("bounded by the request deadline: %v, want %v", bounded, want)
	}
}

func TestNewRequestIDIsARandomUUID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := newRequestID()
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != id || seen[id] {
			t.Fatalf("newRequestID() = %q (%v): want a new version 4 UUID in canonical form", id, err)
		}
		seen[id] = true
	}
}
