package console

import (
	"time"

	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/understudy-dev/understudy"
)

// A console error page answers each code with the status of the one table
// in error.go, as the REST API does; a code the table does not know
// answers 500. Only the page differs, not the status.
func TestConsoleErrorStatusComesFromTheErrorTable(t *testing.T) {
	t.Parallel()
	v, err := newViews(time.Now)
	if err != nil {
		t.Fatal(err)
	}
	c := &Console{cfg: Config{}.WithDefaults(), views: v}
	codes := []string{
		understudy.EINVALID, understudy.EMALFORMED, understudy.ENOTFOUND, understudy.ECONFLICT,
		understudy.EUNAUTHORIZED, understudy.EFORBIDDEN, understudy.ETOOLARGE, understudy.ENOTACCEPTABLE,
		understudy.EUNAVAILABLE, understudy.EBADGATEWAY, understudy.ETIMEOUT, understudy.EINTERNAL, "not_a_code",
	}
	for _, code := range codes {
		for _, htmx := range []bool{false, true} {
			req := httptest.NewRequest(http.MethodGet, "/ui/accounts", nil)
			if htmx {
				req.Header.Set("HX-Request", "true")
			}
			rec := httptest.NewRecorder()
			c.fail(rec, req, nil, understudy.Errorf(code, "some %s", code))
			if want := understudy.ErrorStatusCode(code); rec.Code != want {
				t.Errorf("code %q (htmx %v): %d, want %d", code, htmx, rec.Code, want)
			}
		}
	}
}
