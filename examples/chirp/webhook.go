package chirp

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/providers"
)

// The webhook contract's operations (openapi/app-webhook.yaml) as Go
// methods: the HTTP handlers under /understudy/ and ServeExec both call
// them. Their errors wrap the providers sentinel errors.

const (
	// provisionSQL inserts the account's user, or finds the one inserted
	// before for the same account: the no-op update makes RETURNING give the
	// existing id, and xmax = 0 tells a fresh row from an existing one.
	//
	// Provisions of one account first queue on a transaction advisory lock
	// keyed by the account id. Without it two of them can race: the second
	// passes the understudy_account_id arbiter check before the first's row
	// reaches that index, then meets the first's row in users_username_key
	// (checked earlier, and not an arbiter) and fails with a unique
	// violation once the first commits. Behind the lock, the second's
	// arbiter check sees the committed row and takes the update path.
	provisionSQL = `WITH locked AS MATERIALIZED (
			SELECT pg_advisory_xact_lock(` + provisionLockClass + `, hashtext($4))
		)
		INSERT INTO users (username, email, display_name, is_synthetic, understudy_account_id)
		SELECT $1, $2, $3, true, $4 FROM locked
		ON CONFLICT (understudy_account_id) DO UPDATE SET understudy_account_id = EXCLUDED.understudy_account_id
		RETURNING id, (xmax = 0) AS inserted`
	ownerSQL     = `SELECT is_synthetic, COALESCE(understudy_account_id, '') FROM users WHERE id = $1`
	lockOwnerSQL = ownerSQL + ` FOR UPDATE`
	// restoreLockSQL queues concurrent restores of one user without
	// blocking foreign-key checks (FOR KEY SHARE) from restores of users it
	// follows or is followed by, which FOR UPDATE would turn into deadlocks.
	restoreLockSQL = ownerSQL + ` FOR NO KEY UPDATE`
	deleteUserSQL  = `DELETE FROM users WHERE id = $1`
	pingSQL        = `SELECT count(*) FROM users WHERE false`
	maxAccountID   = 200
	// provisionLockClass is the first key of provisionSQL's advisory locks
	// (the int4 pair space, apart from Migrate's bigint key): "chpv".
	provisionLockClass = "1667788918"
)

// Provisioned is what provisioning an account gives: the user's ref and,
// when the user has an authenticator, its otpauth:// URI.
type Provisioned struct {
	Ref     string `json:"ref"`
	TOTPURI string `json:"totp_uri,omitempty"`
}

// AdminRole is the role whose accounts get an authenticator (a TOTP
// secret) when they are provisioned.
const AdminRole = "admin"

// ProvisionUser is Provision, for callers that need the ref alone.
func (a *App) ProvisionUser(ctx context.Context, acct providers.Account) (string, error) {
	p, err := a.Provision(ctx, acct)
	return p.Ref, err
}

// Provision creates the synthetic user of acct, with an empty profile and
// a score of 0, or finds the one created before for acct.ID, and returns
// its ref (users.id in decimal). When acct carries a password, the user
// signs in with it from now on: provisioning again with another password
// (as Understudy does after rotating it) replaces the old one. An account
// of the role "admin" gets a TOTP secret the first time (EnrollTOTP), and
// keeps it when provisioned again; the answer carries the URI of the
// user's secret whenever they have one. Errors: providers.ErrRefused (an
// invalid account, or a username or email taken by another user),
// providers.ErrUnavailable.
func (a *App) Provision(ctx context.Context, acct providers.Account) (Provisioned, error) {
	err := validAccount(acct)
	var hash string
	if err == nil {
		hash, err = a.hashPassword(acct.Password)
	}
	if err != nil {
		return Provisioned{}, fmt.Errorf("provisioning account %q: %w: %v", acct.ID, providers.ErrRefused, err)
	}
	var out Provisioned
	err = pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		id, err := provisionRows(ctx, tx, acct, hash)
		if err != nil {
			return err
		}
		out.Ref = strconv.FormatInt(id, 10)
		if acct.Role == AdminRole {
			out.TOTPURI, err = enrollTOTP(ctx, tx, id)
			return err
		}
		secret, email, err := userTOTP(ctx, tx, id)
		if err == nil && secret != "" {
			out.TOTPURI, err = totpURI(secret, email)
		}
		return err
	})
	if err != nil {
		return Provisioned{}, contractError(err, fmt.Sprintf("provisioning account %q", acct.ID))
	}
	return out, nil
}

// provisionRows inserts or finds the user of acct and sets its password
// (unless hash is empty), and returns the user id.
func provisionRows(ctx context.Context, tx pgx.Tx, acct providers.Account, hash string) (int64, error) {
	var id int64
	var inserted bool
	err := tx.QueryRow(ctx, provisionSQL, acct.Username, acct.Email, acct.DisplayName, acct.ID).Scan(&id, &inserted)
	if err == nil && inserted {
		err = createUserRows(ctx, tx, id)
	}
	if err != nil || hash == "" {
		return id, err
	}
	_, err = tx.Exec(ctx, upsertPasswordSQL, id, hash)
	return id, err
}

// validAccount applies to an account the rules of a sign-up.
func validAccount(acct providers.Account) error {
	if acct.ID == "" || len(acct.ID) > maxAccountID {
		return invalid("account.id", "must be 1 to %d bytes", maxAccountID)
	}
	err := NewUser{Username: acct.Username, Email: acct.Email, DisplayName: acct.DisplayName}.Validate()
	if e, ok := errors.AsType[*Error](err); ok {
		e.Field = "account." + e.Field
	}
	return err
}

// VerifyUser returns nil when the target exists, is synthetic and was
// provisioned for t.AccountID. Errors: providers.ErrNotFound (also for a
// ref that is not a user id), providers.ErrNotSynthetic,
// providers.ErrNotOwned, providers.ErrUnavailable.
func (a *App) VerifyUser(ctx context.Context, t providers.Target) error {
	_, err := verify(ctx, a.db, ownerSQL, t)
	return contractError(err, "verifying user "+t.Ref)
}

// DeprovisionUser verifies the target, then deletes the user and, by
// cascade, every row of theirs (and the likes others gave their posts). A
// user that is already gone is not an error. Errors: those of VerifyUser
// but providers.ErrNotFound.
func (a *App) DeprovisionUser(ctx context.Context, t providers.Target) error {
	err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		id, err := verify(ctx, tx, lockOwnerSQL, t)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, deleteUserSQL, id)
		return err
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil
	}
	return contractError(err, "deprovisioning user "+t.Ref)
}

// Test checks that chirp's database answers and holds chirp's schema.
// Errors: providers.ErrUnavailable.
func (a *App) Test(ctx context.Context) error {
	if _, err := a.db.Exec(ctx, pingSQL); err != nil {
		if !isUnavailable(err) {
			err = fmt.Errorf("%w: %v", providers.ErrUnavailable, err) // no schema: chirp is not ready
		}
		return contractError(err, "testing chirp's database")
	}
	return nil
}

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// verify reads the target's user with query (ownerSQL, or lockOwnerSQL to
// lock the row until the transaction ends) and checks that it is synthetic
// and owned by t.AccountID. It returns the user id.
func verify(ctx context.Context, q rowQuerier, query string, t providers.Target) (int64, error) {
	id, err := parseRef(t.Ref)
	if err != nil {
		return 0, err
	}
	var synthetic bool
	var owner string
	err = q.QueryRow(ctx, query, id).Scan(&synthetic, &owner)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, fmt.Errorf("%w: no user %d", providers.ErrNotFound, id)
	case err != nil:
		return 0, err
	case !synthetic:
		return 0, fmt.Errorf("%w: user %d is a real user", providers.ErrNotSynthetic, id)
	case owner == "" || owner != t.AccountID:
		return 0, fmt.Errorf("%w: user %d belongs to account %q, not %q", providers.ErrNotOwned, id, owner, t.AccountID)
	}
	return id, nil
}

// parseRef reads a ref: a user id in canonical decimal. Anything else names
// no user.
func parseRef(ref string) (int64, error) {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != ref {
		return 0, fmt.Errorf("%w: ref %q is not a chirp user id", providers.ErrNotFound, ref)
	}
	return id, nil
}
