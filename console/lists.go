package console

import (
	"context"
	"time"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/snapshot"
)

// The lists of many accounts at once (each with its open lease and last
// reset), put together from the read models of the tables' owners: a page
// of accounts (accounts.Pages), then the open leases (lease.Service.OpenOn)
// and last resets (snapshot.Service.LastResets) of that page's accounts.
// The console holds no SQL but its sessions'.

// row is one account as the accounts table shows it.
type row struct {
	accounts.PageRow
	// LeaseID, Holder and Expires describe the open lease, if any.
	LeaseID, Holder string
	Expires         *time.Time
	// Reset is the last reset; Reset.StartedAt is zero when there was none.
	Reset snapshot.Reset
}

// rowFilter narrows the accounts table; zero fields match everything, and
// retired accounts show only when Status asks for them.
type rowFilter = accounts.PageFilter

// rows returns a page of the accounts table and the cursor of the next
// page ("" on the last page).
func (c *Console) rows(ctx context.Context, f rowFilter) ([]row, string, error) {
	page, next, err := c.pages.Page(ctx, f)
	if err != nil || len(page) == 0 {
		return nil, next, err
	}
	ids := make([]string, len(page))
	for i, a := range page {
		ids[i] = a.ID
	}
	open, err := c.cfg.Leases.OpenOn(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	resets, err := c.cfg.Snapshots.LastResets(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]row, len(page))
	for i, a := range page {
		out[i] = row{PageRow: a, Reset: resets[a.ID]}
		if l, ok := open[a.ID]; ok {
			out[i].LeaseID, out[i].Holder, out[i].Expires = l.ID, l.Holder, &l.ExpiresAt
		}
	}
	return out, next, nil
}

// failingByApp maps "environment/app" to its count of failed accounts
// whose last reset failed in that app: the app's health as the resets see
// it.
func (c *Console) failingByApp(ctx context.Context) (map[string]int, error) {
	failed, err := c.pages.WithStatus(ctx, accounts.StatusFailed)
	if err != nil || len(failed) == 0 {
		return map[string]int{}, err
	}
	ids := make([]string, len(failed))
	for i, a := range failed {
		ids[i] = a.ID
	}
	resets, err := c.cfg.Snapshots.LastResets(ctx, ids)
	out := map[string]int{}
	for _, a := range failed {
		if r, ok := resets[a.ID]; ok && !r.OK {
			out[a.Environment+"/"+r.FailedApp]++
		}
	}
	return out, err
}
