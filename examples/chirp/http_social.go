package chirp

import (
	"context"
	"net/http"
)

// The handlers of chirp's social endpoints: each reads the path id and a
// JSON body, calls one domain operation, and returns its error as it is.

func (a *App) postPost(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Body string `json:"body"`
	}
	id, err := pathID(r)
	if err == nil {
		err = decodeJSON(w, r, &in)
	}
	if err != nil {
		return err
	}
	postID, err := a.Post(r.Context(), id, in.Body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]int64{"id": postID})
}

func (a *App) postFollow(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		FolloweeID int64 `json:"followee_id"`
	}
	id, err := pathID(r)
	if err == nil {
		err = decodeJSON(w, r, &in)
	}
	if err == nil && in.FolloweeID == 0 {
		err = invalid("followee_id", "is required")
	}
	if err == nil {
		err = a.Follow(r.Context(), id, in.FolloweeID)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *App) postLike(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		PostID int64 `json:"post_id"`
	}
	id, err := pathID(r)
	if err == nil {
		err = decodeJSON(w, r, &in)
	}
	if err == nil && in.PostID == 0 {
		err = invalid("post_id", "is required")
	}
	if err == nil {
		err = a.Like(r.Context(), id, in.PostID)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *App) postPoints(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Points int64 `json:"points"`
	}
	id, err := pathID(r)
	if err == nil {
		err = decodeJSON(w, r, &in)
	}
	if err == nil {
		err = a.AddPoints(r.Context(), id, in.Points)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *App) postCart(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	}
	id, err := pathID(r)
	if err == nil {
		err = decodeJSON(w, r, &in)
	}
	if err == nil {
		err = a.AddToCart(r.Context(), id, in.SKU, in.Quantity)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *App) getLeaderboard(w http.ResponseWriter, r *http.Request) error {
	return serveList(w, r, "entries", viewerParam, a.Leaderboard)
}

func (a *App) getTrending(w http.ResponseWriter, r *http.Request) error {
	return serveList(w, r, "users", viewerParam, a.Trending)
}

func (a *App) getFeed(w http.ResponseWriter, r *http.Request) error {
	return serveList(w, r, "posts", pathID, a.Feed)
}

func (a *App) getNotifications(w http.ResponseWriter, r *http.Request) error {
	return serveList(w, r, "notifications", pathID, a.Notifications)
}

func (a *App) getSearch(w http.ResponseWriter, r *http.Request) error {
	return serveList(w, r, "users", viewerParam, func(ctx context.Context, viewer int64, limit int) ([]Match, error) {
		return a.Search(ctx, viewer, r.URL.Query().Get("q"), limit)
	})
}

// viewerParam reads the viewer of a list from ?viewer=.
func viewerParam(r *http.Request) (int64, error) { return queryInt(r, "viewer") }

// serveList answers what a viewer sees in a list: the viewer (from the
// query or the path), ?limit= clamped to 101 (the lists refuse more than
// 100 and name the limit), and the list under key.
func serveList[T any](w http.ResponseWriter, r *http.Request, key string, viewerOf func(*http.Request) (int64, error),
	list func(ctx context.Context, viewer int64, limit int) ([]T, error)) error {
	viewer, err := viewerOf(r)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	items, err := list(r.Context(), viewer, int(min(max(limit, -1), 101)))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string][]T{key: items})
}
