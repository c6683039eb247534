package snapshot

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
)

// RotatePassword replaces the password of the account with id with a new
// random one (accounts.Service.RotatePassword), tells every app the account
// is provisioned in (tellApps), and returns the new credentials.
// Errors: ENOTFOUND, ECONFLICT (retired), and those of tellApps, after
// which the password is rotated all the same.
func (s *Service) RotatePassword(ctx context.Context, id string) (accounts.Credentials, error) {
	c, err := s.accounts.RotatePassword(ctx, id)
	if err != nil {
		return accounts.Credentials{}, err
	}
	if err := s.tellApps(ctx, c.AccountID); err != nil {
		return accounts.Credentials{}, err
	}
	return c, nil
}

// tellApps provisions the account again in every app it is provisioned in,
// with its current password: providers provision idempotently by account
// id, and an app that keeps credentials takes the new password, so the
// credentials a lease returns are the ones the apps accept. Errors, naming
// the app and saying that the password was rotated: EUNAVAILABLE
// (app-unavailable), ECONFLICT (the app refused, app-refused), EBADGATEWAY
// (any other answer, app-contract).
func (s *Service) tellApps(ctx context.Context, id string) error {
	a, err := s.accounts.GetAccount(ctx, id)
	if err != nil {
		return err
	}
	refs, _, err := s.apps.LiveRefs(ctx, id)
	if err != nil || len(refs) == 0 {
		return err
	}
	pa, err := s.accounts.ProviderAccount(ctx, a)
	if err != nil {
		return err
	}
	for _, r := range refs {
		pctx, cancel := context.WithTimeout(ctx, s.appTimeout)
		p, err := r.App.Provision(pctx, pa)
		cancel()
		if err != nil {
			return tellError(id, r.AppName, err)
		}
		if err := s.keepTOTP(ctx, id, r, p.TOTPURI); err != nil {
			return tellError(id, r.AppName, err)
		}
	}
	return nil
}

// keepTOTP keeps the authenticator secret an app handed back when it was
// told the new password (inbox.TOTP.EnrolTx: nothing is written when it is
// the one the account holds; a new one replaces it, audited totp.rotate),
// so that the codes a lease hands out are the ones the app accepts. A
// secret that cannot be kept is the app's breach of the contract
// (providers.ErrProtocol), named without the secret.
func (s *Service) keepTOTP(ctx context.Context, accountID string, r apps.LiveRef, uri string) error {
	if uri == "" || s.totp == nil {
		return nil
	}
	var enrolErr error
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		enrolErr = s.totp.EnrolTx(ctx, tx, accountID, r.AppID, r.AppName, uri)
		return enrolErr
	})
	if enrolErr != nil && understudy.ErrorCode(enrolErr) == understudy.EINVALID {
		return fmt.Errorf("%w: the totp_uri it returned cannot be kept: %s", providers.ErrProtocol, enrolErr.Error())
	}
	return err
}

// tellError is the error of an app that could not be given an account's
// new password.
func tellError(id, app string, err error) error {
	code, kind := understudy.EBADGATEWAY, "app-contract"
	switch {
	case errors.Is(err, providers.ErrUnavailable):
		code, kind = understudy.EUNAVAILABLE, "app-unavailable"
	case errors.Is(err, providers.ErrRefused):
		code, kind = understudy.ECONFLICT, "app-refused"
	}
	e := understudy.Errorf(code, "the password of account %s was rotated, but app %s could not be given it: %v; "+
		"the app may still accept the old one: rotate again once the app is back", id, app, err)
	e.Type = kind
	return errors.Join(e, err)
}
