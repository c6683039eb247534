package openapi

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/tagging"
)

// ListDestinations lists an environment's destinations.
func (s *Server) ListDestinations(c echo.Context, env EnvironmentName) error {
	list, err := s.destinations.List(c.Request().Context(), env)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// destinationBody is the body of an attach or an update.
type destinationBody struct {
	Name         string            `json:"name"`
	Kind         *string           `json:"kind"`
	Settings     json.RawMessage   `json:"settings"`
	Secrets      map[string]string `json:"secrets"`
	DistinctID   *string           `json:"distinct_id"`
	SyncInterval *string           `json:"sync_interval"`
}

func (b destinationBody) change() tagging.DestinationChange {
	return tagging.DestinationChange{Kind: b.Kind, Settings: b.Settings, Secrets: b.Secrets, DistinctID: b.DistinctID, SyncInterval: b.SyncInterval}
}

// AttachDestination attaches a destination.
func (s *Server) AttachDestination(c echo.Context, env EnvironmentName) error {
	var in destinationBody
	if err := decode(c, &in); err != nil {
		return err
	}
	d, err := s.destinations.Attach(c.Request().Context(), env, in.Name, in.change())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, d)
}

// GetDestination reads a destination.
func (s *Server) GetDestination(c echo.Context, env EnvironmentName, name DestinationName) error {
	d, err := s.destinations.Get(c.Request().Context(), env, name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// UpdateDestination changes a destination.
func (s *Server) UpdateDestination(c echo.Context, env EnvironmentName, name DestinationName) error {
	var in destinationBody
	if err := decode(c, &in); err != nil {
		return err
	}
	d, err := s.destinations.Update(c.Request().Context(), env, name, in.change())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// DetachDestination detaches a destination.
func (s *Server) DetachDestination(c echo.Context, env EnvironmentName, name DestinationName) error {
	if err := s.destinations.Detach(c.Request().Context(), env, name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// TestDestination checks a destination's credentials.
func (s *Server) TestDestination(c echo.Context, env EnvironmentName, name DestinationName) error {
	check, err := s.destinations.Test(c.Request().Context(), env, name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, check)
}

// SyncDestination runs a sync of a destination, or a dry run of one.
func (s *Server) SyncDestination(c echo.Context, env EnvironmentName, name DestinationName, params SyncDestinationParams) error {
	ctx := c.Request().Context()
	if params.DryRun != nil && *params.DryRun {
		plan, err := s.destinations.DryRun(ctx, env, name)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, plan)
	}
	run, err := s.destinations.Sync(ctx, env, name, tagging.SyncOptions{Full: params.Full != nil && *params.Full})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, run)
}

// ListSyncRuns lists the latest sync runs.
func (s *Server) ListSyncRuns(c echo.Context, params ListSyncRunsParams) error {
	limit := 100
	if params.Limit != nil {
		limit = *params.Limit
	}
	runs, err := s.destinations.Runs(c.Request().Context(), valueOr(params.Environment), valueOr(params.Destination), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(runs)})
}

func valueOr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
