package chirp

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
)

// The pages: a minimal server-rendered site on top of the same operations
// as the JSON API, for people and for browser tests. GET /login and
// POST /login sign in with email and password; GET / shows the viewer's
// stats, a form to post, their feed and the leaderboard, both as the viewer
// sees them (chirp's SQL rule, then Config.Isolation, as for the JSON
// lists); POST /posts posts; POST /logout signs out. The session cookie is
// HttpOnly and SameSite=Lax, and every form POST is refused when the
// browser says it came from another origin.

// SessionCookie is the name of the cookie that holds a session's token.
const SessionCookie = "chirp_session"

//go:embed pages.tmpl
var pagesSource string

var pages = template.Must(template.New("pages").Parse(pagesSource))

// Page limits: how much of each list the home page shows.
const (
	homeFeed        = 20
	homeLeaderboard = 10
	maxForm         = 16 << 10
)

// pageRoutes registers the pages on mux.
func (a *App) pageRoutes(mux *http.ServeMux) {
	forms := http.NewCrossOriginProtection()
	mux.Handle("GET /{$}", a.page(a.getHome))
	mux.Handle("GET /login", a.page(a.getLogin))
	mux.Handle("POST /login", forms.Handler(a.page(a.postLogin)))
	mux.Handle("GET /login/code", a.page(a.getStep(stepCode)))
	mux.Handle("POST /login/code", forms.Handler(a.page(a.postStep(stepCode))))
	mux.Handle("GET /login/totp", a.page(a.getStep(stepTOTP)))
	mux.Handle("POST /login/totp", forms.Handler(a.page(a.postStep(stepTOTP))))
	mux.Handle("GET /login/link", a.page(a.getLink))
	mux.Handle("POST /logout", forms.Handler(a.page(a.postLogout)))
	mux.Handle("POST /posts", forms.Handler(a.page(a.postForm)))
}

// loginPage is what the sign-in page shows.
type loginPage struct {
	Email, Error string
}

// homePage is what the home page shows.
type homePage struct {
	Viewer        User
	Posts, Points int64
	Feed          []FeedPost
	Leaderboard   []Entry
	Draft, Error  string
}

const statsSQL = `SELECT (SELECT count(*) FROM posts WHERE user_id = $1),
	COALESCE((SELECT points FROM scores WHERE user_id = $1), 0)`

// page adapts a page handler: an error becomes a plain-text 503 or 500
// here, logged when internal.
func (a *App) page(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		err := h(w, r)
		if err == nil {
			return
		}
		if e, ok := errors.AsType[*Error](err); ok && e.Code == CodeUnavailable {
			http.Error(w, "chirp is unavailable; try again shortly", http.StatusServiceUnavailable)
			return
		}
		a.reportError(r, "chirp page failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("error", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
	})
}

// render executes the named page into a buffer first, so a failure never
// sends half a page.
func render(w http.ResponseWriter, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// viewer returns the signed-in user of the request, or false when there
// is none (no cookie, or a session that ended).
func (a *App) viewer(r *http.Request) (User, bool, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return User{}, false, nil
	}
	u, err := a.SessionUser(r.Context(), c.Value)
	if errors.Is(err, errNoSession) {
		return User{}, false, nil
	}
	return u, err == nil, err
}

func (a *App) getLogin(w http.ResponseWriter, r *http.Request) error {
	if _, ok, err := a.viewer(r); err != nil || ok {
		if ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
		}
		return err
	}
	return render(w, http.StatusOK, "login", loginPage{})
}

func (a *App) postLogin(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return render(w, http.StatusBadRequest, "login", loginPage{Error: "The form could not be read; try again."})
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	u, err := a.Authenticate(r.Context(), email, r.PostForm.Get("password"))
	if errors.Is(err, ErrBadSignIn) {
		return render(w, http.StatusUnauthorized, "login", loginPage{Email: email, Error: "Wrong email or password."})
	}
	if err != nil {
		return err
	}
	return a.afterPassword(w, r, u)
}

// signedIn opens the user's session and sends the browser home.
func (a *App) signedIn(w http.ResponseWriter, r *http.Request, userID int64) error {
	token, err := a.StartSession(r.Context(), userID)
	if err != nil {
		return err
	}
	a.setSession(w, r, token)
	return nil
}

// setSession gives the browser the session token and sends it home.
func (a *App) setSession(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, a.sessionCookie(r, token, int(a.sessionTTL.Seconds())))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) postLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := a.EndSession(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, a.sessionCookie(r, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// sessionCookie is the session cookie with token, kept maxAge seconds
// (negative: deleted).
func (a *App) sessionCookie(r *http.Request, token string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil}
}

func (a *App) getHome(w http.ResponseWriter, r *http.Request) error {
	u, ok, err := a.viewer(r)
	if err != nil || !ok {
		if err == nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}
		return err
	}
	return a.renderHome(w, r.Context(), http.StatusOK, homePage{Viewer: u})
}

func (a *App) postForm(w http.ResponseWriter, r *http.Request) error {
	u, ok, err := a.viewer(r)
	if err != nil || !ok {
		if err == nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return a.renderHome(w, r.Context(), http.StatusBadRequest, homePage{Viewer: u, Error: "The form could not be read; try again."})
	}
	body := r.PostForm.Get("body")
	_, err = a.Post(r.Context(), u.ID, body)
	if e, ok := errors.AsType[*Error](err); ok && e.Code == CodeInvalid {
		return a.renderHome(w, r.Context(), http.StatusUnprocessableEntity,
			homePage{Viewer: u, Draft: body, Error: "A post must be 1 to 280 characters, not blank."})
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// renderHome fills p with the viewer's stats, feed and leaderboard and
// renders the home page.
func (a *App) renderHome(w http.ResponseWriter, ctx context.Context, status int, p homePage) error {
	if err := a.db.QueryRow(ctx, statsSQL, p.Viewer.ID).Scan(&p.Posts, &p.Points); err != nil {
		return storeError(err, "reading a user's stats", nil)
	}
	var err error
	if p.Feed, err = a.Feed(ctx, p.Viewer.ID, homeFeed); err != nil {
		return err
	}
	if p.Leaderboard, err = a.Leaderboard(ctx, p.Viewer.ID, homeLeaderboard); err != nil {
		return err
	}
	return render(w, status, "home", p)
}
