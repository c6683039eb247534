package openapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/understudy-dev/understudy"
)

// The accounts' authenticator secrets. No answer holds a secret, and
// nothing here logs a body.

// ListTOTP lists an account's TOTP secrets, without the secrets.
func (s *Server) ListTOTP(c echo.Context, id AccountID) error {
	list, err := s.totp.List(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"items": nonNil(list)})
}

// SetTOTP stores an account's secret for an app: 201 when it is new, 200
// when it replaced one.
func (s *Server) SetTOTP(c echo.Context, id AccountID) error {
	var in TOTPSet
	if err := decode(c, &in); err != nil {
		return err
	}
	input, err := totpInput(in)
	if err != nil {
		return err
	}
	info, err := s.totp.Set(c.Request().Context(), id, string(in.App), input)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if info.Replaced {
		status = http.StatusOK
	}
	return c.JSON(status, info)
}

// totpInput is the one of uri and secret that the body gives.
func totpInput(in TOTPSet) (string, error) {
	switch {
	case in.Uri != nil && in.Secret != nil:
		return "", understudy.Invalid("give the TOTP secret once",
			understudy.FieldError{Field: "secret", Detail: "give uri or secret, not both"},
			understudy.FieldError{Field: "uri", Detail: "give uri or secret, not both"})
	case in.Uri != nil:
		if *in.Uri == "" {
			return "", understudy.Invalid("invalid TOTP secret", understudy.FieldError{Field: "uri", Detail: "is required"})
		}
		return *in.Uri, nil
	case in.Secret != nil:
		return *in.Secret, nil
	}
	return "", understudy.Invalid("no TOTP secret given", understudy.FieldError{Field: "uri", Detail: "give uri (an otpauth://totp/ URI) or secret (a base32 secret)"})
}

// RemoveTOTP deletes an account's secret for an app.
func (s *Server) RemoveTOTP(c echo.Context, id AccountID, app AppName) error {
	if err := s.totp.Remove(c.Request().Context(), id, app); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// GetLeaseTOTP answers the current code of the leased account, to the
// token that holds the lease (or an admin), while the lease is active.
func (s *Server) GetLeaseTOTP(c echo.Context, id LeaseID, p GetLeaseTOTPParams) (err error) {
	ctx := c.Request().Context()
	l, err := s.leases.Active(ctx, id, "totp_read")
	if err != nil {
		return err
	}
	ctx, span := s.leases.Span(ctx, l, "lease.totp_read")
	defer func() { endSpan(span)(err) }()
	var app string
	if p.App != nil {
		app = string(*p.App)
	}
	code, err := s.totp.Code(ctx, l.AccountID, app)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, code)
}
