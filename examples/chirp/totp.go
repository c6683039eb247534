package chirp

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Authenticators. A user may have a TOTP secret (users.totp_secret, base32,
// kept plain: chirp is an example app); signing in then needs the current
// code of it after the password (and after the mailed code, when that is
// on). Understudy's admin accounts get one when they are provisioned, and
// the provision answer carries its otpauth:// URI.

const (
	// TOTPIssuer is the issuer of chirp's otpauth:// URIs.
	TOTPIssuer = "chirp"
	// totpSecretBytes is the size of a secret: 160 bits, as RFC 4226 advises.
	totpSecretBytes = 20

	// enrollTOTPSQL gives the user a secret unless they have one, and
	// returns the secret they have and their email.
	enrollTOTPSQL = `UPDATE users SET totp_secret = COALESCE(totp_secret, $2) WHERE id = $1
		RETURNING totp_secret, email`
	totpSecretSQL = `SELECT COALESCE(totp_secret, ''), email FROM users WHERE id = $1`
)

// totpOpts are chirp's TOTP parameters: 6 digits every 30 seconds with
// HMAC-SHA1 (what authenticator apps expect), and one step of skew either
// way.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// b32 is the encoding of secrets in otpauth:// URIs.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// EnrollTOTP gives the user a TOTP secret, unless they have one already
// (then it is kept), and returns its otpauth:// URI (issuer "chirp",
// account name the user's email). Errors: CodeNotFound, CodeUnavailable.
func (a *App) EnrollTOTP(ctx context.Context, userID int64) (uri string, err error) {
	uri, err = enrollTOTP(ctx, a.db, userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound("id", "no user %d", userID)
	}
	return uri, storeError(err, "enrolling an authenticator", nil)
}

// enrollTOTP is EnrollTOTP on a pool or a transaction. Errors:
// pgx.ErrNoRows (no such user), those of the database.
func enrollTOTP(ctx context.Context, q rowQuerier, userID int64) (string, error) {
	fresh := make([]byte, totpSecretBytes)
	_, _ = rand.Read(fresh) // crypto/rand does not fail
	var secret, email string
	if err := q.QueryRow(ctx, enrollTOTPSQL, userID, b32.EncodeToString(fresh)).Scan(&secret, &email); err != nil {
		return "", err
	}
	return totpURI(secret, email)
}

// totpURI returns the otpauth:// URI of a base32 secret for email.
func totpURI(secret, email string) (string, error) {
	raw, err := b32.DecodeString(secret)
	if err != nil {
		return "", fmt.Errorf("the stored authenticator secret is not base32: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: TOTPIssuer, AccountName: email, Secret: raw,
		Period: uint(totpOpts.Period), Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
	if err != nil {
		return "", fmt.Errorf("writing an otpauth URI: %w", err)
	}
	return key.URL(), nil
}

// TOTPURI returns the otpauth:// URI of the user's TOTP secret, or "" when
// they have none. Errors: CodeNotFound, CodeUnavailable.
func (a *App) TOTPURI(ctx context.Context, userID int64) (string, error) {
	secret, email, err := userTOTP(ctx, a.db, userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound("id", "no user %d", userID)
	}
	if err != nil || secret == "" {
		return "", storeError(err, "reading an authenticator", nil)
	}
	return totpURI(secret, email)
}

// userTOTP returns the user's secret ("" without one) and email.
func userTOTP(ctx context.Context, q rowQuerier, userID int64) (secret, email string, err error) {
	err = q.QueryRow(ctx, totpSecretSQL, userID).Scan(&secret, &email)
	return secret, email, err
}

// hasTOTP reports whether the user has a TOTP secret.
func (a *App) hasTOTP(ctx context.Context, userID int64) (bool, error) {
	secret, _, err := userTOTP(ctx, a.db, userID)
	return secret != "", storeError(err, "reading an authenticator", nil)
}

// validTOTP reports whether code is the user's current TOTP code (one
// step of skew either way). A user without a secret has no valid code.
func (a *App) validTOTP(ctx context.Context, q rowQuerier, userID int64, code string) (bool, error) {
	secret, _, err := userTOTP(ctx, q, userID)
	if err != nil || secret == "" {
		return false, storeError(err, "reading an authenticator", nil)
	}
	ok, err := totp.ValidateCustom(code, secret, a.now(), totpOpts)
	return ok && err == nil, nil
}
