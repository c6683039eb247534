package openapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/snapshot"
)

// ListApps lists an environment's apps.
func (s *Server) ListApps(c echo.Context, env EnvironmentName) error {
	list, err := s.accounts.ListApps(c.Request().Context(), env)
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
	a, err := s.accounts.AttachApp(c.Request().Context(), env, in.Name,
		accounts.AppChange{Provider: &in.Provider, Settings: in.Settings, Secrets: in.Secrets})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a)
}

// GetApp reads an app.
func (s *Server) GetApp(c echo.Context, env EnvironmentName, name AppName) error {
	a, err := s.accounts.GetApp(c.Request().Context(), env, name)
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
	a, err := s.accounts.UpdateApp(c.Request().Context(), env, name,
		accounts.AppChange{Provider: in.Provider, Settings: in.Settings, Secrets: in.Secrets})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// DetachApp detaches an app.
func (s *Server) DetachApp(c echo.Context, env EnvironmentName, name AppName) error {
	if err := s.accounts.DetachApp(c.Request().Context(), env, name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// TestApp checks an app's connection and contract.
func (s *Server) TestApp(c echo.Context, env EnvironmentName, name AppName) error {
	check, err := s.accounts.TestApp(c.Request().Context(), env, name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, check)
}

// ResetAccount restores an account's apps to a named state.
func (s *Server) ResetAccount(c echo.Context, id AccountID) error {
	var in ResetRequest
	if err := decodeOptional(c, &in); err != nil {
		return err
	}
	state := ""
	if in.State != nil {
		state = *in.State
	}
	a, err := s.accounts.Reset(c.Request().Context(), id, state)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// CaptureState captures a named state of an account.
func (s *Server) CaptureState(c echo.Context, id AccountID, state string) error {
	list, err := s.accounts.CaptureState(c.Request().Context(), id, state)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"items": nonNil(list)})
}

// ListSnapshots lists an account's snapshots.
func (s *Server) ListSnapshots(c echo.Context, id AccountID, p ListSnapshotsParams) error {
	state := ""
	if p.State != nil {
		state = *p.State
	}
	list, err := s.accounts.Snapshots(c.Request().Context(), id, state)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// GetSnapshotContent returns a snapshot's state document.
func (s *Server) GetSnapshotContent(c echo.Context, hash string) error {
	content, err := s.accounts.SnapshotContent(c.Request().Context(), hash)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, content)
}

// DiffSnapshots says what differs between two snapshots.
func (s *Server) DiffSnapshots(c echo.Context, p DiffSnapshotsParams) error {
	ctx := c.Request().Context()
	from, err := s.accounts.SnapshotContent(ctx, p.From)
	if err != nil {
		return err
	}
	to, err := s.accounts.SnapshotContent(ctx, p.To)
	if err != nil {
		return err
	}
	changes, err := snapshot.Diff(from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"from": p.From, "to": p.To, "changes": nonNil(changes)})
}

// ListLeases lists leases.
func (s *Server) ListLeases(c echo.Context, p ListLeasesParams) error {
	var env, role string
	if p.Environment != nil {
		env = *p.Environment
	}
	if p.Role != nil {
		role = *p.Role
	}
	list, err := s.accounts.ListLeases(c.Request().Context(), env, role, p.All != nil && *p.All)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// AcquireLease leases a freshly reset account.
func (s *Server) AcquireLease(c echo.Context, p AcquireLeaseParams) error {
	var in LeaseRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	req := accounts.LeaseRequest{Environment: in.Environment, Role: in.Role, Holder: in.Holder,
		TTL: seconds(in.TtlSeconds, 900), Wait: seconds(in.WaitSeconds, 0)}
	if in.State != nil {
		req.State = *in.State
	}
	if p.IdempotencyKey != nil {
		req.IdempotencyKey = *p.IdempotencyKey
	}
	// The wait the caller asked for, then the usual bound for the reset.
	ctx, cancel := context.WithTimeout(c.Request().Context(), req.Wait+s.requestTimeout)
	defer cancel()
	g, err := s.accounts.AcquireLease(ctx, req)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, g)
}

// GetLease reads a lease.
func (s *Server) GetLease(c echo.Context, id LeaseID) error {
	l, err := s.accounts.GetLease(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

// RenewLease extends a lease.
func (s *Server) RenewLease(c echo.Context, id LeaseID) error {
	var in LeaseRenew
	if err := decode(c, &in); err != nil {
		return err
	}
	l, err := s.accounts.RenewLease(c.Request().Context(), id, seconds(in.TtlSeconds, 900))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

// ReleaseLease ends a lease.
func (s *Server) ReleaseLease(c echo.Context, id LeaseID) error {
	var in LeaseRelease
	if err := decodeOptional(c, &in); err != nil {
		return err
	}
	l, err := s.accounts.ReleaseLease(c.Request().Context(), id, in.Reset != nil && *in.Reset)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

func seconds(v *int, def int) time.Duration {
	if v == nil {
		return time.Duration(def) * time.Second
	}
	return time.Duration(*v) * time.Second
}
