package openapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/run"
)

// ListDeployments lists deployments, newest first, a page at a time.
func (s *Server) ListDeployments(c echo.Context, p ListDeploymentsParams) error {
	var f run.DeploymentFilter
	if p.Environment != nil {
		f.Environment = *p.Environment
	}
	if p.Since != nil {
		f.Since = *p.Since
	}
	if p.Until != nil {
		f.Until = *p.Until
	}
	if p.Before != nil {
		f.Before = *p.Before
	}
	if p.Limit != nil {
		f.Limit = *p.Limit
	}
	page, err := s.deployments.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, page)
}

// RecordDeployment records a deployment: 201 when it is new, 200 when the
// same one was already recorded.
func (s *Server) RecordDeployment(c echo.Context) error {
	var in DeploymentRecord
	if err := decode(c, &in); err != nil {
		return err
	}
	r := run.DeploymentRecord{Environment: in.Environment, Version: in.Version}
	if in.DeployedAt != nil {
		r.DeployedAt = *in.DeployedAt
	}
	if in.Url != nil {
		r.URL = *in.Url
	}
	d, created, err := s.deployments.Record(c.Request().Context(), r)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, d)
}

// ListFlows lists an environment's flows.
func (s *Server) ListFlows(c echo.Context, env EnvironmentName) error {
	list, err := s.flows.List(c.Request().Context(), env)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// GetFlow reads a flow.
func (s *Server) GetFlow(c echo.Context, env EnvironmentName, name FlowName) error {
	f, err := s.flows.Get(c.Request().Context(), env, name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}

// PutFlow creates or changes a flow: 201 when it is new.
func (s *Server) PutFlow(c echo.Context, env EnvironmentName, name FlowName) error {
	var in FlowPut
	if err := decode(c, &in); err != nil {
		return err
	}
	f, created, err := s.flows.Put(c.Request().Context(), env, name, run.FlowChange{Role: in.Role, Every: in.Every})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, f)
}

// DeleteFlow deletes a flow.
func (s *Server) DeleteFlow(c echo.Context, env EnvironmentName, name FlowName) error {
	if err := s.flows.Delete(c.Request().Context(), env, name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
