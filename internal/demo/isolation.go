package demo

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/isolation/client"
	"github.com/understudy-dev/understudy/openapi"
)

// newIsolation returns the isolation client chirp reads environment env's
// signed list with, through an app token, not yet started: the list is
// loaded once the accounts exist (showIsolation).
func newIsolation(ctx context.Context, run *cleanup, srv Server, env string) (*client.Client, error) {
	_, tok, err := access.NewTokens(srv.Pool).Create(access.WithCaller(ctx, access.Caller{Actor: "demo"}),
		"demo-chirp-"+strconv.FormatInt(time.Now().UnixNano(), 10), access.ScopeApp)
	if err != nil {
		return nil, err
	}
	// The client calls the demo's own server, in this process: cleartext
	// is allowed even when --addr listens beyond loopback.
	iso, err := client.New(client.Config{BaseURL: "http://" + srv.Addr, Token: tok, Environment: env,
		ControlledDomains: srv.EmailDomains, AllowCleartext: true})
	if err != nil {
		return nil, err
	}
	run.stops = append(run.stops, func(context.Context) error { return iso.Close() })
	return iso, nil
}

// showIsolation sets the production roles' leaderboards to testers_only,
// gives two real users and the two testers points, loads the signed list
// and shows chirp's leaderboard as a real user and as a tester see it.
func (d *session) showIsolation(ctx context.Context, app *chirp.App, iso *client.Client) error {
	policy := openapi.IsolationPolicy{"leaderboards": openapi.TestersOnly}
	for _, role := range roles {
		r, err := d.c.UpdateRoleWithResponse(ctx, "production", role, openapi.RoleUpdate{IsolationPolicy: &policy})
		if err := errorOf("setting the isolation policy of "+role, statusOf(r), bodyOf(r), err); err != nil {
			return err
		}
	}
	buyer, seller, err := d.chirpRefs(ctx, "production")
	if err != nil {
		return err
	}
	var realUser int64
	for i, name := range []string{"rosa", "ravi"} {
		u, err := app.CreateUser(ctx, chirp.NewUser{Username: name, Email: name + "@example.com", DisplayName: name})
		if err != nil {
			return fmt.Errorf("creating real chirp user %s: %w", name, err)
		}
		realUser = cmp.Or(realUser, u.ID)
		if err := app.AddPoints(ctx, u.ID, int64(50-10*i)); err != nil {
			return err
		}
	}
	for i, id := range []int64{buyer, seller} {
		if err := app.AddPoints(ctx, id, int64(500-200*i)); err != nil {
			return err
		}
	}
	if err := iso.Start(ctx); err != nil {
		return err
	}
	st := iso.Stats()
	fmt.Fprintf(d.out, "\nIsolation: production's buyer and seller set leaderboards=testers_only; chirp holds the signed list (%d synthetic accounts, degraded %v)\n",
		st.Identities, iso.Degraded())
	for _, v := range []struct {
		label string
		id    int64
	}{{"a real user (rosa)", realUser}, {"the synthetic buyer", buyer}} {
		if err := d.showLeaderboard(ctx, app, v.label, v.id); err != nil {
			return err
		}
	}
	return nil
}

// showLeaderboard prints the leaderboard as viewer sees it, and how many
// synthetic users are on it.
func (d *session) showLeaderboard(ctx context.Context, app *chirp.App, label string, viewer int64) error {
	board, err := app.Leaderboard(ctx, viewer, 10)
	if err != nil {
		return fmt.Errorf("reading chirp's leaderboard: %w", err)
	}
	var cells []string
	synthetic := 0
	for _, e := range board {
		u, err := app.GetUser(ctx, e.UserID)
		if err != nil {
			return err
		}
		if u.IsSynthetic {
			synthetic++
		}
		cells = append(cells, fmt.Sprintf("#%d %s %d", e.Rank, e.Username, e.Points))
	}
	summary := fmt.Sprintf("%d synthetic of %d", synthetic, len(board))
	if synthetic == len(board) && synthetic > 0 {
		summary += ": testers only"
	}
	fmt.Fprintf(d.out, "  leaderboard as %s: %s (%s)\n", label, strings.Join(cells, ", "), summary)
	return nil
}

// auditIsolation runs an isolation audit of production, as the periodic
// audit would, and prints how many surfaces chirp was asked about and what
// was found.
func (d *session) auditIsolation(ctx context.Context) error {
	r, err := d.c.RunIsolationAuditWithResponse(ctx, openapi.IsolationAuditRequest{Environment: "production"})
	if err := errorOf("auditing production's isolation", statusOf(r), bodyOf(r), err); err != nil {
		return err
	}
	rep := r.JSON200
	apps := map[string]bool{}
	checked, notShown, violations := 0, 0, 0
	for _, s := range rep.Results {
		apps[s.App] = true
		violations += s.Violations
		switch s.Status {
		case openapi.IsolationSurfaceResultStatusClean, openapi.IsolationSurfaceResultStatusViolations:
			checked++
		case openapi.IsolationSurfaceResultStatusNotShown:
			notShown++
		}
	}
	fmt.Fprintf(d.out, "\nisolation audit of production: %d surfaces of %d app checked (%d not shown), %d violations, %d failed\n",
		checked, len(apps), notShown, violations, rep.Failed)
	return nil
}
