package console

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/snapshot"
)

// accountList shows the accounts, 50 a page, filtered by environment,
// role and status, paged by keyset (?after=).
func (c *Console) accountList(w http.ResponseWriter, r *http.Request, s session) {
	q := r.URL.Query()
	f := rowFilter{Environment: q.Get("environment"), Role: q.Get("role"), Status: accounts.Status(q.Get("status"))}
	var err error
	if f.Status != "" && !slices.Contains(accounts.Statuses(), f.Status) {
		err = understudy.Invalid("invalid filter", understudy.FieldError{Field: "status", Detail: "is not a status"})
	}
	if err == nil {
		f.After, err = decodeCursor(q.Get("after"))
	}
	var rows []row
	var next string
	if err == nil {
		rows, next, err = c.rows(r.Context(), f)
	}
	var envs []accounts.Environment
	if err == nil {
		envs, err = c.cfg.Accounts.ListEnvironments(r.Context())
	}
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Accounts", "accounts")
	p.Data = struct {
		Filter       rowFilter
		Rows         []row
		Next         string
		Paged        bool
		Environments []accounts.Environment
		Statuses     []accounts.Status
	}{f, rows, next, q.Get("after") != "", envs, accounts.Statuses()}
	c.render(w, r, http.StatusOK, "accounts", p)
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
}

// appRef is the account's ref in one app.
type appRef struct{ App, Ref string }

// account shows one account.
func (c *Console) account(w http.ResponseWriter, r *http.Request, s session) {
	c.showAccount(w, r, s, r.PathValue("id"), http.StatusOK, doneFlash(r))
}

// showAccount renders the account page with status and a flash message:
// the page itself, or the outcome of an action on it.
func (c *Console) showAccount(w http.ResponseWriter, r *http.Request, s session, id string, status int, fl *flash) {
	v, err := c.accountView(r.Context(), id)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Account "+v.Account.Role+" #"+itoa(v.Account.Slot), "accounts")
	p.Flash, p.Data = fl, v
	c.render(w, r, status, "account", p)
}

// accountView reads everything the account page shows.
func (c *Console) accountView(ctx context.Context, id string) (accountView, error) {
	a, err := c.cfg.Accounts.GetAccount(ctx, id)
	if err != nil {
		return accountView{}, err
	}
	v := accountView{Account: a, Version: a.UpdatedAt.UTC().Format(time.RFC3339Nano)}
	refs, err := c.cfg.Accounts.RefNames(ctx, a.ID)
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
	diffs, err := c.cfg.Snapshots.Compare(r.Context(), r.PathValue("id"), "")
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Difference from the baseline", "accounts")
	p.Data = diffs
	c.render(w, r, http.StatusOK, "fragment-diff", p)
}

// copyPassword reads the account's password for an admin, or for a runner
// whose token holds an open lease on the account, through the same check
// and audit (account.read_credentials, or account.read_credentials_denied)
// as the REST API's credentials call. It answers a fragment with the
// password in a masked read-only field and a copy button.
func (c *Console) copyPassword(w http.ResponseWriter, r *http.Request, s session) {
	p := pageFor(s, "Password", "accounts")
	if !p.Can("password") {
		c.refuse(w, r, &s, "Token "+s.TokenName+" has scope "+string(s.Scope)+"; reading a password needs scope runner or admin.")
		return
	}
	cr, err := c.cfg.Leases.Credentials(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p.Data = cr
	if r.Header.Get("HX-Request") == "" {
		c.render(w, r, http.StatusOK, "password", p)
		return
	}
	c.render(w, r, http.StatusOK, "fragment-password", p)
}
