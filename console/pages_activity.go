package console

import (
	"net/http"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/lease"
	"github.com/understudy-dev/understudy/tagging"
)

// leasesPage shows the open leases; the table refreshes itself every few
// seconds (leasesTable).
func (c *Console) leasesPage(w http.ResponseWriter, r *http.Request, s session) {
	c.showLeases(w, r, s, "leases", http.StatusOK, doneFlash(r))
}

// maxLeasesShown bounds the leases page, so that it stays quick with
// thousands of open leases; the CLI lists them all.
const maxLeasesShown = 100

// leasesTable is the leases page's table alone, for its refresh.
func (c *Console) leasesTable(w http.ResponseWriter, r *http.Request, s session) {
	c.showLeases(w, r, s, "fragment-leases", http.StatusOK, nil)
}

func (c *Console) showLeases(w http.ResponseWriter, r *http.Request, s session, name string, status int, fl *flash) {
	ctx, q := r.Context(), r.URL.Query()
	list, err := c.cfg.Leases.List(ctx, "", "", false)
	data := leasesData{Total: len(list), Filter: lease.HistoryFilter{Environment: q.Get("environment"), Role: q.Get("role"), After: q.Get("after")}}
	data.Leases = list[:min(len(list), maxLeasesShown)]
	if err == nil && name == "leases" {
		data.Paged = data.Filter.After != ""
		data.History, data.Next, err = c.cfg.Leases.History(ctx, data.Filter)
	}
	if err == nil && name == "leases" {
		data.Environments, data.Roles, err = c.rolePicks(ctx, data.Filter.Environment)
	}
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Leases", "leases")
	p.Flash = fl
	p.Data = data
	c.render(w, r, status, name, p)
}

// leasesData is what the leases page shows: the open leases (the newest
// maxLeasesShown of Total), and a page of the history of ended ones.
type leasesData struct {
	Leases []lease.Lease
	Total  int
	// Filter narrows the history; Next is the cursor of its next page, and
	// Paged says this is not its first.
	Filter  lease.HistoryFilter
	History []lease.Lease
	Next    string
	Paged   bool
	// Environments and Roles are what the history's filter picks from.
	Environments []accounts.Environment
	Roles        []string
}

// leasePage shows one lease: who holds (or held) it, with which token and
// Idempotency-Key, its account, when it was acquired, renewed and ended,
// and how it ended.
func (c *Console) leasePage(w http.ResponseWriter, r *http.Request, s session) {
	d, err := c.cfg.Leases.Detail(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Lease of "+d.Environment+"/"+d.Role+" by "+d.Holder, "leases")
	p.Data = d
	c.render(w, r, http.StatusOK, "lease", p)
}

// destinationRuns is a destination with its latest runs.
type destinationRuns struct {
	tagging.Destination
	Runs []tagging.Run
}

// syncPage shows each environment's exclusion list (version and size) and
// each destination's health and latest sync runs.
func (c *Console) syncPage(w http.ResponseWriter, r *http.Request, s session) {
	c.showSync(w, r, s, http.StatusOK, doneFlash(r))
}

func (c *Console) showSync(w http.ResponseWriter, r *http.Request, s session, status int, fl *flash) {
	ctx := r.Context()
	lists, err := c.cfg.Exclusions.Lists(ctx)
	var dests []destinationRuns
	for i := 0; err == nil && i < len(lists); i++ {
		var ds []tagging.Destination
		if ds, err = c.cfg.Destinations.List(ctx, lists[i].Environment); err != nil {
			break
		}
		for _, d := range ds {
			runs, rerr := c.cfg.Destinations.Runs(ctx, d.Environment, d.Name, 10)
			if err = rerr; err != nil {
				break
			}
			dests = append(dests, destinationRuns{d, runs})
		}
	}
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Analytics sync", "sync")
	p.Flash = fl
	p.Data = struct {
		Lists        []tagging.List
		Destinations []destinationRuns
	}{lists, dests}
	c.render(w, r, status, "sync", p)
}

// isolationPage shows the isolation violations (open by default, or
// closed, or all) and each environment's last audit.
func (c *Console) isolationPage(w http.ResponseWriter, r *http.Request, s session) {
	c.showIsolation(w, r, s, http.StatusOK, doneFlash(r))
}

func (c *Console) showIsolation(w http.ResponseWriter, r *http.Request, s session, status int, fl *flash) {
	ctx := r.Context()
	show := r.URL.Query().Get("show")
	f := isolation.ViolationFilter{Limit: 200}
	switch show {
	case "closed":
		f.Open = new(false)
	case "all":
	default:
		show, f.Open = "open", new(true)
	}
	vs, err := c.cfg.Isolation.ListViolations(ctx, f)
	var envs []accounts.Environment
	if err == nil {
		envs, err = c.cfg.Accounts.ListEnvironments(ctx)
	}
	audits := map[string]access.Event{}
	for i := 0; err == nil && i < len(envs); i++ {
		var last []access.Event
		last, err = c.cfg.Audit.List(ctx, access.AuditFilter{Action: "isolation.audit", TargetType: "environment", TargetID: envs[i].Name, Limit: 1})
		if len(last) > 0 {
			audits[envs[i].Name] = last[0]
		}
	}
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Isolation", "isolation")
	p.Flash = fl
	p.Data = struct {
		Show         string
		Violations   []isolation.Violation
		Environments []accounts.Environment
		Audits       map[string]access.Event
	}{show, vs, envs, audits}
	c.render(w, r, status, "isolation", p)
}
