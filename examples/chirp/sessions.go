package chirp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Sessions: a signed-in browser holds a random token in a cookie; chirp
// stores only the token's SHA-256, the user and when the session ends.

// errNoSession: the token names no session that is still open.
var errNoSession = errors.New("chirp: no such session")

const (
	insertSessionSQL = `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`
	sessionUserSQL   = `SELECT ` + userColumns + ` FROM users
		WHERE id = (SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2)`
	deleteSessionSQL = `DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2`
)

// StartSession opens a session for the user and returns its token, the
// value of the session cookie. Errors: CodeNotFound, CodeUnavailable.
func (a *App) StartSession(ctx context.Context, userID int64) (string, error) {
	token := rand.Text()
	_, err := a.db.Exec(ctx, insertSessionSQL, tokenHash(token), userID, a.now().Add(a.sessionTTL))
	if err != nil {
		return "", storeError(err, "starting a session", constraintErrors{
			"sessions_user_id_fkey": notFound("id", "no user %d", userID),
		})
	}
	return token, nil
}

// SessionUser returns the user of the open session with token.
// Errors: errNoSession, CodeUnavailable.
func (a *App) SessionUser(ctx context.Context, token string) (User, error) {
	rows, _ := a.db.Query(ctx, sessionUserSQL, tokenHash(token), a.now())
	u, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[User])
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, errNoSession
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, storeError(err, "reading a session", nil)
}

// EndSession closes the session with token (and sweeps expired ones). A
// session that is already gone is not an error.
func (a *App) EndSession(ctx context.Context, token string) error {
	_, err := a.db.Exec(ctx, deleteSessionSQL, tokenHash(token), a.now())
	return storeError(err, "ending a session", nil)
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
