package openapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/tracing"
)

// ListLeases lists leases.
func (s *Server) ListLeases(c echo.Context, p ListLeasesParams) error {
	var env, role string
	if p.Environment != nil {
		env = *p.Environment
	}
	if p.Role != nil {
		role = *p.Role
	}
	list, err := s.leases.List(c.Request().Context(), env, role, p.All != nil && *p.All)
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
	req := lease.Request{Environment: in.Environment, Role: in.Role, Holder: in.Holder,
		TTL: seconds(in.TtlSeconds, 900), Wait: seconds(in.WaitSeconds, 0)}
	if in.State != nil {
		req.State = *in.State
	}
	if in.Run != nil {
		req.Run = new(namingOf(*in.Run))
	}
	if p.IdempotencyKey != nil {
		req.IdempotencyKey = *p.IdempotencyKey
	}
	// The wait the caller asked for, then the usual bound for the reset.
	ctx, cancel := context.WithTimeout(c.Request().Context(), req.Wait+s.requestTimeout)
	defer cancel()
	// The lease continues the caller's trace, when it sent one.
	ctx = tracing.Remote(ctx, deref(p.Traceparent), deref(p.Tracestate))
	g, err := s.leases.Acquire(ctx, req)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if g.Lease.Traceparent != "" {
		c.Response().Header().Set(tracing.HeaderTraceparent, g.Lease.Traceparent)
	}
	return c.JSON(http.StatusCreated, g)
}

// GetLease reads a lease.
func (s *Server) GetLease(c echo.Context, id LeaseID) error {
	l, err := s.leases.Get(c.Request().Context(), id)
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
	l, err := s.leases.Renew(c.Request().Context(), id, seconds(in.TtlSeconds, 900))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}

// ReleaseLease ends a lease, recording its run's outcome when the body
// sends one.
func (s *Server) ReleaseLease(c echo.Context, id LeaseID) error {
	var in LeaseRelease
	if err := decodeOptional(c, &in); err != nil {
		return err
	}
	l, err := s.leases.ReleaseWith(c.Request().Context(), id, releaseOf(in))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, l)
}
