package openapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
)

// decode reads the JSON body into v. The gate has already checked it
// against openapi.yaml, so an error here is a body that changed meaning
// between the two readings, which cannot happen; it is still reported.
func decode(c echo.Context, v any) error {
	if err := json.NewDecoder(c.Request().Body).Decode(v); err != nil {
		if tl := tooLargeFrom(err); tl != nil {
			return tl
		}
		return understudy.Errorf(understudy.EMALFORMED, "the body is not valid JSON")
	}
	return nil
}

// decodeOptional is decode for an optional body: none leaves v as it is.
func decodeOptional(c echo.Context, v any) error {
	if err := json.NewDecoder(c.Request().Body).Decode(v); err != nil && !errors.Is(err, io.EOF) {
		if tl := tooLargeFrom(err); tl != nil {
			return tl
		}
		return understudy.Errorf(understudy.EMALFORMED, "the body is not valid JSON")
	}
	return nil
}

func unavailableErr(msg string, cause error) error {
	e := understudy.Errorf(understudy.EUNAVAILABLE, "%s", msg)
	if cause == nil {
		return e
	}
	return errors.Join(e, cause)
}

// ListEnvironments lists environments.
func (s *Server) ListEnvironments(c echo.Context) error {
	list, err := s.accounts.ListEnvironments(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// CreateEnvironment creates an environment.
func (s *Server) CreateEnvironment(c echo.Context) error {
	var in EnvironmentCreate
	if err := decode(c, &in); err != nil {
		return err
	}
	// An absent inbox setting or capture retention is zero, which takes
	// its default; the contract refuses an explicit zero before it gets
	// here.
	e, err := s.accounts.CreateEnvironment(c.Request().Context(), accounts.Environment{Name: in.Name, EmailDomains: in.EmailDomains,
		CustomSurfaces: deref(in.CustomSurfaces), InboxRetentionSeconds: deref(in.InboxRetentionSeconds), InboxMaxMessages: deref(in.InboxMaxMessages),
		CaptureRetentionSeconds: deref(in.CaptureRetentionSeconds)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, e)
}

// GetEnvironment reads an environment.
func (s *Server) GetEnvironment(c echo.Context, name EnvironmentName) error {
	e, err := s.accounts.GetEnvironment(c.Request().Context(), name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

// UpdateEnvironment changes the environment's fields that the body gives
// (domains, custom surfaces, inbox settings, capture retention) and keeps
// the others.
func (s *Server) UpdateEnvironment(c echo.Context, name EnvironmentName) error {
	var in EnvironmentUpdate
	if err := decode(c, &in); err != nil {
		return err
	}
	e, err := s.accounts.UpdateEnvironment(c.Request().Context(), name, accounts.EnvironmentChange{EmailDomains: deref(in.EmailDomains),
		CustomSurfaces: deref(in.CustomSurfaces), InboxRetentionSeconds: in.InboxRetentionSeconds, InboxMaxMessages: in.InboxMaxMessages,
		CaptureRetentionSeconds: in.CaptureRetentionSeconds})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

// DeleteEnvironment deletes an environment.
func (s *Server) DeleteEnvironment(c echo.Context, name EnvironmentName) error {
	if err := s.accounts.DeleteEnvironment(c.Request().Context(), name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// ListRoles lists an environment's roles.
func (s *Server) ListRoles(c echo.Context, env EnvironmentName) error {
	list, err := s.accounts.ListRoles(c.Request().Context(), env)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// CreateRole creates a role and fills its pool.
func (s *Server) CreateRole(c echo.Context, env EnvironmentName) error {
	var in RoleCreate
	if err := decode(c, &in); err != nil {
		return err
	}
	r, err := s.accounts.CreateRole(c.Request().Context(), env, in.Name,
		roleChange(in.Description, in.PoolSize, in.Attributes, in.IsolationPolicy, in.QuarantineOnViolation, in.CodePattern, in.LinkPattern))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, r)
}

// GetRole reads a role.
func (s *Server) GetRole(c echo.Context, env EnvironmentName, name RoleName) error {
	r, err := s.accounts.GetRole(c.Request().Context(), env, name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// UpdateRole changes a role and ensures its pool.
func (s *Server) UpdateRole(c echo.Context, env EnvironmentName, name RoleName) error {
	var in RoleUpdate
	if err := decode(c, &in); err != nil {
		return err
	}
	r, err := s.accounts.UpdateRole(c.Request().Context(), env, name,
		roleChange(in.Description, in.PoolSize, in.Attributes, in.IsolationPolicy, in.QuarantineOnViolation, in.CodePattern, in.LinkPattern))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// DeleteRole deletes a role and retires its accounts.
func (s *Server) DeleteRole(c echo.Context, env EnvironmentName, name RoleName) error {
	if err := s.accounts.DeleteRole(c.Request().Context(), env, name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func roleChange(desc *string, pool *int, attrs *Attributes, policy *IsolationPolicy, quarantine *bool, code, link *string) accounts.RoleChange {
	ch := accounts.RoleChange{Description: desc, PoolSize: pool, QuarantineOnViolation: quarantine, CodePattern: code, LinkPattern: link}
	if attrs != nil {
		ch.Attributes = *attrs
	}
	if policy != nil {
		ch.IsolationPolicy = make(map[string]accounts.Visibility, len(*policy))
		for k, v := range *policy {
			ch.IsolationPolicy[k] = accounts.Visibility(v)
		}
	}
	return ch
}

// ListAccounts lists accounts, a page at a time.
func (s *Server) ListAccounts(c echo.Context, p ListAccountsParams) error {
	f := accounts.AccountFilter{Limit: 100}
	if p.Environment != nil {
		f.Environment = *p.Environment
	}
	if p.Role != nil {
		f.Role = *p.Role
	}
	if p.Status != nil {
		f.Status = accounts.Status(*p.Status)
	}
	if p.IncludeRetired != nil {
		f.IncludeRetired = *p.IncludeRetired
	}
	if p.Offset != nil {
		f.Offset = *p.Offset
	}
	if p.Limit != nil {
		f.Limit = *p.Limit
	}
	limit := min(f.Limit, accounts.MaxPage)
	f.Limit = limit + 1 // one more tells whether a next page exists
	list, err := s.accounts.ListAccounts(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := map[string]any{"items": nonNil(list)}
	if len(list) > limit {
		out["items"], out["next_offset"] = list[:limit], f.Offset+limit
	}
	return c.JSON(http.StatusOK, out)
}

// GetAccount reads an account.
func (s *Server) GetAccount(c echo.Context, id AccountID) error {
	a, err := s.accounts.GetAccount(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return writeAccount(c, http.StatusOK, &a)
}

// RetireAccount retires an account and fills its slot.
func (s *Server) RetireAccount(c echo.Context, id AccountID) error {
	a, err := s.accounts.RetireAccount(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

// RotatePassword replaces an account's password.
func (s *Server) RotatePassword(c echo.Context, id AccountID) error {
	cr, err := s.snapshots.RotatePassword(c.Request().Context(), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, cr)
}

// GetCredentials reads an account's credentials: an admin any account's,
// a runner only those of an account its token holds an open lease on.
func (s *Server) GetCredentials(c echo.Context, id AccountID) error {
	cr, err := s.leases.Credentials(c.Request().Context(), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, cr)
}

// ListTokens lists tokens (never their secrets).
func (s *Server) ListTokens(c echo.Context) error {
	list, err := s.tokens.List(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// CreateToken creates a token and shows its secret once.
func (s *Server) CreateToken(c echo.Context) error {
	var in TokenCreate
	if err := decode(c, &in); err != nil {
		return err
	}
	t, secret, err := s.tokens.Create(c.Request().Context(), in.Name, access.Scope(in.Scope))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, map[string]any{"token": t, "secret": secret})
}

// RevokeToken revokes a token.
func (s *Server) RevokeToken(c echo.Context, id string) error {
	t, err := s.tokens.Revoke(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, t)
}

// ListAuditEvents reads the audit trail, newest first.
func (s *Server) ListAuditEvents(c echo.Context, p ListAuditEventsParams) error {
	f := access.AuditFilter{}
	for dst, src := range map[*string]*string{&f.Action: p.Action, &f.TargetType: p.TargetType, &f.TargetID: p.TargetId, &f.RequestID: p.RequestId} {
		if src != nil {
			*dst = *src
		}
	}
	if p.Before != nil {
		f.Before = *p.Before
	}
	if p.Limit != nil {
		f.Limit = *p.Limit
	}
	list, err := s.audit.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
