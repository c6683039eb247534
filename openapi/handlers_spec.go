package openapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/spec"
)

// maxWaitLeases bounds an apply's wait_leases (the contract says so, as
// "up to 1h").
const maxWaitLeases = time.Hour

// CreatePlan computes and stores the plan of a spec. The body is decoded
// straight into spec.PlanRequest: the gate has held it to the contract,
// whose schemas mirror the spec types field for field, and the settings of
// apps and destinations stay raw JSON for their providers to read.
func (s *Server) CreatePlan(c echo.Context) error {
	var in spec.PlanRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	p, err := s.spec.Plan(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, planView(p))
}

// GetPlan reads a stored plan.
func (s *Server) GetPlan(c echo.Context, id PlanID) error {
	p, err := s.spec.GetPlan(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, planView(p))
}

// ApplyPlan applies a stored plan under its workspace's lock, held by the
// caller. An apply that stops part-way is answered with its error's
// problem, which carries the plan as applied so far as its member "plan".
//
// The apply is bounded by its wait for leases plus applyTimeout rather than
// the request timeout. A client that goes away (the CLI interrupted by
// SIGINT or SIGTERM) stops it as Terraform's interrupt does: the change in
// progress completes, no other starts, a wait for leases ends, and the
// workspace is unlocked; the changes made are recorded as for any apply
// that stops on an error, and a new plan shows the rest. Its outcome stays
// readable with GetPlan.
func (s *Server) ApplyPlan(c echo.Context, id PlanID) error {
	var in ApplyRequest
	if err := decodeOptional(c, &in); err != nil {
		return err
	}
	wait, err := waitLeases(in.WaitLeases)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), wait+s.applyTimeout)
	defer cancel()
	p, err := s.spec.Apply(ctx, id, spec.ApplyOptions{WaitLeases: wait, Holder: access.CallerFrom(ctx).Actor,
		Interrupt: c.Request().Context().Done()})
	if err != nil {
		return applyFailed(p, err)
	}
	return c.JSON(http.StatusOK, planView(p))
}

// applyFailed is the error an apply answers with: err, carrying the plan
// as applied so far when Apply returned one.
func applyFailed(p spec.Plan, err error) error {
	if p.ID == "" {
		return err
	}
	return withMembers(err, map[string]any{"plan": planView(p)})
}

// waitLeases parses an apply's wait_leases: a Go duration from 0 to
// maxWaitLeases, 0 when absent. Errors: EINVALID naming wait_leases.
func waitLeases(v *string) (time.Duration, error) {
	if v == nil {
		return 0, nil
	}
	d, err := time.ParseDuration(*v)
	switch {
	case err != nil:
		return 0, understudy.Invalid("the request has invalid fields",
			understudy.FieldError{Field: "wait_leases", Detail: "is not a duration (such as 90s, 5m or 1h)"})
	case d < 0 || d > maxWaitLeases:
		return 0, understudy.Invalid("the request has invalid fields",
			understudy.FieldError{Field: "wait_leases", Detail: "must be from 0s to 1h"})
	}
	return d, nil
}

// ListWorkspaces lists every workspace by name.
func (s *Server) ListWorkspaces(c echo.Context) error {
	list, err := s.spec.Workspaces(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// GetWorkspace reads a workspace.
func (s *Server) GetWorkspace(c echo.Context, name WorkspaceName) error {
	w, err := s.spec.Workspace(c.Request().Context(), name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

// LockWorkspace locks a workspace by hand; the caller holds the lock.
func (s *Server) LockWorkspace(c echo.Context, name WorkspaceName) error {
	var in LockRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return understudy.Invalid("the request has invalid fields",
			understudy.FieldError{Field: "reason", Detail: "must say why the workspace is locked"})
	}
	ctx := c.Request().Context()
	w, err := s.spec.LockWorkspace(ctx, name, access.CallerFrom(ctx).Actor, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

// UnlockWorkspace removes a lock taken by hand (force-unlock).
func (s *Server) UnlockWorkspace(c echo.Context, name WorkspaceName) error {
	w, err := s.spec.UnlockWorkspace(c.Request().Context(), name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

// ForgetObjects stops the workspace managing objects, leaving them on
// the server (terraform state rm).
func (s *Server) ForgetObjects(c echo.Context, name WorkspaceName) error {
	var in ForgetRequest
	if err := decode(c, &in); err != nil {
		return err
	}
	out, err := s.spec.Forget(c.Request().Context(), name, in.Addresses)
	if err != nil {
		return err
	}
	out.Forgotten = nonNil(out.Forgotten)
	return c.JSON(http.StatusOK, out)
}

// planView is p as the contract shows it: its lists empty rather than
// null when they hold nothing (a nil slice encodes as null, and no list
// of the contract is nullable). p itself is left as it is.
func planView(p spec.Plan) spec.Plan {
	p.Changes, p.Drift = changesView(p.Changes), changesView(p.Drift)
	p.Unmanaged, p.Applied = nonNil(p.Unmanaged), nonNil(p.Applied)
	return p
}

func changesView(list []spec.Change) []spec.Change {
	out := make([]spec.Change, len(list))
	for i, ch := range list {
		ch.Attributes = nonNil(ch.Attributes)
		out[i] = ch
	}
	return out
}
