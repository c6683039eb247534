package openapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/apps"
)

// ListApps lists an environment's apps.
func (s *Server) ListApps(c echo.Context, env EnvironmentName) error {
	list, err := s.apps.List(c.Request().Context(), env)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// AttachApp attaches an app and schedules provisioning into it.
func (s *Server) AttachApp(c echo.Context, env EnvironmentName) error {
	var in struct {
		Name     string            `json:"name"`
		Provider string            `json:"provider"`
		Settings json.RawMessage   `json:"settings"`
		Secrets  map[string]string `json:"secrets"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	a, err := s.apps.Attach(c.Request().Context(), env, in.Name,
		apps.Change{Provider: &in.Provider, Settings: in.Settings, Secrets: in.Secrets})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a)
}

// GetApp reads an app.
func (s *Server) GetApp(c echo.Context, env EnvironmentName, name AppName) error {
	a, err := s.apps.Get(c.Request().Context(), env, name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// UpdateApp changes an app.
func (s *Server) UpdateApp(c echo.Context, env EnvironmentName, name AppName) error {
	var in struct {
		Provider *string           `json:"provider"`
		Settings json.RawMessage   `json:"settings"`
		Secrets  map[string]string `json:"secrets"`
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	a, err := s.apps.Update(c.Request().Context(), env, name,
		apps.Change{Provider: in.Provider, Settings: in.Settings, Secrets: in.Secrets})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// DetachApp detaches an app.
func (s *Server) DetachApp(c echo.Context, env EnvironmentName, name AppName) error {
	if err := s.apps.Detach(c.Request().Context(), env, name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// TestApp checks an app's connection and contract.
func (s *Server) TestApp(c echo.Context, env EnvironmentName, name AppName) error {
	check, err := s.apps.Test(c.Request().Context(), env, name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, check)
}

func seconds(v *int, def int) time.Duration {
	if v == nil {
		return time.Duration(def) * time.Second
	}
	return time.Duration(*v) * time.Second
}
