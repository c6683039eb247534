package openapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/understudy-dev/understudy/snapshot"
)

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
	a, err := s.snapshots.Reset(c.Request().Context(), id, state)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// CaptureState captures a named state of an account.
func (s *Server) CaptureState(c echo.Context, id AccountID, state string) error {
	list, err := s.snapshots.CaptureState(c.Request().Context(), id, state)
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
	list, err := s.snapshots.List(c.Request().Context(), id, state)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// GetSnapshotContent returns a snapshot's state document.
func (s *Server) GetSnapshotContent(c echo.Context, hash string) error {
	content, err := s.snapshots.Content(c.Request().Context(), hash)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, content)
}

// DiffSnapshots says what differs between two snapshots.
func (s *Server) DiffSnapshots(c echo.Context, p DiffSnapshotsParams) error {
	ctx := c.Request().Context()
	from, err := s.snapshots.Content(ctx, p.From)
	if err != nil {
		return err
	}
	to, err := s.snapshots.Content(ctx, p.To)
	if err != nil {
		return err
	}
	changes, err := snapshot.Diff(from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"from": p.From, "to": p.To, "changes": nonNil(changes)})
}
