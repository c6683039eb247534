package openapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/isolation"
)

// CheckIsolation decides, for each subject, whether the viewer sees it.
// The gate has read and checked a plain body already (readCheckBody).
func (s *Server) CheckIsolation(c echo.Context) error {
	in, ok := c.Get(checkBodyKey).(*IsolationCheck)
	if !ok {
		in = new(IsolationCheck)
		if err := decode(c, in); err != nil {
			return err
		}
	}
	results, err := s.isolation.Check(c.Request().Context(), isolation.CheckRequest{Environment: in.Environment, Surface: in.Surface, Viewer: in.Viewer, Subjects: in.Subjects})
	if err != nil {
		return err
	}
	return writeCheckResults(c, results)
}

// GetIsolationList serves an environment's signed isolation list, with
// ETag and If-None-Match. The body is written exactly as it was signed.
func (s *Server) GetIsolationList(c echo.Context, env EnvironmentName, p GetIsolationListParams) error {
	var unchanged func(string) bool
	if p.IfNoneMatch != nil {
		unchanged = func(version string) bool { return etagMatches(*p.IfNoneMatch, `"`+version+`"`) }
	}
	l, err := s.isolation.List(c.Request().Context(), env, unchanged)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("ETag", `"`+l.Version+`"`)
	h.Set("Cache-Control", "no-cache")
	if l.Body == nil {
		return c.NoContent(http.StatusNotModified)
	}
	h.Set(isolation.SignatureHeader, l.SignatureHeader())
	return c.Blob(http.StatusOK, "application/json", l.Body)
}

// ListIsolationKeys lists the trusted signing keys, newest first.
func (s *Server) ListIsolationKeys(c echo.Context) error {
	keys, err := s.isolation.Keys(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": nonNil(keys)})
}

// RotateIsolationKey makes a new signing key.
func (s *Server) RotateIsolationKey(c echo.Context) error {
	k, err := s.isolation.Rotate(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, k)
}

// RetireIsolationKey stops trusting a signing key.
func (s *Server) RetireIsolationKey(c echo.Context, keyID string) error {
	if err := s.isolation.Retire(c.Request().Context(), keyID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// deref is the value *p points at, or the zero value when p is nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// RunIsolationAudit audits an environment's surfaces now and returns the report.
func (s *Server) RunIsolationAudit(c echo.Context) error {
	var in IsolationAuditRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	rep, err := s.isolation.Audit(c.Request().Context(), in.Environment)
	if err != nil {
		return err
	}
	rep.Results = nonNil(rep.Results)
	return c.JSON(http.StatusOK, rep)
}

// ListIsolationViolations lists violations, newest first.
func (s *Server) ListIsolationViolations(c echo.Context, p ListIsolationViolationsParams) error {
	vs, err := s.isolation.ListViolations(c.Request().Context(), isolation.ViolationFilter{
		Environment: deref(p.Environment), Open: p.Open, Limit: deref(p.Limit)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(vs)})
}
