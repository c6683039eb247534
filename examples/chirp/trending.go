package chirp

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/providers"
)

// SurfaceTrending is chirp's own surface, which an environment declares
// among its custom surfaces: the users with the most posts in the last day
// (Trending, GET /trending).
const SurfaceTrending = "trending"

// Trender is a user on the trending list.
type Trender struct {
	UserID      int64  `json:"user_id" db:"user_id"`
	Username    string `json:"username" db:"username"`
	DisplayName string `json:"display_name" db:"display_name"`
	// Posts counts the user's posts in the last day.
	Posts int64 `json:"posts" db:"posts"`
}

const (
	// trendingSQL ranks the users visible to viewer $1 by their posts in
	// the last day.
	trendingSQL = `SELECT u.id AS user_id, u.username, u.display_name, count(*) AS posts
		FROM visible_users($1) u JOIN posts p ON p.user_id = u.id
		WHERE p.created_at > now() - interval '1 day'
		GROUP BY u.id, u.username, u.display_name ORDER BY posts DESC, u.id LIMIT $2`
	// leakyTrendingSQL is trendingSQL without chirp's isolation rule: the
	// planted leak of Config.LeakTrending: every viewer sees every user.
	leakyTrendingSQL = `SELECT u.id AS user_id, u.username, u.display_name, count(*) AS posts
		FROM users u JOIN posts p ON p.user_id = u.id
		WHERE p.created_at > now() - interval '1 day'
		GROUP BY u.id, u.username, u.display_name ORDER BY posts DESC, u.id LIMIT $1`
)

// SetLeakTrending switches the planted leak of Config.LeakTrending on or
// off.
func (a *App) SetLeakTrending(leak bool) { a.leakTrending.Store(leak) }

// Trending returns the top limit (default 10, at most 100) users by posts
// in the last day, as viewerID sees them (0 is an anonymous, real viewer).
// Errors: CodeInvalid, CodeNotFound (no such viewer).
func (a *App) Trending(ctx context.Context, viewerID int64, limit int) ([]Trender, error) {
	limit, err := pageSize(limit, 10)
	if err != nil {
		return nil, err
	}
	if viewerID != 0 {
		if err := a.requireUser(ctx, "viewer", viewerID); err != nil {
			return nil, err
		}
	}
	if a.leakTrending.Load() {
		rows, _ := a.db.Query(ctx, leakyTrendingSQL, limit)
		list, err := pgx.CollectRows(rows, pgx.RowToStructByName[Trender])
		return list, storeError(err, "reading trending users", nil)
	}
	rows, _ := a.db.Query(ctx, trendingSQL, viewerID, a.fetchSize(limit))
	list, err := pgx.CollectRows(rows, pgx.RowToStructByName[Trender])
	if err != nil {
		return nil, storeError(err, "reading trending users", nil)
	}
	return visibleTo(a, viewerID, SurfaceTrending, list, limit, func(t Trender) int64 { return t.UserID }), nil
}

// surfaceSize is how many entries of a surface the webhook's surface
// operation reports.
const surfaceSize = 100

const (
	// surfaceFeedSQL lists the authors of the newest posts that a real
	// viewer's feed may show.
	surfaceFeedSQL = `SELECT p.user_id FROM posts p JOIN visible_users(0) u ON u.id = p.user_id
		ORDER BY p.created_at DESC, p.id DESC LIMIT $1`
	// surfaceSearchSQL lists the users a real viewer's search may find.
	surfaceSearchSQL = `SELECT u.id FROM visible_users(0) u ORDER BY u.username, u.id LIMIT $1`
	// surfaceNotificationsSQL lists the users whose actions the newest
	// notifications of real users tell of.
	surfaceNotificationsSQL = `SELECT n.actor_id FROM notifications n JOIN visible_users(0) r ON r.id = n.user_id
		WHERE n.actor_id IS NOT NULL ORDER BY n.id DESC LIMIT $1`
)

// SurfaceRefs returns the ids of the users that a real viewer sees on
// surface now, in the order shown (an id may repeat): what the webhook's
// surface operation answers. Errors: providers.ErrNoSurface for a surface
// chirp does not show.
func (a *App) SurfaceRefs(ctx context.Context, surface string) ([]int64, error) {
	var ids []int64
	var err error
	switch surface {
	case SurfaceLeaderboards:
		var entries []Entry
		entries, err = a.Leaderboard(ctx, 0, surfaceSize)
		for _, e := range entries {
			ids = append(ids, e.UserID)
		}
	case SurfaceTrending:
		var list []Trender
		list, err = a.Trending(ctx, 0, surfaceSize)
		for _, t := range list {
			ids = append(ids, t.UserID)
		}
	case SurfaceSocialFeed:
		ids, err = a.surfaceIDs(ctx, surfaceFeedSQL)
	case SurfaceSearch:
		ids, err = a.surfaceIDs(ctx, surfaceSearchSQL)
	case SurfaceNotifications:
		ids, err = a.surfaceIDs(ctx, surfaceNotificationsSQL)
	default:
		return nil, fmt.Errorf("%w: chirp shows no %q", providers.ErrNoSurface, surface)
	}
	if err != nil {
		return nil, err
	}
	if surface == SurfaceSocialFeed || surface == SurfaceSearch || surface == SurfaceNotifications {
		ids = visibleTo(a, 0, surface, ids, surfaceSize, func(id int64) int64 { return id })
	}
	return ids, nil
}

func (a *App) surfaceIDs(ctx context.Context, query string) ([]int64, error) {
	rows, _ := a.db.Query(ctx, query, a.fetchSize(surfaceSize))
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, storeError(err, "reading a surface", nil)
}
