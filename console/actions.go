package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/snapshot"
	"github.com/understudy-dev/understudy/tagging"
)

// confirmation is what the confirmation page of an action asks.
type confirmation struct {
	Action   string
	Question string
	Detail   string
	Button   string
	// Fields are the hidden fields the action's form posts.
	Fields map[string]string
	Back   string
}

// confirm is the first step of every action: a page that says what the
// action will do, with the form that does it and a way back.
func (c *Console) confirm(w http.ResponseWriter, r *http.Request, s session) {
	action := r.PathValue("action")
	p := pageFor(s, "Confirm", "")
	if !p.Can(action) {
		c.refuse(w, r, &s, "Token "+s.TokenName+" has scope "+string(s.Scope)+", which does not allow this action.")
		return
	}
	cf, err := c.confirmation(r, action)
	if errors.Is(err, errRetired) {
		c.showAccount(w, r, s, r.URL.Query().Get("account"), understudy.ErrorStatusCode(understudy.ECONFLICT), retiredFlash)
		return
	}
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p.Title, p.Data = cf.Question, cf
	c.render(w, r, http.StatusOK, "confirm", p)
}

// errRetired is the confirmation of an account action on a retired account.
var errRetired = errors.New("the account is retired")

// confirmation describes action on what the query names.
func (c *Console) confirmation(r *http.Request, action string) (confirmation, error) {
	ctx, q := r.Context(), r.URL.Query()
	switch action {
	case "reset", "retire", "password":
		a, err := c.cfg.Accounts.GetAccount(ctx, q.Get("account"))
		if err != nil {
			return confirmation{}, err
		}
		if a.Status == accounts.StatusRetired {
			return confirmation{}, errRetired
		}
		who := a.Environment + "/" + a.Role + " #" + itoa(a.Slot) + " (" + a.Identity.Email + ")"
		cf := confirmation{Action: action, Back: Prefix + "accounts/" + a.ID,
			Fields: map[string]string{"account": a.ID, "version": a.UpdatedAt.UTC().Format(time.RFC3339Nano)}}
		switch action {
		case "reset":
			return c.resetConfirmation(ctx, cf, a, who, q.Get("state"))
		case "password":
			cf.Question, cf.Button = "Show and copy the password of "+who+"?", "Show and copy password"
			cf.Detail = "The password is shown in a masked field and copied to the clipboard (or selected, where the browser does not let a page copy). " +
				"The read is audited as account.read_credentials under your token's name."
			delete(cf.Fields, "version")
			return cf, nil
		}
		cf.Question, cf.Button = "Retire "+who+"?", "Retire account"
		cf.Detail = "The account is retired for good (its history stays); its slot gets a new account, provisioned in every app."
		return cf, nil
	case "release":
		l, err := c.cfg.Leases.Get(ctx, q.Get("lease"))
		if err != nil {
			return confirmation{}, err
		}
		return confirmation{Action: action, Question: "Release the lease of " + l.Environment + "/" + l.Role + " held by " + l.Holder + "?",
			Detail: "The test run holding it loses the account; the account is free for the next lease.", Button: "Release lease",
			Fields: map[string]string{"lease": l.ID}, Back: Prefix + "leases"}, nil
	case "sync":
		d, err := c.cfg.Destinations.Get(ctx, q.Get("environment"), q.Get("destination"))
		if err != nil {
			return confirmation{}, err
		}
		return confirmation{Action: action, Question: "Sync " + d.Environment + "'s exclusion list to " + d.Name + " (" + d.Kind + ") now?",
			Detail: "The difference between the list and what " + d.Name + " last received is sent now.", Button: "Sync now",
			Fields: map[string]string{"environment": d.Environment, "destination": d.Name}, Back: Prefix + "sync"}, nil
	case "audit":
		e, err := c.cfg.Accounts.GetEnvironment(ctx, q.Get("environment"))
		if err != nil {
			return confirmation{}, err
		}
		return confirmation{Action: action, Question: "Audit the isolation of " + e.Name + " now?",
			Detail: "Every app of the environment is asked, surface by surface, who a real viewer sees; violations open and close.",
			Button: "Run audit", Fields: map[string]string{"environment": e.Name}, Back: Prefix + "isolation"}, nil
	}
	return confirmation{}, understudy.Errorf(understudy.ENOTFOUND, "The console has no action %q.", action)
}

// resetConfirmation asks to reset account a to its baseline, or to the
// named state, which must be one the account has a snapshot of.
func (c *Console) resetConfirmation(ctx context.Context, cf confirmation, a accounts.Account, who, state string) (confirmation, error) {
	cf.Button = "Reset account"
	if state == "" || state == snapshot.Baseline {
		cf.Question = "Reset " + who + "?"
		cf.Detail = "Every app of the account is restored to its baseline, then checked by hash. A failed reset marks the account failed."
		return cf, nil
	}
	if !snapshot.ValidStateName(state) {
		return cf, understudy.Invalid("invalid state", understudy.FieldError{Field: "state", Detail: "must be a state name such as initial or with-cart"})
	}
	snaps, err := c.cfg.Snapshots.List(ctx, a.ID, state)
	if err != nil {
		return cf, err
	}
	if len(snaps) == 0 {
		return cf, understudy.Invalid("invalid state", understudy.FieldError{Field: "state",
			Detail: "the account has no snapshot of state " + state + ": capture it first (understudy snapshots capture " + a.ID + " " + state + ")"})
	}
	cf.Fields["state"] = state
	cf.Question, cf.Button = "Reset "+who+" to state "+state+"?", "Reset to "+state
	cf.Detail = "Every app of the account is restored to its state " + state + ", then checked by hash. A failed reset marks the account failed."
	return cf, nil
}

// act is the second step of every action: the confirmed POST. It calls
// the same service method as the REST API, as the session's token. A
// success goes back to the page with a message; an action on something
// that changed meanwhile shows the page as it is now, with a message
// saying what happened instead (409), never an error page.
func (c *Console) act(w http.ResponseWriter, r *http.Request, s session) {
	action := r.PathValue("action")
	if !pageFor(s, "", "").Can(action) {
		c.refuse(w, r, &s, "Token "+s.TokenName+" has scope "+string(s.Scope)+", which does not allow this action.")
		return
	}
	switch action {
	case "reset", "retire":
		c.actOnAccount(w, r, s, action)
	case "password":
		c.copyPassword(w, r, s)
	case "release":
		c.release(w, r, s)
	case "sync":
		env, dest := r.PostFormValue("environment"), r.PostFormValue("destination")
		if _, err := c.cfg.Destinations.Sync(r.Context(), env, dest, tagging.SyncOptions{}); err != nil {
			c.showSync(w, r, s, understudy.ErrorStatusCode(understudy.ErrorCode(err)), outcome(err))
			return
		}
		done(w, r, Prefix+"sync", action)
	case "audit":
		if _, err := c.cfg.Isolation.Audit(r.Context(), r.PostFormValue("environment")); err != nil {
			c.showIsolation(w, r, s, understudy.ErrorStatusCode(understudy.ErrorCode(err)), outcome(err))
			return
		}
		done(w, r, Prefix+"isolation", action)
	default:
		c.notFound(w, r)
	}
}

// actOnAccount resets or retires an account, unless it changed since its
// confirmation was shown.
func (c *Console) actOnAccount(w http.ResponseWriter, r *http.Request, s session, action string) {
	id := r.PostFormValue("account")
	a, err := c.cfg.Accounts.GetAccount(r.Context(), id)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	if a.UpdatedAt.UTC().Format(time.RFC3339Nano) != r.PostFormValue("version") || a.Status == accounts.StatusRetired {
		c.showAccount(w, r, s, a.ID, understudy.ErrorStatusCode(understudy.ECONFLICT), &flash{Kind: "warn", Text: "Nothing was done: this account changed " +
			"since you asked (it is " + string(a.Status) + " now, changed " + since(c.cfg.Now(), a.UpdatedAt) + "). Check it below and try again if you still want to."})
		return
	}
	state := r.PostFormValue("state")
	if action == "reset" {
		_, err = c.cfg.Snapshots.Reset(r.Context(), a.ID, state)
	} else {
		_, err = c.cfg.Accounts.RetireAccount(r.Context(), a.ID)
	}
	if err != nil {
		fl := outcome(err)
		if action == "reset" {
			// A reset that reached the apps and failed there (refused, down,
			// or broke its contract) failed the account: say so, with why.
			if now, gerr := c.cfg.Accounts.GetAccount(r.Context(), a.ID); gerr == nil && now.Status == accounts.StatusFailed && now.UpdatedAt.After(a.UpdatedAt) {
				fl = &flash{Kind: "error", Text: "The reset failed, and the account is now failed: " + now.StatusReason}
			}
		}
		c.showAccount(w, r, s, a.ID, understudy.ErrorStatusCode(understudy.ErrorCode(err)), fl)
		return
	}
	if action == "reset" && state != "" && state != snapshot.Baseline {
		http.Redirect(w, r, Prefix+"accounts/"+a.ID+"?"+url.Values{"done": {"reset"}, "state": {state}}.Encode(), http.StatusSeeOther)
		return
	}
	done(w, r, Prefix+"accounts/"+a.ID, action)
}

// release releases a lease, unless it ended meanwhile.
func (c *Console) release(w http.ResponseWriter, r *http.Request, s session) {
	l, err := c.cfg.Leases.Get(r.Context(), r.PostFormValue("lease"))
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	if l.Status != lease.Active && l.Status != lease.Acquiring {
		c.showLeases(w, r, s, "leases", understudy.ErrorStatusCode(understudy.ECONFLICT), &flash{Kind: "warn",
			Text: "Nothing was done: the lease of " + l.Environment + "/" + l.Role + " held by " + l.Holder + " is " + string(l.Status) + " already (" + l.StatusReason + ")."})
		return
	}
	if _, err := c.cfg.Leases.Release(r.Context(), l.ID, false); err != nil {
		c.showLeases(w, r, s, "leases", understudy.ErrorStatusCode(understudy.ErrorCode(err)), outcome(err))
		return
	}
	done(w, r, Prefix+"leases", "release")
}

// outcome is the message of an action that did not happen.
func outcome(err error) *flash {
	kind := "error"
	if understudy.ErrorCode(err) == understudy.ECONFLICT {
		kind = "warn"
	}
	msg := understudy.ErrorMessage(err)
	if understudy.ErrorCode(err) == understudy.EINTERNAL {
		msg = "the server failed to do it; the error was logged"
	}
	return &flash{Kind: kind, Text: "Nothing was done: " + msg}
}

// doneText is the message shown after each action succeeded.
var doneText = map[string]string{
	"reset":   "The account was reset to its baseline and verified in every app.",
	"retire":  "The account was retired; its slot has a new account.",
	"release": "The lease was released; its account is free.",
	"sync":    "The sync ran: its outcome is the newest run of the destination below.",
	"audit":   "The isolation audit ran: its outcome is below.",
}

// done sends the browser back to page after action succeeded (POST, then
// redirect, then GET: a reload does not repeat the action).
func done(w http.ResponseWriter, r *http.Request, page, action string) {
	http.Redirect(w, r, page+"?"+url.Values{"done": {action}}.Encode(), http.StatusSeeOther)
}

// doneFlash is the message of ?done=, if any.
func doneFlash(r *http.Request) *flash {
	q := r.URL.Query()
	if st := q.Get("state"); q.Get("done") == "reset" && st != "" && snapshot.ValidStateName(st) {
		return &flash{Kind: "ok", Text: "The account was reset to state " + st + " and verified in every app."}
	}
	if t, ok := doneText[q.Get("done")]; ok {
		return &flash{Kind: "ok", Text: t}
	}
	return nil
}
