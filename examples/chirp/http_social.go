package chirp

import (
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
	viewer, err := queryInt(r, "viewer")
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	entries, err := a.Leaderboard(r.Context(), viewer, int(min(max(limit, -1), 101)))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string][]Entry{"entries": entries})
}

func (a *App) getTrending(w http.ResponseWriter, r *http.Request) error {
	viewer, err := queryInt(r, "viewer")
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	list, err := a.Trending(r.Context(), viewer, int(min(max(limit, -1), 101)))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string][]Trender{"users": list})
}

func (a *App) getFeed(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	posts, err := a.Feed(r.Context(), id, int(min(max(limit, -1), 101)))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string][]FeedPost{"posts": posts})
}

func (a *App) getNotifications(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	list, err := a.Notifications(r.Context(), id, int(min(max(limit, -1), 101)))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string][]Notification{"notifications": list})
}

func (a *App) getSearch(w http.ResponseWriter, r *http.Request) error {
	viewer, err := queryInt(r, "viewer")
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	found, err := a.Search(r.Context(), viewer, r.URL.Query().Get("q"), int(min(max(limit, -1), 101)))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string][]Match{"users": found})
}
