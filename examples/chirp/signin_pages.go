package chirp

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// The sign-in walls, in pages: after the password (POST /login), GET and
// POST /login/code take the mailed code, GET and POST /login/totp the
// authenticator code, and GET /login/link?token=… is the mail's magic link.
// Each step that fails tells the user what to do (try again, or sign in
// again) on a page, with a 4xx or a 503, never a 500.

// SignInCookie is the name of the cookie that binds a pending sign-in to
// the browser, between the password and the session.
const SignInCookie = "chirp_sign_in"

// step is a step of a pending sign-in after the password.
type step int

const (
	stepCode step = iota // the mailed code
	stepTOTP             // the authenticator code
)

// stepPage is what a step's page shows.
type stepPage struct {
	Title, Prompt, Hint, Action, Wrong string
	Error                              string
}

var stepPages = [...]stepPage{
	stepCode: {Title: "Check your email", Prompt: "Enter the code we sent to you",
		Hint:   "The 6-digit code is in the email we just sent you. It works for 10 minutes.",
		Action: "/login/code", Wrong: "That code is not right; check the email and try again."},
	stepTOTP: {Title: "Two-factor authentication", Prompt: "Enter the code from your authenticator app",
		Hint:   "Open your authenticator app and enter the 6-digit code it shows for chirp.",
		Action: "/login/totp", Wrong: "That code is not right; check your authenticator app and try again."},
}

// What the sign-in page says when a pending sign-in cannot go on.
const (
	msgMailFailed   = "We could not send your sign-in code; try again."
	msgCodeExpired  = "Your sign-in code has expired; sign in again."
	msgTooManyTries = "Too many wrong codes: that code no longer works. Sign in again."
	msgSignInGone   = "That sign-in is no longer valid; sign in again."
	msgLinkGone     = "This sign-in link has been used or is not valid; sign in again."
	msgLinkExpired  = "This sign-in link has expired; sign in again."
	msgCodeFormat   = "Enter the 6-digit code."
)

// afterPassword takes a user who gave the right password to the next
// step: the session, or a pending sign-in with a mailed code (Config.SignInCode)
// and then the authenticator code (a user with a TOTP secret).
func (a *App) afterPassword(w http.ResponseWriter, r *http.Request, u User) error {
	ctx := r.Context()
	withTOTP, err := a.hasTOTP(ctx, u.ID)
	if err != nil {
		return err
	}
	if !a.signInCode && !withTOTP {
		return a.signedIn(w, r, u.ID)
	}
	s, err := a.openSignIn(ctx, u.ID, a.signInCode, withTOTP)
	if err != nil {
		return err
	}
	next := "/login/totp"
	if a.signInCode {
		if err := a.sendSignInCode(ctx, u, s); err != nil {
			attrs := []any{slog.Int64("user_id", u.ID), slog.Any("error", err)}
			if u.IsSynthetic {
				attrs = append(attrs, slog.Bool("synthetic", true))
			}
			a.log.WarnContext(ctx, "chirp could not mail a sign-in code", attrs...)
			if err := a.cancelSignIn(ctx, s.Token); err != nil {
				return err
			}
			return render(w, http.StatusServiceUnavailable, "login", loginPage{Email: u.Email, Error: msgMailFailed})
		}
		next = "/login/code"
	}
	http.SetCookie(w, a.signInCookie(r, s.Token, int(SignInTTL.Seconds())))
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// signInCookie is the pending sign-in cookie with token, kept maxAge
// seconds (negative: deleted).
func (a *App) signInCookie(r *http.Request, token string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SignInCookie, Value: token, Path: "/login", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil}
}

// pendingToken returns the pending sign-in token of the request, or "".
func pendingToken(r *http.Request) string {
	c, err := r.Cookie(SignInCookie)
	if err != nil || len(c.Value) > 64 {
		return ""
	}
	return c.Value
}

// getStep shows a step's page to a browser with a pending sign-in.
func (a *App) getStep(st step) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if pendingToken(r) == "" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		return render(w, http.StatusOK, "step", stepPages[st])
	}
}

// postStep checks the code the user entered for a step.
func (a *App) postStep(st step) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		token := pendingToken(r)
		if token == "" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			return a.stepAgain(w, st, http.StatusBadRequest, "The form could not be read; try again.")
		}
		code, ok := readCode(r.PostForm.Get("code"))
		if !ok {
			return a.stepAgain(w, st, http.StatusUnprocessableEntity, msgCodeFormat)
		}
		enter := a.enterCode
		if st == stepTOTP {
			enter = a.enterTOTP
		}
		p, err := enter(r.Context(), token, code)
		return a.stepOutcome(w, r, st, token, p, err)
	}
}

// readCode reads a 6-digit code as people type it (spaces and dashes
// allowed between digits).
func readCode(s string) (string, bool) {
	if len(s) > 32 {
		return "", false
	}
	code := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
	if len(code) != codeDigits || strings.Trim(code, "0123456789") != "" {
		return "", false
	}
	return code, true
}

// stepOutcome answers a step: the next step, the session when all are
// done, the same page after a wrong code, or the sign-in page when the
// pending sign-in cannot go on.
func (a *App) stepOutcome(w http.ResponseWriter, r *http.Request, st step, token string, p pendingSignIn, err error) error {
	switch {
	case err == nil, errors.Is(err, errStepDone):
		return a.nextStep(w, r, token, p)
	case errors.Is(err, errCodeFirst):
		http.Redirect(w, r, "/login/code", http.StatusSeeOther)
		return nil
	case errors.Is(err, errWrongCode):
		return a.stepAgain(w, st, http.StatusUnauthorized, stepPages[st].Wrong)
	case errors.Is(err, errTooManyTries):
		return a.signInAgain(w, r, http.StatusUnauthorized, msgTooManyTries)
	case errors.Is(err, errSignInExpired) && p.CodeHash != nil:
		return a.signInAgain(w, r, http.StatusUnauthorized, msgCodeExpired)
	case errors.Is(err, errSignInExpired), errors.Is(err, errSignInGone):
		return a.signInAgain(w, r, http.StatusUnauthorized, msgSignInGone)
	}
	return err
}

// nextStep sends the browser to the step still due, or signs it in.
func (a *App) nextStep(w http.ResponseWriter, r *http.Request, token string, p pendingSignIn) error {
	switch {
	case p.CodeHash != nil:
		http.Redirect(w, r, "/login/code", http.StatusSeeOther)
		return nil
	case p.NeedsTOTP:
		http.Redirect(w, r, "/login/totp", http.StatusSeeOther)
		return nil
	}
	session, err := a.finishSignIn(r.Context(), token)
	if errors.Is(err, errSignInGone) {
		return a.signInAgain(w, r, http.StatusUnauthorized, msgSignInGone)
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, a.signInCookie(r, "", -1))
	a.setSession(w, r, session)
	return nil
}

// stepAgain shows a step's page again, with what was wrong.
func (a *App) stepAgain(w http.ResponseWriter, st step, status int, msg string) error {
	p := stepPages[st]
	p.Error = msg
	return render(w, status, "step", p)
}

// signInAgain drops the pending sign-in cookie and shows the sign-in page
// with msg.
func (a *App) signInAgain(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	http.SetCookie(w, a.signInCookie(r, "", -1))
	return render(w, status, "login", loginPage{Error: msg})
}

// getLink signs in with a mailed magic link: once, within SignInTTL. A
// user with an authenticator still enters its code.
func (a *App) getLink(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if token == "" || len(token) > 64 {
		return a.signInAgain(w, r, http.StatusBadRequest, msgLinkGone)
	}
	p, err := a.useLink(r.Context(), token)
	switch {
	case errors.Is(err, errSignInGone):
		return a.signInAgain(w, r, http.StatusGone, msgLinkGone)
	case errors.Is(err, errSignInExpired):
		return a.signInAgain(w, r, http.StatusGone, msgLinkExpired)
	case err != nil:
		return err
	case !p.NeedsTOTP:
		http.SetCookie(w, a.signInCookie(r, "", -1))
		return a.signedIn(w, r, p.UserID)
	}
	s, err := a.openSignIn(r.Context(), p.UserID, false, true)
	if err != nil {
		return err
	}
	http.SetCookie(w, a.signInCookie(r, s.Token, int(SignInTTL.Seconds())))
	http.Redirect(w, r, "/login/totp", http.StatusSeeOther)
	return nil
}
