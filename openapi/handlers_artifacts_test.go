package openapi

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/run"
)

// The artifact's upload has a limit of its own, 10 MiB, read no further;
// every other route keeps its own (1 MiB by default).
func TestTheArtifactRouteAloneTakesTenMiB(t *testing.T) {
	t.Parallel()
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		_ = c.String(map[bool]int{true: http.StatusRequestEntityTooLarge, false: http.StatusBadRequest}[strings.Contains(err.Error(), "larger than")], err.Error())
	}
	read := func(c echo.Context) error {
		n, err := io.Copy(io.Discard, c.Request().Body)
		if tl := tooLargeFrom(err); tl != nil {
			return tl
		}
		return c.String(http.StatusOK, string(rune('0'+n%10)))
	}
	mw := limitBody(maxBody, map[[2]string]int64{artifactRoute: run.MaxArtifactBytes})
	e.PUT("/v1/leases/:lease_id/artifacts/:name", read, mw)
	e.POST("/v1/leases/:lease_id/renew", read, mw)
	for _, c := range []struct {
		method, path string
		size         int
		chunked      bool
		want         int
	}{
		{http.MethodPut, "/v1/leases/l/artifacts/a", run.MaxArtifactBytes, false, http.StatusOK},
		{http.MethodPut, "/v1/leases/l/artifacts/a", run.MaxArtifactBytes + 1, false, http.StatusRequestEntityTooLarge},
		{http.MethodPut, "/v1/leases/l/artifacts/a", run.MaxArtifactBytes, true, http.StatusOK},
		{http.MethodPut, "/v1/leases/l/artifacts/a", run.MaxArtifactBytes + 1, true, http.StatusRequestEntityTooLarge},
		{http.MethodPost, "/v1/leases/l/renew", maxBody, false, http.StatusOK},
		{http.MethodPost, "/v1/leases/l/renew", maxBody + 1, false, http.StatusRequestEntityTooLarge},
		{http.MethodPost, "/v1/leases/l/renew", maxBody + 1, true, http.StatusRequestEntityTooLarge},
	} {
		body := &countingReader{r: bytes.NewReader(make([]byte, c.size))}
		req := httptest.NewRequest(c.method, c.path, body)
		req.ContentLength = int64(c.size)
		if c.chunked {
			req.ContentLength = -1
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s %s with %d bytes (chunked %v): %d, want %d", c.method, c.path, c.size, c.chunked, rec.Code, c.want)
		}
		// A declared length over the limit is refused unread; an
		// undeclared one is read no further than a byte past it.
		limit := int64(maxBody)
		if c.method == http.MethodPut {
			limit = run.MaxArtifactBytes
		}
		if max := limit + 1; body.n > max || (!c.chunked && int64(c.size) > limit && body.n != 0) {
			t.Errorf("%s %s with %d bytes (chunked %v): read %d bytes", c.method, c.path, c.size, c.chunked, body.n)
		}
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// The contract lists exactly the types an artifact may be downloaded as.
func TestTheContractListsTheArtifactsServedTypes(t *testing.T) {
	t.Parallel()
	doc, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Value("/v1/leases/{lease_id}/artifacts/{name}").Get
	var listed []string
	for ct := range op.Responses.Value("200").Value.Content {
		listed = append(listed, ct)
	}
	slices.Sort(listed)
	want := slices.Sorted(slices.Values(append(run.InertContentTypes(), run.DefaultContentType)))
	if !slices.Equal(listed, want) {
		t.Fatalf("the contract lists %v, the server serves %v", listed, want)
	}
}
