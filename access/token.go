package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// TokenPrefix starts every token, so a leaked one is easy to recognise
// (secret scanners) and to tell apart from other credentials.
const TokenPrefix = "ust_"

// Token is a bearer token's record. The secret itself is never stored: only
// its SHA-256 hash and its first characters (Prefix), to recognise it.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name" validate:"required,max=63,tokenname"`
	Scope     Scope      `json:"scope"`
	Prefix    string     `json:"prefix"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Tokens stores and checks bearer tokens.
type Tokens struct {
	// Now tells the time: when a token is made or revoked, and when a
	// cached authentication expires. The constructors set it to time.Now;
	// replace it before first use to inject a clock. Nil leaves the times
	// of made and revoked tokens to the database.
	Now   func() time.Time
	db    pgdb.DB
	cache *tokenCache
}

// NewTokens returns a token store on db that looks every token up in the
// database.
func NewTokens(db pgdb.DB) *Tokens { return &Tokens{Now: time.Now, db: db} }

// NewCachedTokens returns a token store that remembers a successful
// authentication for ttl, sparing a database round trip on most requests.
// A token revoked through this store stops working at once; one revoked
// through another replica keeps working on this one for at most ttl.
func NewCachedTokens(db pgdb.DB, ttl time.Duration) *Tokens {
	t := NewTokens(db)
	t.cache = newTokenCache(ttl, t.now)
	return t
}

// now is the time by s.Now, read at each call so that a clock injected
// after construction also rules the cache.
func (s *Tokens) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func hashToken(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

const createTokenSQL = `
INSERT INTO tokens (name, scope, hash, prefix, created_at) VALUES ($1, $2, $3, $4, coalesce($5::timestamptz, now()))
RETURNING id, name, scope, prefix, created_at, revoked_at`

// Create makes a token and returns its record and its secret, which is shown
// this once and never again. Errors: EINVALID (name, scope), ECONFLICT (an
// active token has the name).
func (s *Tokens) Create(ctx context.Context, name string, scope Scope) (Token, string, error) {
	var fields []understudy.FieldError
	if err := validate.Var(name, "required,max=63,tokenname"); err != nil {
		fields = append(fields, understudy.FieldError{Field: "name", Detail: "must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"})
	}
	if _, err := ParseScope("scope", string(scope)); err != nil {
		fields = append(fields, understudy.FieldError{Field: "scope", Detail: "must be one of admin, runner, reader"})
	}
	if len(fields) > 0 {
		return Token{}, "", understudy.Invalid("invalid token", fields...)
	}
	secret := TokenPrefix + rand.Text() + rand.Text()
	var t Token
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, createTokenSQL, name, scope, hashToken(secret), secret[:len(TokenPrefix)+6], pgdb.Now(s.Now))
		if err := scanToken(row, &t); err != nil {
			return err
		}
		return Record(ctx, tx, Event{Action: "token.create", TargetType: "token", TargetID: t.ID, Details: map[string]any{"name": name, "scope": scope}})
	})
	if err != nil {
		return Token{}, "", pgdb.Translate(err, "", "an active token named "+name+" already exists")
	}
	return t, secret, nil
}

const authenticateSQL = `
SELECT id, name, scope, prefix, created_at, revoked_at FROM tokens
WHERE hash = $1 AND revoked_at IS NULL`

// Authenticate returns the active token whose secret is secret.
// Errors: EUNAUTHORIZED, EUNAVAILABLE.
func (s *Tokens) Authenticate(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return Token{}, understudy.Errorf(understudy.EUNAUTHORIZED, "the bearer token is not valid")
	}
	hash := hashToken(secret)
	if t, ok := s.cache.get(hash); ok {
		return t, nil
	}
	t, found, err := pgdb.QueryMaybe(ctx, s.db, scanToken, pgdb.Conflict{}, authenticateSQL, hash)
	switch {
	case err != nil:
		return Token{}, err
	case !found:
		return Token{}, understudy.Errorf(understudy.EUNAUTHORIZED, "the bearer token is not valid or was revoked")
	}
	s.cache.put(hash, t)
	return t, nil
}

const activeTokenSQL = `
SELECT id, name, scope, prefix, created_at, revoked_at FROM tokens
WHERE id::text = $1 AND revoked_at IS NULL`

// ActiveToken returns the token with id, and false when there is none or
// it was revoked. It never consults a cache: callers that re-check a token
// on each request (the console's sessions) see a revocation at once. db may
// be a transaction.
func ActiveToken(ctx context.Context, db pgdb.DB, id string) (Token, bool, error) {
	return pgdb.QueryMaybe(ctx, db, scanToken, pgdb.Conflict{}, activeTokenSQL, id)
}

const listTokensSQL = `
SELECT id, name, scope, prefix, created_at, revoked_at FROM tokens
ORDER BY created_at, id`

// List returns every token, revoked ones included.
func (s *Tokens) List(ctx context.Context) ([]Token, error) {
	rows, err := s.db.Query(ctx, listTokensSQL)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) {
		var t Token
		return t, scanToken(r, &t)
	})
	return list, pgdb.Translate(err, "", "")
}

const revokeTokenSQL = `
UPDATE tokens SET revoked_at = coalesce(revoked_at, $2::timestamptz, now()) WHERE id::text = $1
RETURNING id, name, scope, prefix, created_at, revoked_at`

// Revoke revokes the token with id; revoking twice is not an error.
// Errors: ENOTFOUND.
func (s *Tokens) Revoke(ctx context.Context, id string) (Token, error) {
	var t Token
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := scanToken(tx.QueryRow(ctx, revokeTokenSQL, id, pgdb.Now(s.Now)), &t); err != nil {
			return err
		}
		return Record(ctx, tx, Event{Action: "token.revoke", TargetType: "token", TargetID: t.ID, Details: map[string]any{"name": t.Name}})
	})
	s.cache.clear()
	return t, pgdb.Translate(err, "no token has id "+id, "")
}

func scanToken(row pgx.Row, t *Token) error {
	return row.Scan(&t.ID, &t.Name, &t.Scope, &t.Prefix, &t.CreatedAt, &t.RevokedAt)
}

var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	_ = v.RegisterValidation("tokenname", func(fl validator.FieldLevel) bool {
		return tokenNameRE.MatchString(fl.Field().String())
	})
	return v
}()
