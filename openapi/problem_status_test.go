package openapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy"
)

// contractCodes are the codes openapi.yaml's Problem schema lists.
var contractCodes = []ProblemCode{
	ProblemCodeBadGateway, ProblemCodeConflict, ProblemCodeForbidden, ProblemCodeGatewayTimeout,
	ProblemCodeInternal, ProblemCodeInvalid, ProblemCodeMalformed, ProblemCodeNotAcceptable,
	ProblemCodeNotFound, ProblemCodeTooLarge, ProblemCodeUnauthorized, ProblemCodeUnavailable,
}

// The REST API answers each code of its contract with the status of the
// one table in error.go, and a code the table does not know with 500.
func TestProblemStatusComesFromTheErrorTable(t *testing.T) {
	t.Parallel()
	s := &Server{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	e := echo.New()
	want := map[string]int{"not_a_code": http.StatusInternalServerError}
	for _, code := range contractCodes {
		if !code.Valid() {
			t.Fatalf("%q is not in the contract's enum", code)
		}
		want[string(code)] = understudy.ErrorStatusCode(string(code))
	}
	for code, status := range want {
		rec := httptest.NewRecorder()
		s.handleError(understudy.Errorf(code, "some %s", code), e.NewContext(httptest.NewRequest(http.MethodGet, "/v1/x", nil), rec))
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if rec.Code != status || p.Status != status {
			t.Errorf("code %q answered %d (document says %d), want %d", code, rec.Code, p.Status, status)
		}
	}
	// The table's statuses are those the contract's responses name.
	named := map[ProblemCode]int{
		ProblemCodeBadGateway: 502, ProblemCodeConflict: 409, ProblemCodeForbidden: 403, ProblemCodeGatewayTimeout: 504,
		ProblemCodeInternal: 500, ProblemCodeInvalid: 422, ProblemCodeMalformed: 400, ProblemCodeNotAcceptable: 406,
		ProblemCodeNotFound: 404, ProblemCodeTooLarge: 413, ProblemCodeUnauthorized: 401, ProblemCodeUnavailable: 503,
	}
	got := map[ProblemCode]int{}
	for _, code := range contractCodes {
		got[code] = understudy.ErrorStatusCode(string(code))
	}
	if !reflect.DeepEqual(got, named) {
		t.Errorf("statuses %v, the contract names %v", got, named)
	}
}
