package chirp

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/providers"
)

// deleteStateSQL deletes the user's rows of every per-user table, in
// reverse foreign-key order (children first). Deleting the user's posts
// also deletes, by cascade, the likes that other users gave them: a
// restore cannot bring those back, since they are the other users' state.
var deleteStateSQL = []string{
	`DELETE FROM cart_items WHERE user_id = $1`,
	`DELETE FROM notifications WHERE user_id = $1`,
	`DELETE FROM scores WHERE user_id = $1`,
	`DELETE FROM likes WHERE user_id = $1`,
	`DELETE FROM follows WHERE follower_id = $1`,
	`DELETE FROM posts WHERE user_id = $1`,
	`DELETE FROM profiles WHERE user_id = $1`,
}

// The inserts of a restore, in foreign-key order (parents first). Post and
// notification ids and every timestamp are kept.
const (
	restoreProfileSQL = `INSERT INTO profiles (user_id, bio, avatar_url) VALUES ($1, $2, $3)`
	restorePostsSQL   = `INSERT INTO posts (id, user_id, body, created_at)
		SELECT t.id, $1, t.body, t.created_at FROM unnest($2::bigint[], $3::text[], $4::timestamptz[]) AS t(id, body, created_at)`
	restoreFollowsSQL = `INSERT INTO follows (follower_id, followee_id, created_at)
		SELECT $1, t.followee_id, t.created_at FROM unnest($2::bigint[], $3::timestamptz[]) AS t(followee_id, created_at)`
	restoreLikesSQL = `INSERT INTO likes (user_id, post_id)
		SELECT $1, t.post_id FROM unnest($2::bigint[]) AS t(post_id)`
	restoreScoreSQL         = `INSERT INTO scores (user_id, points) VALUES ($1, $2)`
	restoreNotificationsSQL = `INSERT INTO notifications (id, user_id, kind, body, read, created_at)
		SELECT t.id, $1, t.kind, t.body, t.read, t.created_at
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::boolean[], $6::timestamptz[]) AS t(id, kind, body, read, created_at)`
	restoreCartSQL = `INSERT INTO cart_items (user_id, sku, quantity)
		SELECT $1, t.sku, t.quantity FROM unnest($2::text[], $3::integer[]) AS t(sku, quantity)`
)

// RestoreUser replaces the target's state with state (a UserState), all
// or nothing, in one transaction: it locks the user row first (concurrent
// restores of one user queue), verifies the target, deletes the user's
// rows and inserts the state's. If anything fails, nothing is written.
//
// A state refers to ids: the posts it likes and the users it follows must
// still exist, and its post and notification ids must not belong to
// another user; otherwise the restore is refused (providers.ErrRefused).
// Errors: those of VerifyUser, providers.ErrRefused.
func (a *App) RestoreUser(ctx context.Context, t providers.Target, state json.RawMessage) error {
	s, err := decodeState(state)
	if err != nil {
		// Say not_found / not_synthetic / not_owned before "bad state":
		// what is wrong with the target matters more.
		if verr := a.VerifyUser(ctx, t); verr != nil {
			return verr
		}
		return contractError(err, "restoring user "+t.Ref)
	}
	err = pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		id, err := verify(ctx, tx, restoreLockSQL, t)
		if err != nil {
			return err
		}
		for _, q := range deleteStateSQL {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return writeState(ctx, tx, id, s)
	})
	if err != nil {
		return contractError(err, "restoring user "+t.Ref)
	}
	a.log.InfoContext(ctx, "chirp restored a user", slog.String("ref", t.Ref),
		slog.String("request_id", access.RequestID(ctx)), slog.Int("posts", len(s.Posts)))
	return nil
}

// writeState inserts the rows of s for the user, parents first.
func writeState(ctx context.Context, tx pgx.Tx, id int64, s UserState) error {
	batch := &pgx.Batch{}
	if s.Profile != nil {
		batch.Queue(restoreProfileSQL, id, s.Profile.Bio, s.Profile.AvatarURL)
	}
	batch.Queue(restorePostsSQL, id, column(s.Posts, func(p StatePost) int64 { return p.ID }),
		column(s.Posts, func(p StatePost) string { return p.Body }),
		column(s.Posts, func(p StatePost) time.Time { return p.CreatedAt }))
	batch.Queue(restoreFollowsSQL, id, column(s.Follows, func(f StateFollow) int64 { return f.FolloweeID }),
		column(s.Follows, func(f StateFollow) time.Time { return f.CreatedAt }))
	batch.Queue(restoreLikesSQL, id, column(s.Likes, func(l StateLike) int64 { return l.PostID }))
	if s.Score != nil {
		batch.Queue(restoreScoreSQL, id, s.Score.Points)
	}
	n := s.Notifications
	batch.Queue(restoreNotificationsSQL, id, column(n, func(n Notification) int64 { return n.ID }),
		column(n, func(n Notification) string { return n.Kind }),
		column(n, func(n Notification) string { return n.Body }),
		column(n, func(n Notification) bool { return n.Read }),
		column(n, func(n Notification) time.Time { return n.CreatedAt }))
	batch.Queue(restoreCartSQL, id, column(s.Cart, func(c CartItem) string { return c.SKU }),
		column(s.Cart, func(c CartItem) int { return c.Quantity }))
	return tx.SendBatch(ctx, batch).Close()
}

// column returns one field of every row, never nil (an empty array, not
// NULL, for unnest).
func column[R, V any](rows []R, field func(R) V) []V {
	out := make([]V, len(rows))
	for i, r := range rows {
		out[i] = field(r)
	}
	return out
}
