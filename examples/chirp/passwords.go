package chirp

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"
)

// Passwords. chirp keeps a bcrypt hash of a user's password for its sign-in
// page, in the passwords table. A synthetic user gets the password of its
// Understudy account when it is provisioned, and the new one each time it
// is provisioned again: Understudy does that after rotating the password,
// so the credentials a lease returns are always the ones chirp accepts. A
// reset restores state, not identity, and leaves the password alone.

// ErrBadSignIn is what Authenticate returns when no user has that email and
// password; it does not tell which of the two was wrong.
var ErrBadSignIn = errors.New("chirp: wrong email or password")

const (
	upsertPasswordSQL = `INSERT INTO passwords (user_id, hash) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET hash = EXCLUDED.hash, updated_at = now()`
	signInSQL = `SELECT u.id, p.hash FROM users u JOIN passwords p ON p.user_id = u.id WHERE u.email = $1`
	// maxPassword is bcrypt's limit: it refuses longer passwords rather
	// than ignore their end.
	maxPassword = 72
)

// hashPassword returns the bcrypt hash of password at the App's cost, or ""
// for an empty password. Errors: CodeInvalid (longer than 72 bytes).
func (a *App) hashPassword(password string) (string, error) {
	if password == "" {
		return "", nil
	}
	if len(password) > maxPassword {
		return "", invalid("password", "must be at most %d bytes", maxPassword)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.cost)
	return string(hash), err
}

// SetPassword sets the password (1 to 72 bytes) that the user signs in
// with. Errors: CodeInvalid, CodeNotFound.
func (a *App) SetPassword(ctx context.Context, userID int64, password string) error {
	if password == "" {
		return invalid("password", "is required")
	}
	hash, err := a.hashPassword(password)
	if err != nil {
		return err
	}
	_, err = a.db.Exec(ctx, upsertPasswordSQL, userID, hash)
	return storeError(err, "setting a password", constraintErrors{
		"passwords_user_id_fkey": notFound("id", "no user %d", userID),
	})
}

// Authenticate returns the user whose email and password these are.
// Errors: ErrBadSignIn, CodeUnavailable.
func (a *App) Authenticate(ctx context.Context, email, password string) (User, error) {
	var id int64
	var hash string
	err := a.db.QueryRow(ctx, signInSQL, email).Scan(&id, &hash)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Compare anyway, so an unknown email takes as long as a wrong
		// password and the answer's timing does not tell who has an account.
		_ = bcrypt.CompareHashAndPassword(a.dummyHash(), []byte(password))
		return User{}, ErrBadSignIn
	case err != nil:
		return User{}, storeError(err, "signing in", nil)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return User{}, ErrBadSignIn
	}
	return a.GetUser(ctx, id)
}
