package chirp

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Entry is one line of the leaderboard.
type Entry struct {
	Rank        int    `json:"rank" db:"rank"`
	UserID      int64  `json:"user_id" db:"user_id"`
	Username    string `json:"username" db:"username"`
	DisplayName string `json:"display_name" db:"display_name"`
	Points      int64  `json:"points" db:"points"`
}

// FeedPost is a post as a feed shows it.
type FeedPost struct {
	ID             int64  `json:"id" db:"id"`
	AuthorID       int64  `json:"author_id" db:"author_id"`
	AuthorUsername string `json:"author_username" db:"author_username"`
	Body           string `json:"body" db:"body"`
	// Likes counts the likes of users visible to the feed's viewer.
	Likes     int64     `json:"likes" db:"likes"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
}

// Match is a user found by Search.
type Match struct {
	UserID      int64  `json:"user_id" db:"user_id"`
	Username    string `json:"username" db:"username"`
	DisplayName string `json:"display_name" db:"display_name"`
}

// Notification is something that happened to a user: "follow" or "like".
type Notification struct {
	ID        int64     `json:"id" db:"id"`
	Kind      string    `json:"kind" db:"kind"`
	Body      string    `json:"body" db:"body"`
	Read      bool      `json:"read" db:"read"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
}

// The read side. Users reach a viewer only through visible_users (schema.go).
const (
	leaderboardSQL = `SELECT row_number() OVER (ORDER BY COALESCE(s.points, 0) DESC, u.id) AS rank,
			u.id AS user_id, u.username, u.display_name, COALESCE(s.points, 0) AS points
		FROM visible_users($1) u LEFT JOIN scores s ON s.user_id = u.id
		ORDER BY rank LIMIT $2`
	feedSQL = `SELECT p.id, p.user_id AS author_id, u.username AS author_username, p.body,
			(SELECT count(*) FROM likes l JOIN visible_users($1) lu ON lu.id = l.user_id
			 WHERE l.post_id = p.id) AS likes,
			p.created_at
		FROM posts p JOIN visible_users($1) u ON u.id = p.user_id
		WHERE p.user_id = $1 OR p.user_id IN (SELECT followee_id FROM follows WHERE follower_id = $1)
		ORDER BY p.created_at DESC, p.id DESC LIMIT $2`
	notificationsSQL = `SELECT id, kind, body, read, created_at, COALESCE(actor_id, 0) AS actor_id
		FROM notifications WHERE user_id = $1 ORDER BY id DESC LIMIT $2`
	// searchSQL finds the users whose username starts with $2 (a LIKE
	// pattern with its wildcards escaped by likePrefix).
	searchSQL = `SELECT u.id AS user_id, u.username, u.display_name FROM visible_users($1) u
		WHERE u.username LIKE $2 ESCAPE '\' ORDER BY u.username, u.id LIMIT $3`
)

// With Config.Isolation set, every read below asks SQL for overFetch times
// the page (listfilter.go), then drops the rows the isolation client hides
// and trims to the page.

// Leaderboard returns the top limit (default 10, at most 100) users by
// points, as viewerID sees them: a real viewer sees real users only, a
// synthetic viewer synthetic users only. viewerID 0 is an anonymous (real)
// viewer. Errors: CodeInvalid, CodeNotFound (no such viewer).
func (a *App) Leaderboard(ctx context.Context, viewerID int64, limit int) ([]Entry, error) {
	limit, err := pageSize(limit, 10)
	if err != nil {
		return nil, err
	}
	if viewerID != 0 {
		if err := a.requireUser(ctx, "viewer", viewerID); err != nil {
			return nil, err
		}
	}
	rows, _ := a.db.Query(ctx, leaderboardSQL, viewerID, a.fetchSize(limit))
	entries, err := pgx.CollectRows(rows, pgx.RowToStructByName[Entry])
	if err != nil {
		return nil, storeError(err, "reading the leaderboard", nil)
	}
	entries = visibleTo(a, viewerID, SurfaceLeaderboards, entries, limit, func(e Entry) int64 { return e.UserID })
	for i := range entries {
		entries[i].Rank = i + 1 // ranks among the users shown: a gap would tell a user was hidden
	}
	return entries, nil
}

// Feed returns the newest limit (default 20, at most 100) posts of the
// user and of the users they follow, among the users visible to them.
// Errors: CodeInvalid, CodeNotFound.
func (a *App) Feed(ctx context.Context, userID int64, limit int) ([]FeedPost, error) {
	limit, err := pageSize(limit, 20)
	if err != nil {
		return nil, err
	}
	if err := a.requireUser(ctx, "id", userID); err != nil {
		return nil, err
	}
	rows, _ := a.db.Query(ctx, feedSQL, userID, a.fetchSize(limit))
	posts, err := pgx.CollectRows(rows, pgx.RowToStructByName[FeedPost])
	if err != nil {
		return nil, storeError(err, "reading a feed", nil)
	}
	posts = visibleTo(a, userID, SurfaceSocialFeed, posts, limit, func(p FeedPost) int64 { return p.AuthorID })
	for i := range posts {
		posts[i].CreatedAt = posts[i].CreatedAt.UTC()
	}
	return posts, nil
}

// Search returns at most limit (default 20, at most 100) users whose
// username starts with prefix (1 to 40 characters), among the users
// visible to viewerID, by username. viewerID 0 is an anonymous (real)
// viewer. Errors: CodeInvalid, CodeNotFound (no such viewer).
func (a *App) Search(ctx context.Context, viewerID int64, prefix string, limit int) ([]Match, error) {
	limit, err := pageSize(limit, 20)
	if err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(prefix); n < 1 || n > 40 {
		return nil, invalid("q", "must be 1 to 40 characters")
	}
	if viewerID != 0 {
		if err := a.requireUser(ctx, "viewer", viewerID); err != nil {
			return nil, err
		}
	}
	rows, _ := a.db.Query(ctx, searchSQL, viewerID, likePrefix(prefix), a.fetchSize(limit))
	found, err := pgx.CollectRows(rows, pgx.RowToStructByName[Match])
	if err != nil {
		return nil, storeError(err, "searching users", nil)
	}
	return visibleTo(a, viewerID, SurfaceSearch, found, limit, func(m Match) int64 { return m.UserID }), nil
}

// likePrefix is the LIKE pattern of the strings that start with s.
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// Notifications returns the user's newest limit (default 20, at most 100)
// notifications. Notifications about a user hidden from the recipient are
// never created (see notifyFollowSQL), and with Config.Isolation set those
// whose actor the client hides are not shown. Errors: CodeInvalid,
// CodeNotFound.
func (a *App) Notifications(ctx context.Context, userID int64, limit int) ([]Notification, error) {
	limit, err := pageSize(limit, 20)
	if err != nil {
		return nil, err
	}
	if err := a.requireUser(ctx, "id", userID); err != nil {
		return nil, err
	}
	rows, _ := a.db.Query(ctx, notificationsSQL, userID, a.fetchSize(limit))
	read, err := pgx.CollectRows(rows, pgx.RowToStructByName[actedNotification])
	if err != nil {
		return nil, storeError(err, "reading notifications", nil)
	}
	read = visibleTo(a, userID, SurfaceNotifications, read, limit, func(n actedNotification) int64 { return n.ActorID })
	list := make([]Notification, len(read))
	for i, n := range read {
		list[i] = n.Notification
		list[i].CreatedAt = n.CreatedAt.UTC()
	}
	return list, nil
}

// actedNotification is a notification with the user whose action it tells
// of (0 for a notification written before chirp recorded actors).
type actedNotification struct {
	Notification
	ActorID int64 `db:"actor_id"`
}
