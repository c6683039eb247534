package console

import (
	"context"
	"net/http"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/tagging"
)

// envSummary is one environment as the overview shows it.
type envSummary struct {
	Env          accounts.Environment
	Apps         []appHealth
	Destinations []tagging.Destination
	Roles        []accounts.Role
	Counts       []statusCount
	// Open counts the open isolation violations.
	Open      int
	LastSync  *tagging.Run
	LastAudit *access.Event
}

// appHealth is an app with the number of failed accounts whose last reset
// failed in it.
type appHealth struct {
	apps.App
	Failing int
}

// statusCount is how many accounts have a status.
type statusCount struct {
	Status accounts.Status
	N      int
}

// overview shows every environment at a glance.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s session) {
	list, err := c.summaries(r.Context(), "")
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Overview", "overview")
	p.Flash = doneFlash(r)
	p.Data = list
	c.render(w, r, http.StatusOK, "overview", p)
}

// summaries gathers the overview of every environment (or of only, when
// it is not empty).
func (c *Console) summaries(ctx context.Context, only string) ([]envSummary, error) {
	envs, err := c.cfg.Accounts.ListEnvironments(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := c.pages.StatusCounts(ctx)
	if err != nil {
		return nil, err
	}
	failing, err := c.failingByApp(ctx)
	if err != nil {
		return nil, err
	}
	open, err := c.cfg.Isolation.OpenCounts(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := c.cfg.Destinations.Runs(ctx, only, "", 200)
	if err != nil {
		return nil, err
	}
	var out []envSummary
	for _, e := range envs {
		if only != "" && e.Name != only {
			continue
		}
		sum := envSummary{Env: e}
		for _, st := range accounts.Statuses() {
			if n := counts[e.Name][st]; n > 0 {
				sum.Counts = append(sum.Counts, statusCount{st, n})
			}
		}
		for _, o := range open {
			if o.Environment == e.Name {
				sum.Open += o.Open
			}
		}
		for i := range runs {
			if runs[i].Environment == e.Name {
				sum.LastSync = &runs[i]
				break
			}
		}
		if err := c.fillEnvironment(ctx, &sum, failing); err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	return out, nil
}

// fillEnvironment reads an environment's apps, destinations, roles and
// last isolation audit into sum.
func (c *Console) fillEnvironment(ctx context.Context, sum *envSummary, failing map[string]int) error {
	name := sum.Env.Name
	apps, err := c.cfg.Apps.List(ctx, name)
	if err != nil {
		return err
	}
	for _, a := range apps {
		sum.Apps = append(sum.Apps, appHealth{App: a, Failing: failing[name+"/"+a.Name]})
	}
	if sum.Destinations, err = c.cfg.Destinations.List(ctx, name); err != nil {
		return err
	}
	if sum.Roles, err = c.cfg.Accounts.ListRoles(ctx, name); err != nil {
		return err
	}
	audits, err := c.cfg.Audit.List(ctx, access.AuditFilter{Action: "isolation.audit", TargetType: "environment", TargetID: name, Limit: 1})
	if err != nil {
		return err
	}
	if len(audits) > 0 {
		sum.LastAudit = &audits[0]
	}
	return nil
}

// environment shows one environment: its domains, apps, destinations,
// roles (pool size and isolation policy) and its accounts.
func (c *Console) environment(w http.ResponseWriter, r *http.Request, s session) {
	name := r.PathValue("env")
	ctx := r.Context()
	if _, err := c.cfg.Accounts.GetEnvironment(ctx, name); err != nil {
		c.fail(w, r, &s, err)
		return
	}
	list, err := c.summaries(ctx, name)
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	if len(list) == 0 { // deleted meanwhile
		c.notFound(w, r)
		return
	}
	rows, next, err := c.rows(ctx, rowFilter{Environment: name})
	if err != nil {
		c.fail(w, r, &s, err)
		return
	}
	p := pageFor(s, "Environment "+name, "overview")
	p.Flash = doneFlash(r)
	p.Data = struct {
		Summary envSummary
		Rows    []row
		Next    string
	}{list[0], rows, next}
	c.render(w, r, http.StatusOK, "environment", p)
}
