package chirp

import (
	"strconv"

	"github.com/understudy-dev/understudy/isolation/client"
)

// Isolation answers whether a viewer may see a subject on a surface, both
// named by their identifiers on Understudy's isolation list (for chirp's
// users, Config.RefPrefix and the user id). *client.Client, which holds the
// signed list in memory and fails closed, satisfies it; its methods must
// not block on the network.
type Isolation interface {
	// Visible reports whether viewer may see subject on surface.
	Visible(viewer, surface, subject string) bool
	// Filter returns the subjects viewer may see on surface, in order.
	Filter(viewer, surface string, subjects []string) []string
}

var _ Isolation = (*client.Client)(nil)

// The surfaces chirp asks about: Understudy's built-in surface names.
const (
	SurfaceLeaderboards  = "leaderboards"
	SurfaceSocialFeed    = "social_feed"
	SurfaceSearch        = "search"
	SurfaceNotifications = "notifications"
)

// overFetch is how many times a page's size chirp reads from SQL when an
// isolation client is configured, so that a page stays full when the client
// hides some of the rows chirp's SQL rule let through. A page where the
// client hides more than half comes back short rather than costing a
// second query; a short page never means the end of the results.
const overFetch = 2

// fetchSize is the number of rows to read for a page of limit.
func (a *App) fetchSize(limit int) int {
	if a.iso == nil {
		return limit
	}
	return limit * overFetch
}

// ref is the identifier of chirp user id on the isolation list; the
// anonymous viewer (id 0) is "", which is on no list, so a real viewer.
func (a *App) ref(id int64) string {
	if id == 0 {
		return ""
	}
	return a.prefix + strconv.FormatInt(id, 10)
}

// visibleTo returns the first limit items whose user the isolation client
// lets viewer see on surface, in order. user returns an item's user id, or
// 0 when the item shows no user (it is kept). Without a client it returns
// items as they are.
func visibleTo[T any](a *App, viewer int64, surface string, items []T, limit int, user func(T) int64) []T {
	if a.iso == nil {
		return items
	}
	v := a.ref(viewer)
	out := items[:0]
	for _, it := range items {
		if len(out) == limit {
			break
		}
		if id := user(it); id == 0 || a.iso.Visible(v, surface, a.ref(id)) {
			out = append(out, it)
		}
	}
	return out
}
