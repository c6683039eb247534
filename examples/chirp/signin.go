package chirp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5"
)

// Pending sign-ins. With Config.SignInCode on, or for a user with an
// authenticator (TOTP), the password alone does not sign in: it opens a
// pending sign-in, bound to the browser by a random token in a cookie
// (stored as its SHA-256, like a session's), that ends in a session once
// every step is done. The mailed code is stored as the SHA-256 of the
// token and the code, so the table alone does not give it away; the
// magic link's token as its SHA-256. A pending sign-in lasts SignInTTL and
// allows MaxCodeTries wrong codes, then it is void and the user signs in
// again.

const (
	// SignInTTL is how long a mailed code and link, and the pending
	// sign-in they belong to, are good for.
	SignInTTL = 10 * time.Minute
	// MaxCodeTries is how many wrong codes a pending sign-in takes (mailed
	// and authenticator codes alike) before it is void.
	MaxCodeTries = 5
	// codeDigits is the length of the mailed code.
	codeDigits = 6
)

// The ends of a step of a pending sign-in that the user is told about. Each
// is answered with the sign-in page, never a 500.
var (
	// errSignInGone: no pending sign-in has that token (it never existed,
	// it was finished, or it was voided).
	errSignInGone = errors.New("chirp: no such pending sign-in")
	// errSignInExpired: the pending sign-in outlived SignInTTL.
	errSignInExpired = errors.New("chirp: the sign-in expired")
	// errWrongCode: the code is not the expected one; tries remain.
	errWrongCode = errors.New("chirp: wrong code")
	// errTooManyTries: the MaxCodeTries-th wrong code voided the sign-in.
	errTooManyTries = errors.New("chirp: too many wrong codes")
	// errCodeFirst: the authenticator code was sent before the mailed one.
	errCodeFirst = errors.New("chirp: the mailed code comes first")
	// errStepDone: the step was done already; nothing was checked.
	errStepDone = errors.New("chirp: this sign-in step is done")
)

const (
	// insertSignInSQL opens a pending sign-in, replacing any other of the
	// user's and sweeping expired ones.
	insertSignInSQL = `WITH swept AS (DELETE FROM sign_ins WHERE user_id = $2 OR expires_at <= $6)
		INSERT INTO sign_ins (token_hash, user_id, code_hash, link_hash, needs_totp, expires_at)
		VALUES ($1, $2, $3, $4, $5, $7)`
	lockSignInSQL = `SELECT user_id, code_hash, attempts, needs_totp, expires_at
		FROM sign_ins WHERE token_hash = $1 FOR UPDATE`
	codePassedSQL = `UPDATE sign_ins SET code_hash = NULL, link_hash = NULL, attempts = 0 WHERE token_hash = $1`
	totpPassedSQL = `UPDATE sign_ins SET needs_totp = false, attempts = 0 WHERE token_hash = $1`
	wrongTrySQL   = `UPDATE sign_ins SET attempts = $2 WHERE token_hash = $1`
	deleteSignIn  = `DELETE FROM sign_ins WHERE token_hash = $1`
	// finishSignInSQL ends a pending sign-in whose steps are all done;
	// of two requests finishing the same one, only one gets its row.
	finishSignInSQL = `DELETE FROM sign_ins WHERE token_hash = $1 AND code_hash IS NULL AND NOT needs_totp
		RETURNING user_id`
	// useLinkSQL ends the pending sign-in of a magic link: a link works once.
	useLinkSQL = `DELETE FROM sign_ins WHERE link_hash = $1 RETURNING user_id, needs_totp, expires_at`
)

// pendingSignIn is a pending sign-in's row.
type pendingSignIn struct {
	UserID    int64     `db:"user_id"`
	CodeHash  []byte    `db:"code_hash"` // nil: no mailed code due
	Attempts  int       `db:"attempts"`
	NeedsTOTP bool      `db:"needs_totp"`
	ExpiresAt time.Time `db:"expires_at"`
}

// done reports whether every step of p is done.
func (p pendingSignIn) done() bool { return p.CodeHash == nil && !p.NeedsTOTP }

// newSignIn is an opened pending sign-in: the cookie's token and, when a
// code is mailed, the code and the magic link's token. Never logged.
type newSignIn struct {
	Token, Code, LinkToken string
}

// openSignIn opens a pending sign-in for the user, with a mailed code (and
// magic link) when withCode, and the authenticator step when withTOTP.
// Errors: CodeUnavailable.
func (a *App) openSignIn(ctx context.Context, userID int64, withCode, withTOTP bool) (newSignIn, error) {
	s := newSignIn{Token: rand.Text()}
	var codeHash, linkHash []byte
	if withCode {
		s.Code, s.LinkToken = newCode(), rand.Text()
		codeHash, linkHash = saltedCodeHash(s.Token, s.Code), tokenHash(s.LinkToken)
	}
	now := a.now()
	_, err := a.db.Exec(ctx, insertSignInSQL, tokenHash(s.Token), userID, codeHash, linkHash, withTOTP,
		now, now.Add(SignInTTL))
	return s, storeError(err, "opening a sign-in", nil)
}

// newCode returns a random codeDigits-digit code, leading zeros kept.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("%0*d", codeDigits, n)
}

// saltedCodeHash is what chirp stores of a mailed code: its SHA-256 with
// the pending sign-in's token, which the table holds only hashed.
func saltedCodeHash(token, code string) []byte {
	h := sha256.Sum256([]byte(token + "\x00" + code))
	return h[:]
}

// checkStep runs one step of the pending sign-in with token in a
// transaction that holds its row: check gets the row (never expired) and
// reports whether the step passed; passed is then run to record it. A
// wrong answer counts a try, and the last allowed one voids the sign-in.
// It returns the row as the step left it. Errors: errSignInGone,
// errSignInExpired, errWrongCode, errTooManyTries, what check returns,
// CodeUnavailable.
func (a *App) checkStep(ctx context.Context, token string, check func(pgx.Tx, pendingSignIn) (bool, error),
	passed string) (pendingSignIn, error) {
	var p pendingSignIn
	var outcome error
	key := tokenHash(token)
	err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, lockSignInSQL, key)
		var err error
		p, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[pendingSignIn])
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			outcome = errSignInGone
			return nil
		case err != nil:
			return err
		case !p.ExpiresAt.After(a.now()):
			outcome = errSignInExpired
			_, err = tx.Exec(ctx, deleteSignIn, key)
			return err
		}
		ok, err := check(tx, p)
		switch {
		case err != nil:
			outcome = err
			return nil
		case ok:
			_, err = tx.Exec(ctx, passed, key)
			return err
		}
		// Each outcome is written before it is told, so racing tries
		// queue on the row lock and each one counts.
		if p.Attempts++; p.Attempts >= MaxCodeTries {
			outcome = errTooManyTries
			_, err = tx.Exec(ctx, deleteSignIn, key)
			return err
		}
		outcome = errWrongCode
		_, err = tx.Exec(ctx, wrongTrySQL, key, p.Attempts)
		return err
	})
	if err != nil {
		return p, storeError(err, "checking a sign-in code", nil)
	}
	return p, outcome
}

// enterCode checks the mailed code of the pending sign-in with token. It
// returns the pending sign-in after the step. Errors: those of checkStep,
// errStepDone (no mailed code is due).
func (a *App) enterCode(ctx context.Context, token, code string) (pendingSignIn, error) {
	p, err := a.checkStep(ctx, token, func(_ pgx.Tx, p pendingSignIn) (bool, error) {
		if p.CodeHash == nil {
			return false, errStepDone
		}
		return subtle.ConstantTimeCompare(p.CodeHash, saltedCodeHash(token, code)) == 1, nil
	}, codePassedSQL)
	if err == nil {
		p.CodeHash = nil
	}
	return p, err
}

// enterTOTP checks the authenticator code of the pending sign-in with
// token. Errors: those of checkStep, errCodeFirst (the mailed code is
// still due), errStepDone (no authenticator code is due).
func (a *App) enterTOTP(ctx context.Context, token, code string) (pendingSignIn, error) {
	p, err := a.checkStep(ctx, token, func(tx pgx.Tx, p pendingSignIn) (bool, error) {
		switch {
		case p.CodeHash != nil:
			return false, errCodeFirst
		case !p.NeedsTOTP:
			return false, errStepDone
		}
		return a.validTOTP(ctx, tx, p.UserID, code)
	}, totpPassedSQL)
	if err == nil {
		p.NeedsTOTP = false
	}
	return p, err
}

// finishSignIn ends the pending sign-in with token, whose steps are all
// done, and opens the user's session. Errors: errSignInGone (it ended
// already, or a step is still due), CodeUnavailable.
func (a *App) finishSignIn(ctx context.Context, token string) (session string, err error) {
	var userID int64
	err = a.db.QueryRow(ctx, finishSignInSQL, tokenHash(token)).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errSignInGone
	}
	if err != nil {
		return "", storeError(err, "finishing a sign-in", nil)
	}
	return a.StartSession(ctx, userID)
}

// useLink ends the pending sign-in of a magic link's token and returns
// its row as it was. Errors: errSignInGone (no such link, or used
// already), errSignInExpired, CodeUnavailable.
func (a *App) useLink(ctx context.Context, linkToken string) (pendingSignIn, error) {
	var p pendingSignIn
	err := a.db.QueryRow(ctx, useLinkSQL, tokenHash(linkToken)).Scan(&p.UserID, &p.NeedsTOTP, &p.ExpiresAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return p, errSignInGone
	case err != nil:
		return p, storeError(err, "using a sign-in link", nil)
	case !p.ExpiresAt.After(a.now()):
		return p, errSignInExpired
	}
	return p, nil
}

// cancelSignIn ends the pending sign-in with token, if any.
func (a *App) cancelSignIn(ctx context.Context, token string) error {
	_, err := a.db.Exec(ctx, deleteSignIn, tokenHash(token))
	return storeError(err, "cancelling a sign-in", nil)
}
