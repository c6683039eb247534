package chirp

import (
	"context"
	"errors"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// User is a chirp user. Synthetic users are Understudy's accounts
// (testers); chirp keeps them out of what real users see.
type User struct {
	ID          int64  `json:"id" db:"id"`
	Username    string `json:"username" db:"username"`
	Email       string `json:"email" db:"email"`
	DisplayName string `json:"display_name" db:"display_name"`
	IsSynthetic bool   `json:"is_synthetic" db:"is_synthetic"`
	// UnderstudyAccountID is the Understudy account the user was
	// provisioned for, "" for a user who signed up on their own.
	UnderstudyAccountID string    `json:"understudy_account_id" db:"understudy_account_id"`
	CreatedAt           time.Time `json:"created_at" db:"created_at"`
}

// NewUser is a sign-up: what CreateUser needs to create a user.
type NewUser struct {
	Username    string `json:"username"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	IsSynthetic bool   `json:"is_synthetic"`
}

var skuPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Validate returns a CodeInvalid *Error naming the first field of u that
// is not acceptable.
func (u NewUser) Validate() error {
	switch n := utf8.RuneCountInString(u.Username); {
	case n == 0:
		return invalid("username", "is required")
	case n > 40 || strings.ContainsFunc(u.Username, isSpace):
		return invalid("username", "must be at most 40 characters, without spaces")
	}
	if addr, err := mail.ParseAddress(u.Email); err != nil || addr.Address != u.Email || len(u.Email) > 254 {
		return invalid("email", "must be a plain email address, like ada@example.com")
	}
	if n := utf8.RuneCountInString(u.DisplayName); strings.TrimSpace(u.DisplayName) == "" || n > 80 {
		return invalid("display_name", "must be 1 to 80 characters, not blank")
	}
	return nil
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

const (
	userColumns = `id, username, email, display_name, is_synthetic,
		COALESCE(understudy_account_id, '') AS understudy_account_id, created_at`
	insertUserSQL = `INSERT INTO users (username, email, display_name, is_synthetic)
		VALUES ($1, $2, $3, $4) RETURNING ` + userColumns
	insertProfileSQL = `INSERT INTO profiles (user_id) VALUES ($1) ON CONFLICT DO NOTHING`
	insertScoreSQL   = `INSERT INTO scores (user_id) VALUES ($1) ON CONFLICT DO NOTHING`
	selectUserSQL    = `SELECT ` + userColumns + ` FROM users WHERE id = $1`
	addPointsSQL     = `INSERT INTO scores (user_id, points) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET points = scores.points + EXCLUDED.points`
	addToCartSQL = `INSERT INTO cart_items (user_id, sku, quantity) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, sku) DO UPDATE SET quantity = cart_items.quantity + EXCLUDED.quantity`
)

var userTaken = constraintErrors{
	"users_username_key": {Code: CodeConflict, Field: "username", Message: "is taken"},
	"users_email_key":    {Code: CodeConflict, Field: "email", Message: "is taken"},
}

// CreateUser signs u up: a user, an empty profile and a score of 0, in one
// transaction. Errors: CodeInvalid, CodeConflict (username or email taken).
func (a *App) CreateUser(ctx context.Context, u NewUser) (User, error) {
	if err := u.Validate(); err != nil {
		return User{}, err
	}
	var user User
	err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, insertUserSQL, u.Username, u.Email, u.DisplayName, u.IsSynthetic)
		var err error
		if user, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[User]); err != nil {
			return err
		}
		return createUserRows(ctx, tx, user.ID)
	})
	user.CreatedAt = user.CreatedAt.UTC()
	return user, storeError(err, "creating a user", userTaken)
}

// createUserRows gives a new user the rows every user has: an empty
// profile and a score of 0.
func createUserRows(ctx context.Context, tx pgx.Tx, userID int64) error {
	if _, err := tx.Exec(ctx, insertProfileSQL, userID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, insertScoreSQL, userID)
	return err
}

// GetUser returns the user with id. Errors: CodeNotFound.
func (a *App) GetUser(ctx context.Context, id int64) (User, error) {
	rows, _ := a.db.Query(ctx, selectUserSQL, id)
	user, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[User])
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, notFound("id", "no user %d", id)
	}
	user.CreatedAt = user.CreatedAt.UTC()
	return user, storeError(err, "reading a user", nil)
}

// AddPoints adds points (1 to 1,000,000) to the leaderboard score of the
// user. Errors: CodeInvalid, CodeNotFound.
func (a *App) AddPoints(ctx context.Context, userID int64, points int64) error {
	if points < 1 || points > 1_000_000 {
		return invalid("points", "must be between 1 and 1000000")
	}
	_, err := a.db.Exec(ctx, addPointsSQL, userID, points)
	return storeError(err, "adding points", constraintErrors{
		"scores_user_id_fkey": notFound("id", "no user %d", userID),
	})
}

// AddToCart adds qty (1 to 1,000) of sku to the user's cart, on top of
// what is there. Errors: CodeInvalid, CodeNotFound.
func (a *App) AddToCart(ctx context.Context, userID int64, sku string, qty int) error {
	if !skuPattern.MatchString(sku) {
		return invalid("sku", "must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
	if qty < 1 || qty > 1000 {
		return invalid("quantity", "must be between 1 and 1000")
	}
	_, err := a.db.Exec(ctx, addToCartSQL, userID, sku, qty)
	return storeError(err, "adding to a cart", constraintErrors{
		"cart_items_user_id_fkey": notFound("id", "no user %d", userID),
	})
}
