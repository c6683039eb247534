package chirp

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// PostPoints is what a post adds to its author's leaderboard score.
const PostPoints = 10

// Every query below that shows users to a viewer selects them through the
// visible_users(viewer) SQL function (schema.go), the one place where
// chirp's isolation rule is written.
const (
	insertPostSQL   = `INSERT INTO posts (user_id, body) VALUES ($1, $2) RETURNING id`
	insertFollowSQL = `INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	insertLikeSQL   = `INSERT INTO likes (user_id, post_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	// notifyFollowSQL tells followee $1 that $2 follows them, unless $2 is
	// hidden from $1.
	notifyFollowSQL = `INSERT INTO notifications (user_id, kind, body, actor_id)
		SELECT $1, 'follow', '@' || actor.username || ' followed you', actor.id
		FROM visible_users($1) actor WHERE actor.id = $2`
	// notifyLikeSQL tells the author of post $2 that $1 likes it, unless $1
	// is the author or is hidden from the author.
	notifyLikeSQL = `INSERT INTO notifications (user_id, kind, body, actor_id)
		SELECT p.user_id, 'like', '@' || actor.username || ' liked your post ' || p.id, actor.id
		FROM posts p, visible_users(p.user_id) actor
		WHERE p.id = $2 AND actor.id = $1 AND p.user_id <> $1`
	userExistsSQL = `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`
)

// Post publishes body (1 to 280 characters, not blank) as the user's and
// adds PostPoints to their score; it returns the post's id.
// Errors: CodeInvalid, CodeNotFound.
func (a *App) Post(ctx context.Context, userID int64, body string) (int64, error) {
	if n := utf8.RuneCountInString(body); n < 1 || n > 280 || strings.TrimSpace(body) == "" {
		return 0, invalid("body", "must be 1 to 280 characters, not blank (got %d)", n)
	}
	var id int64
	err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, insertPostSQL, userID, body).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, addPointsSQL, userID, PostPoints)
		return err
	})
	return id, storeError(err, "posting", constraintErrors{
		"posts_user_id_fkey": notFound("id", "no user %d", userID),
	})
}

// Follow makes followerID follow followeeID and notifies the followee.
// Following twice is a no-op (one notification). Errors: CodeInvalid
// (following oneself), CodeNotFound.
func (a *App) Follow(ctx context.Context, followerID, followeeID int64) error {
	if followerID == followeeID {
		return invalid("followee_id", "cannot follow yourself")
	}
	err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, insertFollowSQL, followerID, followeeID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, notifyFollowSQL, followeeID, followerID)
		return err
	})
	return storeError(err, "following", constraintErrors{
		"follows_follower_id_fkey": notFound("id", "no user %d", followerID),
		"follows_followee_id_fkey": notFound("followee_id", "no user %d", followeeID),
	})
}

// Like makes the user like the post and notifies the post's author.
// Liking twice is a no-op (one notification). Errors: CodeNotFound.
func (a *App) Like(ctx context.Context, userID, postID int64) error {
	err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, insertLikeSQL, userID, postID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, notifyLikeSQL, userID, postID)
		return err
	})
	return storeError(err, "liking", constraintErrors{
		"likes_user_id_fkey": notFound("id", "no user %d", userID),
		"likes_post_id_fkey": notFound("post_id", "no post %d", postID),
	})
}

// requireUser returns a CodeNotFound *Error naming field unless the user
// exists.
func (a *App) requireUser(ctx context.Context, field string, id int64) error {
	var ok bool
	if err := a.db.QueryRow(ctx, userExistsSQL, id).Scan(&ok); err != nil {
		return storeError(err, "looking a user up", nil)
	}
	if !ok {
		return notFound(field, "no user %d", id)
	}
	return nil
}

// pageSize returns limit, or def when limit is 0, or a CodeInvalid *Error
// when limit is outside 0 to 100.
func pageSize(limit, def int) (int, error) {
	switch {
	case limit == 0:
		return def, nil
	case limit < 0 || limit > 100:
		return 0, invalid("limit", "must be between 1 and 100")
	}
	return limit, nil
}
