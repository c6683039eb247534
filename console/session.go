package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// sessionCookie names the cookie that carries a session id.
const sessionCookie = "understudy_session"

// session is a signed-in browser: the token it signed in with (checked
// again on every request) and its anti-forgery token.
type session struct {
	TokenID   string
	TokenName string
	Scope     access.Scope
	CSRF      string
}

// caller is who the session's requests act as, for ownership checks and
// the audit trail: the token's name, scope and id, as for a REST call.
func (s session) caller() access.Caller {
	return access.Caller{Actor: s.TokenName, Scope: s.Scope, TokenID: s.TokenID}
}

// validCSRF compares a submitted anti-forgery token in constant time.
func (s session) validCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

// sessions stores sessions: only the SHA-256 of each session id is kept.
type sessions struct {
	db   pgdb.DB
	idle time.Duration
	// now tells the time its statements take; nil leaves it to the
	// database's clock.
	now func() time.Time
}

// at is the time the statements take: nil (the database's clock) when
// there is no clock.
func (s *sessions) at() *time.Time {
	if s.now == nil {
		return nil
	}
	t := s.now()
	return &t
}

func hashID(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

const createSessionSQL = `
INSERT INTO console_sessions (hash, token_id, csrf, created_at, last_seen_at, expires_at)
VALUES ($1, $2, $3, coalesce($5::timestamptz, now()), coalesce($5::timestamptz, now()), coalesce($5::timestamptz, now()) + make_interval(secs => $4))`

// create starts a session for tok and returns its id (for the cookie, and
// nowhere else) and the session. The sign-in is audited in the same
// transaction.
func (s *sessions) create(ctx context.Context, tok access.Token) (string, session, error) {
	id := rand.Text() + rand.Text()
	sess := session{TokenID: tok.ID, TokenName: tok.Name, Scope: tok.Scope, CSRF: rand.Text()}
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, createSessionSQL, hashID(id), tok.ID, sess.CSRF, s.idle.Seconds(), s.at()); err != nil {
			return err
		}
		return access.Record(access.WithCaller(ctx, sess.caller()), tx, access.Event{Action: "console.sign_in",
			TargetType: "token", TargetID: tok.ID, Details: map[string]any{"name": tok.Name, "scope": tok.Scope}})
	})
	return id, sess, err
}

// touchSessionSQL finds a live session and moves its expiry forward: a
// session idle past its expiry finds nothing.
const touchSessionSQL = `
WITH clock AS (SELECT coalesce($3::timestamptz, now()) AS now)
UPDATE console_sessions s SET last_seen_at = clock.now, expires_at = clock.now + make_interval(secs => $2)
FROM clock
WHERE s.hash = $1 AND s.expires_at > clock.now
RETURNING s.token_id::text, s.csrf`

// lookup returns the live session with id, and false when there is none
// (never was, signed out, expired, or its token was revoked). It touches
// the session, then checks its token through access: two statements, as
// a session whose token was revoked never becomes live again.
func (s *sessions) lookup(ctx context.Context, id string) (session, bool, error) {
	if id == "" {
		return session{}, false, nil
	}
	sess, ok, err := pgdb.QueryMaybe(ctx, s.db, func(row pgx.Row, x *session) error {
		return row.Scan(&x.TokenID, &x.CSRF)
	}, pgdb.Conflict{}, touchSessionSQL, hashID(id), s.idle.Seconds(), s.at())
	if err != nil || !ok {
		return session{}, false, err
	}
	tok, active, err := access.ActiveToken(ctx, s.db, sess.TokenID)
	if err != nil || !active {
		return session{}, false, err
	}
	sess.TokenName, sess.Scope = tok.Name, tok.Scope
	return sess, true, nil
}

const (
	signOutSQL     = `DELETE FROM console_sessions WHERE hash = $1 RETURNING token_id::text`
	dropExpiredSQL = `DELETE FROM console_sessions WHERE expires_at < coalesce($1::timestamptz, now()) - interval '1 day'`
)

// end deletes the session with id (sign-out), audited in the same
// transaction as console.sign_out, and with it any session expired for
// more than a day.
func (s *sessions) end(ctx context.Context, id string) error {
	return pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, dropExpiredSQL, s.at()); err != nil {
			return err
		}
		var tokenID string
		switch err := tx.QueryRow(ctx, signOutSQL, hashID(id)).Scan(&tokenID); {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "console.sign_out", TargetType: "token", TargetID: tokenID})
	})
}
