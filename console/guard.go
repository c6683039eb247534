package console

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
)

// handlerFunc serves a request of a signed-in session.
type handlerFunc func(w http.ResponseWriter, r *http.Request, s session)

// maxForm bounds the body of a console form.
const maxForm = 64 << 10

// csrfHeader carries the session's anti-forgery token on htmx requests
// (set by hx-headers on <body>); forms carry it as the _csrf field.
const csrfHeader = "X-CSRF-Token"

// guard runs h for a signed-in session only: a request without a live
// session (none, signed out, idle past its expiry, or whose token was
// revoked) is sent to the sign-in page. A POST must come from the
// console's own pages (Origin, Sec-Fetch-Site) and carry the session's
// anti-forgery token, or it is refused with 403.
func (c *Console) guard(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		var id string
		if ck, err := r.Cookie(sessionCookie); err == nil {
			id = ck.Value
		}
		s, ok, err := c.sessions.lookup(r.Context(), id)
		if err != nil {
			c.fail(w, r, nil, err)
			return
		}
		if !ok {
			c.toSignIn(w, r, id != "")
			return
		}
		if r.Method == http.MethodPost {
			if err := readForm(w, r); err != nil {
				c.fail(w, r, &s, err)
				return
			}
			if !sameOrigin(r) || !s.validCSRF(csrfOf(r)) {
				c.refuse(w, r, &s, "This form was refused: it did not carry this session's anti-forgery token. Reload the page and try again.")
				return
			}
		}
		h(w, r.WithContext(access.WithCaller(r.Context(), s.caller())), s)
	})
}

// readForm reads a POST's form, at most maxForm bytes of it: a form that
// is too large, or cannot be read, is refused (ETOOLARGE, EMALFORMED)
// rather than taken as empty, so no handler acts on a form it did not get.
func readForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return understudy.Errorf(understudy.ETOOLARGE, "This form is larger than %d bytes: nothing was done.", maxForm)
		}
		return understudy.Errorf(understudy.EMALFORMED, "This form could not be read: nothing was done.")
	}
	return nil
}

// csrfOf is the anti-forgery token a request carries: the htmx header, or
// the form's _csrf field.
func csrfOf(r *http.Request) string {
	if v := r.Header.Get(csrfHeader); v != "" {
		return v
	}
	return r.PostFormValue("_csrf")
}

// sameOrigin reports whether a POST came from a page of this server, as
// far as the browser says: Sec-Fetch-Site, when sent, must be same-origin,
// and Origin, when sent, must be this host.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// toSignIn sends a request without a live session to the sign-in page,
// saying the session ended when the browser had one, and coming back to
// the page it asked for (an htmx request reloads the whole page there).
func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request, ended bool) {
	q := url.Values{}
	if ended {
		q.Set("ended", "1")
		http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
	}
	if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
		q.Set("next", r.URL.RequestURI())
	}
	target := Prefix + "signin"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// cookie makes a console cookie: HttpOnly, SameSite=Strict, scoped to the
// console's path, Secure when the original request was https: over TLS to
// this server, or through a trusted proxy that said so (access.Client).
// maxAge < 0 deletes it; 0 makes it last as long as the browser.
func (c *Console) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil || access.ClientFrom(r.Context()).HTTPS, SameSite: http.SameSiteStrictMode}
}

// localNext returns next when it is a path of the console (so the sign-in
// page cannot send anyone elsewhere), and the overview otherwise. The
// path must still be the console's once its dot segments are resolved,
// and hold no control character (which url.Parse refuses): a browser
// drops a tab from a URL, so what it follows could differ from what was
// checked.
func localNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.User != nil || u.Host != "" || u.Opaque != "" || u.Fragment != "" ||
		strings.ContainsAny(next, "\\") || !strings.HasPrefix(next, Prefix) {
		return Prefix
	}
	if clean := path.Clean(u.Path); clean+"/" != Prefix && !strings.HasPrefix(clean, Prefix) || strings.Contains(u.Path, "//") {
		return Prefix
	}
	return next
}

// signInCookie carries the sign-in form's own anti-forgery token: there is
// no session yet, so the form and this cookie must agree (a double submit).
const signInCookie = "understudy_signin"

// signInPage shows the sign-in form, or the overview to a signed-in browser.
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if _, ok, err := c.sessions.lookup(r.Context(), ck.Value); err == nil && ok {
			http.Redirect(w, r, localNext(r.URL.Query().Get("next")), http.StatusSeeOther)
			return
		}
	}
	var fl *flash
	if r.URL.Query().Get("ended") != "" {
		fl = &flash{Kind: "warn", Text: "Your session has ended: it was signed out, it expired, or its token was revoked. Sign in again."}
	}
	c.showSignIn(w, r, http.StatusOK, fl)
}

// showSignIn renders the sign-in form with a fresh anti-forgery token.
func (c *Console) showSignIn(w http.ResponseWriter, r *http.Request, status int, fl *flash) {
	token := rand.Text()
	http.SetCookie(w, c.cookie(r, signInCookie, token, 0))
	c.render(w, r, status, "signin", &page{Title: "Sign in", Flash: fl,
		Data: map[string]string{"CSRF": token, "Next": localNext(r.URL.Query().Get("next"))}})
}

// signIn exchanges a pasted token for a session cookie. A wrong, revoked or
// unsuitable token gets a clear message and no session.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := readForm(w, r); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	ck, err := r.Cookie(signInCookie)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("_csrf"))) != 1 {
		c.refuse(w, r, nil, "The sign-in form was refused: it did not come from this page. Reload it and try again.")
		return
	}
	tok, err := c.cfg.Tokens.Authenticate(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if err != nil {
		c.signInFailed(w, r, err)
		return
	}
	if !tok.Scope.Allows(access.ScopeReader) {
		c.showSignIn(w, r, http.StatusForbidden, &flash{Kind: "error", Text: "Token " + tok.Name + " has scope " + string(tok.Scope) +
			", which cannot use the console: sign in with an admin, runner or reader token."})
		return
	}
	id, _, err := c.sessions.create(r.Context(), tok)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	http.SetCookie(w, c.cookie(r, sessionCookie, id, 0))
	http.SetCookie(w, c.cookie(r, signInCookie, "", -1))
	http.Redirect(w, r, localNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// signOut ends the session and deletes its cookie.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, _ session) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := c.sessions.end(r.Context(), ck.Value); err != nil {
			c.fail(w, r, nil, err)
			return
		}
	}
	http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}
