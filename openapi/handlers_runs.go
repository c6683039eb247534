package openapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/run"
)

// PutLeaseRun names a lease's run.
func (s *Server) PutLeaseRun(c echo.Context, id LeaseID) error {
	var in RunNaming
	if err := decode(c, &in); err != nil {
		return err
	}
	l, err := s.leases.NameRun(c.Request().Context(), id, namingOf(in))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

// ListRuns lists the runs, newest first, a page at a time.
func (s *Server) ListRuns(c echo.Context, p ListRunsParams) error {
	f := run.Filter{Environment: deref(p.Environment), Role: deref(p.Role), Flow: deref(p.Flow), Since: p.Since, Until: p.Until,
		After: deref(p.After)}
	if p.Outcome != nil {
		f.Outcome = run.Outcome(*p.Outcome)
	}
	if p.Limit != nil {
		f.Limit = *p.Limit
	}
	list, next, err := s.runs.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := map[string]any{"items": nonNil(list)}
	if next != "" {
		out["next"] = next
	}
	return c.JSON(http.StatusOK, out)
}

// GetRun reads the run of a lease.
func (s *Server) GetRun(c echo.Context, id LeaseID) error {
	r, err := s.runs.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// namingOf is the run a lease request or PUT .../run names.
func namingOf(in RunNaming) run.Naming {
	return run.Naming{RunID: deref(in.RunId), Flow: deref(in.Flow), CIURL: deref(in.CiUrl), Version: deref(in.Version)}
}

// releaseOf is how a release body ends its lease: with an outcome when
// it sends one, or a message, test or links (which need one: the
// outcome's validation names it).
func releaseOf(in LeaseRelease) lease.ReleaseRequest {
	r := lease.ReleaseRequest{Reset: in.Reset != nil && *in.Reset}
	if in.Outcome == nil && in.Message == nil && in.Test == nil && in.Links == nil {
		return r
	}
	r.Outcome = &run.Report{Message: deref(in.Message), Test: deref(in.Test)}
	if in.Outcome != nil {
		r.Outcome.Outcome = run.Outcome(*in.Outcome)
	}
	if in.Links != nil {
		r.Outcome.Links = make([]run.Link, len(*in.Links))
		for i, l := range *in.Links {
			r.Outcome.Links[i] = run.Link{Name: l.Name, URL: l.Url}
		}
	}
	return r
}

// GetRunCapture reads the account's state at a failed run's end: the
// lease's own token or an admin's only (lease.Service.Owned audits a
// refusal), since the states hold the account's data.
func (s *Server) GetRunCapture(c echo.Context, id LeaseID) error {
	ctx := c.Request().Context()
	if _, err := s.leases.Owned(ctx, id, "capture_read"); err != nil {
		return err
	}
	cp, found, err := s.captures.Get(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return understudy.Errorf(understudy.ENOTFOUND, "the run of lease %s has no captured state: only a failed, errored or abandoned run has one, until its environment's capture retention", id)
	}
	return c.JSON(http.StatusOK, cp)
}

// GetRunCaptureState reads one app's state at a failed run's end, as
// GetRunCapture decides who may.
func (s *Server) GetRunCaptureState(c echo.Context, id LeaseID, app string) error {
	ctx := c.Request().Context()
	if _, err := s.leases.Owned(ctx, id, "capture_read"); err != nil {
		return err
	}
	b, err := s.captures.State(ctx, id, app)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}
