package console

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/snapshot"
)

// accountList shows the accounts, 50 a page, filtered by environment,
// role and status, paged by keyset (?after=); or, with ?q=, the accounts
// whose id is q or whose email or username starts with it (retired ones
// too), at most accounts.MaxSearch.
func (c *Console) accountList(w http.ResponseWriter, r *http.Request, s session) {
	q := r.URL.Query()
	f := rowFilter{Environment: q.Get("environment"), Role: q.Get("role"), Status: accounts.Status(q.Get("status"))}
	search := strings.TrimSpace(q.Get("q"))
	var err error
	if f.Status != "" && !slices.Contains(accounts.Statuses(), f.Status) {
		err = understudy.Invalid("invalid filter", understudy.FieldError{Field: "status", Detail: "is not a status"})
	}
	if err == nil {
		f.After, err = accounts.ParsePageCursor(q.Get("after"))
	}
	var rows []row
	var found []accounts.Account
	var next string
	switch {
	case err != nil:
	case search != "":
		found, err = c.cfg.Accounts.Search(r.Context(), search)
	default:
		rows, next, err = c.rows(r.Context(), f)
	}
	var envs []accounts.Environment
	var roles []string
	if err == nil {
		envs, roles, err = c.rolePicks(r.Context(), f.Environment)
		if f.Role != "" && !slices.Contains(roles, f.Role) {
			roles = append(roles, f.Role) // the filter in force shows, even when no such role is left
		}
	}
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Accounts", "accounts")
	p.Data = struct {
		Filter       rowFilter
		Search       string
		Found        []accounts.Account
		Rows         []row
		Next         string
		Paged        bool
		Environments []accounts.Environment
		Roles        []string
		Statuses     []accounts.Status
		MaxSearch    int
	}{f, search, found, rows, next, q.Get("after") != "", envs, roles, accounts.Statuses(), accounts.MaxSearch}
	c.render(w, r, http.StatusOK, "accounts", p)
}

// rolePicks returns the environments and the role names to pick from: the
// roles of env, or of every environment when env is "" (each name once).
func (c *Console) rolePicks(ctx context.Context, env string) ([]accounts.Environment, []string, error) {
	envs, err := c.cfg.Accounts.ListEnvironments(ctx)
	if err != nil {
		return nil, nil, err
	}
	var roles []string
	for _, e := range envs {
		if env != "" && e.Name != env {
			continue
		}
		list, err := c.cfg.Accounts.ListRoles(ctx, e.Name)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range list {
			if !slices.Contains(roles, r.Name) {
				roles = append(roles, r.Name)
			}
		}
	}
	slices.Sort(roles)
	return envs, roles, nil
}

// accountView is one account as its page shows it. Its password is never
// part of it; it is read only by the copy-password action.
type accountView struct {
	Account   accounts.Account
	Refs      []appRef
	Snapshots []snapshot.Snapshot
	States    []string
	Reset     snapshot.Reset
	HasReset  bool
	Lease     *lease.Lease
	// Violations are the account's open isolation violations.
	Violations []isolation.Violation
	// Version is the account as it was shown (its last change), so an
	// action confirmed on it can tell that it changed meanwhile.
	Version string
	// CanReset, CanRetire and CanCopy say which actions the page offers:
	// none on a retired account; Copy password to an admin, and to a
	// runner only on an account its token holds an open lease on.
	CanReset, CanRetire, CanCopy bool
	// Replacement is the active account of a retired account's slot.
	Replacement *accounts.Account
	// Messages are the newest messages of the account's inbox; Bodies
	// says they carry their codes and links, and link to their pages
	// (an admin's session). Any other session gets the sender, the
	// subject with its codes redacted, and the time.
	Messages []inbox.Message
	Bodies   bool
}

// Mail is the account's inbox, as the template "inbox" lists it.
func (v accountView) Mail() mailList { return mailList{v.Account.ID, v.Messages, v.Bodies} }

// appRef is the account's ref in one app.
type appRef struct{ App, Ref string }

// account shows one account.
func (c *Console) account(w http.ResponseWriter, r *http.Request, s session) {
	c.showAccount(w, r, s, r.PathValue("id"), http.StatusOK, doneFlash(r))
}

// showAccount renders the account page with status and a flash message:
// the page itself, or the outcome of an action on it.
func (c *Console) showAccount(w http.ResponseWriter, r *http.Request, s session, id string, status int, fl *flash) {
	p := pageFor(s, "", "accounts")
	v, err := c.accountView(r.Context(), id, p)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p.Title = "Account " + v.Account.Role + " #" + itoa(v.Account.Slot)
	p.Flash, p.Data = fl, v
	c.render(w, r, status, "account", p)
}

// accountView reads everything the account page shows to the session of p.
func (c *Console) accountView(ctx context.Context, id string, p *page) (accountView, error) {
	a, err := c.cfg.Accounts.GetAccount(ctx, id)
	if err != nil {
		return accountView{}, err
	}
	v := accountView{Account: a, Version: a.UpdatedAt.UTC().Format(time.RFC3339Nano)}
	if a.Status == accounts.StatusRetired {
		r, ok, err := c.cfg.Accounts.Replacement(ctx, a.ID)
		if err != nil {
			return v, err
		}
		if ok {
			v.Replacement = &r
		}
	} else {
		v.CanReset, v.CanRetire = p.Can("reset"), p.Can("retire")
		if v.CanCopy, err = c.canCopy(ctx, p, a.ID); err != nil {
			return v, err
		}
	}
	refs, err := c.cfg.Apps.RefNames(ctx, a.ID)
	if err != nil {
		return v, err
	}
	for _, app := range slices.Sorted(maps.Keys(refs)) {
		v.Refs = append(v.Refs, appRef{app, refs[app]})
	}
	if v.Snapshots, err = c.cfg.Snapshots.List(ctx, a.ID, ""); err != nil {
		return v, err
	}
	for _, sn := range v.Snapshots {
		if !slices.Contains(v.States, sn.State) {
			v.States = append(v.States, sn.State)
		}
	}
	if v.Reset, v.HasReset, err = c.cfg.Snapshots.LastReset(ctx, a.ID); err != nil {
		return v, err
	}
	if v.Lease, err = c.openLease(ctx, a); err != nil {
		return v, err
	}
	v.Bodies = p.Can("message")
	if v.Messages, err = c.inboxOf(ctx, a.ID, v.Bodies); err != nil {
		return v, err
	}
	open := true
	v.Violations, err = c.cfg.Isolation.ListViolations(ctx, isolation.ViolationFilter{AccountID: a.ID, Open: &open})
	return v, err
}

// openLease returns the account's open lease, or nil.
func (c *Console) openLease(ctx context.Context, a accounts.Account) (*lease.Lease, error) {
	list, err := c.cfg.Leases.List(ctx, a.Environment, a.Role, false)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].AccountID == a.ID {
			return &list[i], nil
		}
	}
	return nil, nil
}

// accountDiff is the fragment that compares the account's state now, in
// each app, with its baseline: the account page loads it after itself, as
// asking the apps takes longer than the page.
func (c *Console) accountDiff(w http.ResponseWriter, r *http.Request, s session) {
	if !s.Scope.Allows(needs["compare"]) {
		c.refuse(w, r, &s, "comparing an account's state with its baseline shows the apps' data: it needs scope admin, as the REST API's snapshot diff does")
		return
	}
	diffs, err := c.cfg.Snapshots.Compare(r.Context(), r.PathValue("id"), "")
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Difference from the baseline", "accounts")
	p.Data = diffs
	c.render(w, r, http.StatusOK, "fragment-diff", p)
}

// canCopy reports whether the session of p may read the password of the
// account with id: an admin may; a runner only while its token holds an
// open lease on it (lease.Service.Holds, the check Credentials makes).
func (c *Console) canCopy(ctx context.Context, p *page, id string) (bool, error) {
	switch {
	case !p.Can("password"):
		return false, nil
	case p.Session.Scope.Allows(access.ScopeAdmin):
		return true, nil
	}
	return c.cfg.Leases.Holds(ctx, id)
}

// copyPassword is the confirmed "Copy password…": it reads the account's
// password for an admin, or for a runner whose token holds an open lease
// on the account, through the same check and audit
// (account.read_credentials, or account.read_credentials_denied) as the
// REST API's credentials call, and shows it in a masked read-only field
// with a Copy button, which the page presses by itself where the browser
// lets it. A retired account's password is not read.
func (c *Console) copyPassword(w http.ResponseWriter, r *http.Request, s session) {
	id := r.PostFormValue("account")
	a, err := c.cfg.Accounts.GetAccount(r.Context(), id)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	if a.Status == accounts.StatusRetired {
		c.showAccount(w, r, s, a.ID, understudy.ErrorStatusCode(understudy.ECONFLICT), retiredFlash)
		return
	}
	cr, err := c.cfg.Leases.Credentials(r.Context(), a.ID)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Password of "+a.Environment+"/"+a.Role+" #"+itoa(a.Slot), "accounts")
	p.Data = cr
	c.render(w, r, http.StatusOK, "password", p)
}

// retiredFlash says why a retired account offers no action.
var retiredFlash = &flash{Kind: "warn", Text: "Nothing was done: this account is retired. A retired account cannot be reset, " +
	"retired again or have its password read; its slot has a new account."}
