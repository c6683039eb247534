package chirp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/providers"
)

// StateVersion is the version of the state document that SnapshotUser
// produces and RestoreUser accepts.
const StateVersion = 1

// UserState is a user's state in chirp, the document of SnapshotUser and
// RestoreUser: the user's rows of every per-user table, without the user
// id (implied by the ref), each list in primary-key order, so the same
// state always encodes to the same bytes. The users row itself (identity:
// username, email, ownership) is not state and is never restored.
type UserState struct {
	Version       int            `json:"version"`
	Profile       *Profile       `json:"profile"` // nil: no profiles row
	Posts         []StatePost    `json:"posts"`
	Follows       []StateFollow  `json:"follows"` // whom the user follows
	Likes         []StateLike    `json:"likes"`   // what the user likes
	Score         *Score         `json:"score"`   // nil: no scores row
	Notifications []Notification `json:"notifications"`
	Cart          []CartItem     `json:"cart"`
}

// Profile is a user's profiles row.
type Profile struct {
	Bio       string `json:"bio" db:"bio"`
	AvatarURL string `json:"avatar_url" db:"avatar_url"`
}

// StatePost is one of the user's posts, with its id and time kept by a
// restore.
type StatePost struct {
	ID        int64     `json:"id" db:"id"`
	Body      string    `json:"body" db:"body"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
}

// StateFollow is a follow by the user.
type StateFollow struct {
	FolloweeID int64     `json:"followee_id" db:"followee_id"`
	CreatedAt  time.Time `json:"created_at" db:"created_at"`
}

// StateLike is a like by the user.
type StateLike struct {
	PostID int64 `json:"post_id" db:"post_id"`
}

// Score is a user's scores row: their leaderboard points.
type Score struct {
	Points int64 `json:"points" db:"points"`
}

// CartItem is a line of a user's cart.
type CartItem struct {
	SKU      string `json:"sku" db:"sku"`
	Quantity int    `json:"quantity" db:"quantity"`
}

// One query per per-user table, rows in primary-key order (skus compared
// bytewise, whatever the database's collation).
const (
	snapProfileSQL       = `SELECT bio, avatar_url FROM profiles WHERE user_id = $1`
	snapPostsSQL         = `SELECT id, body, created_at FROM posts WHERE user_id = $1 ORDER BY id`
	snapFollowsSQL       = `SELECT followee_id, created_at FROM follows WHERE follower_id = $1 ORDER BY followee_id`
	snapLikesSQL         = `SELECT post_id FROM likes WHERE user_id = $1 ORDER BY post_id`
	snapScoreSQL         = `SELECT points FROM scores WHERE user_id = $1`
	snapNotificationsSQL = `SELECT id, kind, body, read, created_at FROM notifications WHERE user_id = $1 ORDER BY id`
	snapCartSQL          = `SELECT sku, quantity FROM cart_items WHERE user_id = $1 ORDER BY sku COLLATE "C"`
)

// SnapshotUser verifies the target and returns its state, a UserState
// read in one repeatable-read transaction. Errors: those of VerifyUser.
func (a *App) SnapshotUser(ctx context.Context, t providers.Target) (json.RawMessage, error) {
	var s UserState
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, a.db, opts, func(tx pgx.Tx) error {
		id, err := verify(ctx, tx, ownerSQL, t)
		if err != nil {
			return err
		}
		s, err = readState(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, contractError(err, "snapshotting user "+t.Ref)
	}
	doc, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding the state of user %s: %w", t.Ref, err)
	}
	return doc, nil
}

// readState reads the user's rows of every per-user table.
func readState(ctx context.Context, tx pgx.Tx, id int64) (UserState, error) {
	s := UserState{Version: StateVersion}
	var err error
	if s.Profile, err = one[Profile](ctx, tx, snapProfileSQL, id); err != nil {
		return s, err
	}
	if s.Posts, err = all[StatePost](ctx, tx, snapPostsSQL, id); err != nil {
		return s, err
	}
	if s.Follows, err = all[StateFollow](ctx, tx, snapFollowsSQL, id); err != nil {
		return s, err
	}
	if s.Likes, err = all[StateLike](ctx, tx, snapLikesSQL, id); err != nil {
		return s, err
	}
	if s.Score, err = one[Score](ctx, tx, snapScoreSQL, id); err != nil {
		return s, err
	}
	if s.Notifications, err = all[Notification](ctx, tx, snapNotificationsSQL, id); err != nil {
		return s, err
	}
	s.Cart, err = all[CartItem](ctx, tx, snapCartSQL, id)
	for i := range s.Posts {
		s.Posts[i].CreatedAt = s.Posts[i].CreatedAt.UTC()
	}
	for i := range s.Follows {
		s.Follows[i].CreatedAt = s.Follows[i].CreatedAt.UTC()
	}
	for i := range s.Notifications {
		s.Notifications[i].CreatedAt = s.Notifications[i].CreatedAt.UTC()
	}
	return s, err
}

// all returns every row of query, never nil (an empty list encodes as []).
func all[T any](ctx context.Context, tx pgx.Tx, query string, id int64) ([]T, error) {
	rows, _ := tx.Query(ctx, query, id)
	return pgx.CollectRows(rows, pgx.RowToStructByName[T])
}

// one returns the row of query, or nil when there is none.
func one[T any](ctx context.Context, tx pgx.Tx, query string, id int64) (*T, error) {
	rows, _ := tx.Query(ctx, query, id)
	list, err := pgx.CollectRows(rows, pgx.RowToStructByName[T])
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

// decodeState reads a state document, strictly: an unknown field, a
// missing or other version is refused.
func decodeState(doc json.RawMessage) (UserState, error) {
	var s UserState
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("%w: the state is not a chirp state: %v", providers.ErrRefused, err)
	}
	if s.Version != StateVersion {
		return s, fmt.Errorf("%w: the state has version %d; chirp reads version %d", providers.ErrRefused, s.Version, StateVersion)
	}
	return s, nil
}
