package inbox

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

// TOTPConfig configures a TOTP.
type TOTPConfig struct {
	// DB is the pool (or, in tests, a transaction). Required.
	DB pgdb.DB
	// Keyring seals and opens the secrets. Required.
	Keyring *secret.Keyring
	// Accounts finds the account a secret belongs to. Required.
	Accounts *accounts.Service
	// Apps tells whether an app is attached to the account's environment.
	// Required.
	Apps *apps.Service
	// Now tells the time: codes are computed at it, and secrets are set
	// and rotated at it. Defaults to time.Now.
	Now func() time.Time
}

// WithDefaults returns c with its unset optional fields filled.
func (c TOTPConfig) WithDefaults() TOTPConfig {
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate names the first missing field of c.
func (c TOTPConfig) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("inbox: TOTPConfig.DB is required")
	case c.Keyring == nil:
		return errors.New("inbox: TOTPConfig.Keyring is required")
	case c.Accounts == nil:
		return errors.New("inbox: TOTPConfig.Accounts is required")
	case c.Apps == nil:
		return errors.New("inbox: TOTPConfig.Apps is required")
	}
	return nil
}

// TOTP keeps an account's authenticator secret for each app, sealed, and
// computes its codes. It never returns a secret.
type TOTP struct {
	db       pgdb.DB
	keyring  *secret.Keyring
	accounts *accounts.Service
	apps     *apps.Service
	now      func() time.Time
}

// NewTOTP returns a TOTP, or an error naming the missing field of cfg.
func NewTOTP(cfg TOTPConfig) (*TOTP, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &TOTP{db: cfg.DB, keyring: cfg.Keyring, accounts: cfg.Accounts, apps: cfg.Apps, now: cfg.Now}, nil
}

// TOTPInfo describes an account's secret for one app, without the secret.
type TOTPInfo struct {
	App         string    `json:"app"`
	Issuer      string    `json:"issuer"`
	AccountName string    `json:"account_name"`
	Digits      int       `json:"digits"`
	Period      int       `json:"period"`
	Algorithm   string    `json:"algorithm"`
	CreatedAt   time.Time `json:"created_at"`
	RotatedAt   time.Time `json:"rotated_at"`
	// Replaced is set by Set when the secret replaced one the account
	// already had for the app.
	Replaced bool `json:"-"`
}

// TOTPCode is the current code of an account's secret for one app.
type TOTPCode struct {
	Code string `json:"code"`
	// ValidFor is how many seconds the code has left (1 to Period).
	ValidFor int `json:"valid_for"`
	// Next is the code of the next period, given only when fewer than
	// NextWithin seconds remain, so that a test never types a code that
	// expires while it types.
	Next   string `json:"next,omitempty"`
	Period int    `json:"period"`
	Digits int    `json:"digits"`
}

// NextWithin is how close to the end of its period a code must be for Code
// to give the next one too.
const NextWithin = 5

var appNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// Set stores input as the account's secret for app, replacing any it had
// (audited totp.rotate) or creating it (totp.set); the audit holds the
// parameters, never the secret. input is an otpauth://totp/ URI or a bare
// base32 secret (then SHA1, 6 digits, 30 s).
// Errors: EINVALID naming each bad field (app, uri or secret and their
// parts), ENOTFOUND (the account, or the app in its environment),
// ECONFLICT (a retired account).
func (t *TOTP) Set(ctx context.Context, accountID, app, input string) (TOTPInfo, error) {
	field := "secret"
	if looksLikeURI(input) {
		field = "uri"
	}
	k, err := parseTOTPInput(input, field)
	if !appNameRE.MatchString(app) {
		fields := []understudy.FieldError{{Field: "app", Detail: "must be an app's name: 1-63 lower-case letters, digits or '-', starting with a letter"}}
		if e, ok := errors.AsType[*understudy.Error](err); ok {
			fields = append(fields, e.Fields...)
		}
		return TOTPInfo{}, understudy.Invalid("invalid TOTP secret", fields...)
	}
	if err != nil {
		return TOTPInfo{}, err
	}
	appID, err := t.checkTarget(ctx, accountID, app)
	if err != nil {
		return TOTPInfo{}, err
	}
	var info TOTPInfo
	err = pgdb.InTx(ctx, t.db, func(tx pgx.Tx) error {
		info, err = t.store(ctx, tx, accountID, app, appID, k, "api")
		return err
	})
	return info, err
}

// EnrolTx stores, in the caller's transaction, the secret an app handed
// back when it provisioned the account (its totp_uri) as its secret for
// app (appID, the app's id), as Set does
// (audited totp.set or totp.rotate, with source provision), unless the
// account already holds that very secret for the app (an app provisioned
// again, to take a new password, hands back the secret it enrolled): then
// nothing is written. The app is the caller's to vouch for: provisioning
// has just reached it. Errors: EINVALID naming the bad part of totp_uri.
func (t *TOTP) EnrolTx(ctx context.Context, tx pgx.Tx, accountID, appID, app string, uri string) error {
	if !looksLikeURI(uri) {
		return understudy.Invalid("invalid TOTP secret", understudy.FieldError{Field: "totp_uri", Detail: "must be an otpauth://totp/ URI"})
	}
	k, err := parseTOTPInput(uri, "totp_uri")
	if err != nil {
		return err
	}
	if held, err := t.openOn(ctx, tx, accountID, app); err == nil && held == k {
		return nil
	}
	_, err = t.store(ctx, tx, accountID, app, appID, k, "provision")
	return pgdb.Translate(err, "", "")
}

// checkTarget checks that the account exists, is not retired, and that
// app is attached to its environment, and returns the app's id.
func (t *TOTP) checkTarget(ctx context.Context, accountID, app string) (string, error) {
	a, err := t.accounts.GetAccount(ctx, accountID)
	if err != nil {
		return "", err
	}
	if a.Status == accounts.StatusRetired {
		return "", understudy.Errorf(understudy.ECONFLICT, "account %s is retired; it takes no TOTP secret", a.ID)
	}
	p, err := t.apps.Get(ctx, a.Environment, app)
	return p.ID, err
}

// Code returns the current code of the account's secret for app, on the
// injected clock, and audits the read (totp.read_code, without the code).
// An empty app means the account's one secret.
// Errors: ENOTFOUND (no secret for the app, or none at all), EINVALID
// naming the apps (no app given, and the account has secrets for
// several), EINTERNAL (the server's key cannot open the secret).
func (t *TOTP) Code(ctx context.Context, accountID, app string) (TOTPCode, error) {
	uid, err := uuid.Parse(accountID)
	if err != nil {
		return TOTPCode{}, notFound(accountID, app)
	}
	if app == "" {
		if app, err = t.onlyApp(ctx, uid.String()); err != nil {
			return TOTPCode{}, err
		}
	}
	k, err := t.open(ctx, uid.String(), app)
	if err != nil {
		return TOTPCode{}, err
	}
	c, err := k.code(t.now())
	if err != nil {
		return TOTPCode{}, err
	}
	if err := t.recordRead(ctx, uid.String(), app); err != nil {
		return TOTPCode{}, err
	}
	return c, nil
}

// code computes the code at now, and the next one when the current one
// has fewer than NextWithin seconds left.
func (k totpKey) code(now time.Time) (TOTPCode, error) {
	opts := totp.ValidateOpts{Period: uint(k.period), Digits: otp.Digits(k.digits), Algorithm: algorithmOf(k.algorithm)}
	code, err := totp.GenerateCodeCustom(k.secret, now, opts)
	if err != nil {
		return TOTPCode{}, fmt.Errorf("computing a TOTP code: %w", err) // the stored secret was checked when set
	}
	elapsed := now.Unix() % int64(k.period)
	if elapsed < 0 {
		elapsed += int64(k.period)
	}
	c := TOTPCode{Code: code, ValidFor: k.period - int(elapsed), Period: k.period, Digits: k.digits}
	if c.ValidFor < NextWithin {
		if c.Next, err = totp.GenerateCodeCustom(k.secret, now.Add(time.Duration(c.ValidFor)*time.Second), opts); err != nil {
			return TOTPCode{}, fmt.Errorf("computing a TOTP code: %w", err)
		}
	}
	return c, nil
}

func algorithmOf(name string) otp.Algorithm {
	switch name {
	case AlgorithmSHA256:
		return otp.AlgorithmSHA256
	case AlgorithmSHA512:
		return otp.AlgorithmSHA512
	}
	return otp.AlgorithmSHA1
}

// onlyApp names the app of the account's one secret.
func (t *TOTP) onlyApp(ctx context.Context, accountID string) (string, error) {
	list, err := t.List(ctx, accountID)
	switch {
	case err != nil:
		return "", err
	case len(list) == 0:
		return "", understudy.Errorf(understudy.ENOTFOUND, "account %s has no TOTP secret", accountID)
	case len(list) > 1:
		names := make([]string, len(list))
		for i, x := range list {
			names[i] = x.App
		}
		return "", understudy.Invalid("the account has several TOTP secrets", understudy.FieldError{Field: "app",
			Detail: "name one of the account's apps: " + strings.Join(names, ", ")})
	}
	return list[0].App, nil
}

func notFound(accountID, app string) error {
	return understudy.Errorf(understudy.ENOTFOUND, "account %s has no TOTP secret for app %s", accountID, app)
}

// openError is the safe error of a secret the server's keyring cannot open.
func (t *TOTP) openError(err error) error {
	if uk, ok := errors.AsType[*secret.UnknownKeyError](err); ok {
		return understudy.Errorf(understudy.EINTERNAL, "cannot decrypt the stored TOTP secret: it was sealed with key id %s, but this server's UNDERSTUDY_SECRET_KEY has id %s (set it to the key that sealed it, or list that key in UNDERSTUDY_OLD_SECRET_KEYS)", uk.KeyID, t.keyring.PrimaryKeyID())
	}
	return understudy.Errorf(understudy.EINTERNAL, "cannot decrypt the stored TOTP secret: the sealed value failed authentication")
}
