package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/understudy-dev/understudy/bench/internal/stack"
	"github.com/understudy-dev/understudy/isolation/client"
)

// measure sets up a scratch stack (database, tokens, server, fixture;
// the check is measured with an app token, as an app in production holds),
// runs the check and sql phases and returns the report. Whatever it set up
// is torn down before it returns, also when it fails or ctx is canceled.
func measure(ctx context.Context, cfg Config, progress io.Writer) (rep Report, err error) {
	db, drop, err := stack.OpenScratch(ctx, "isolation", cfg.Bin, cfg.DatabaseURL, progress)
	if err != nil {
		return Report{}, err
	}
	defer drop(&err)
	toks, err := stack.Prepare(ctx, cfg.Bin, db.URL)
	if err != nil {
		return Report{}, err
	}
	app, err := stack.CreateToken(ctx, cfg.Bin, db.URL, "bench-app", "app")
	if err != nil {
		return Report{}, err
	}
	srv, err := stack.StartServer(ctx, cfg.Bin, db.URL)
	if err != nil {
		return Report{}, err
	}
	defer func() { err = errors.Join(err, srv.Stop()) }()
	fmt.Fprintf(progress, "isolation: server ready at %s (pid %d)\n", srv.BaseURL, srv.Pid())
	return measureStack(ctx, cfg, db.URL, srv.BaseURL, toks.Admin.Secret, app.Secret, progress)
}

// measureStack creates the fixture, checks the server's answer once, then
// alternates the check and sql phases.
func measureStack(ctx context.Context, cfg Config, dbURL, baseURL, adminSecret, appSecret string, progress io.Writer) (Report, error) {
	envID, err := createFixture(ctx, stack.NewAPI(baseURL, adminSecret), dbURL, cfg.Accounts)
	if err != nil {
		return Report{}, err
	}
	subj := subjects(cfg.Subjects)
	listed := (cfg.Subjects + 1) / 2
	if err := checkOnce(ctx, baseURL, appSecret, subj, listed); err != nil {
		return Report{}, err
	}
	machine, err := stack.MachineFacts(ctx, dbURL)
	if err != nil {
		return Report{}, err
	}
	pool, err := openPool(ctx, dbURL, cfg.Clients)
	if err != nil {
		return Report{}, err
	}
	defer pool.Close()
	checks, closeChecks := checkClients(cfg.Clients, baseURL, appSecret, checkBody(subj))
	defer closeChecks()
	bare := sqlClients(cfg.Clients, pool, envID, probes(subj, benchViewer), listed)
	fmt.Fprintf(progress, "isolation: %d listed accounts, %d subjects; phases check and sql: %d client(s), %s warm-up, %s measured, in %d round(s)\n",
		cfg.Accounts, cfg.Subjects, cfg.Clients, cfg.Warmup, cfg.Duration, cfg.Rounds)
	check, join, err := alternate(ctx, cfg, "check", checks, "sql", bare)
	if err != nil {
		return Report{}, err
	}
	return newReport(cfg, machine, check, join), nil
}

// probes are the identifiers the check looks up: each subject and the
// viewer, and each's canonical form where it differs (isolation.Check's).
func probes(subjects []string, viewer string) []string {
	out := make([]string, 0, len(subjects)+1)
	for _, id := range append(subjects[:len(subjects):len(subjects)], viewer) {
		out = append(out, id)
		if c := client.Canonical(id); c != id {
			out = append(out, c)
		}
	}
	return out
}

// checkOnce checks that the server answers one result per subject, in
// order, and hides exactly the listed ones from the real viewer: the
// phases must measure a check that decides.
func checkOnce(ctx context.Context, baseURL, secret string, subjects []string, listed int) error {
	var out struct {
		Results []struct {
			Subject string `json:"subject"`
			Visible bool   `json:"visible"`
			Reason  string `json:"reason"`
		} `json:"results"`
	}
	body := map[string]any{"environment": benchEnvironment, "surface": benchSurface, "viewer": benchViewer, "subjects": subjects}
	if err := stack.NewAPI(baseURL, secret).Call(ctx, http.MethodPost, "/v1/isolation/check", body, http.StatusOK, &out); err != nil {
		return err
	}
	if len(out.Results) != len(subjects) {
		return fmt.Errorf("the check answered %d results for %d subjects", len(out.Results), len(subjects))
	}
	hidden := 0
	for i, r := range out.Results {
		if r.Subject != subjects[i] {
			return fmt.Errorf("result %d is for %q, want %q", i, r.Subject, subjects[i])
		}
		if !r.Visible {
			hidden++
			if r.Reason != "testers_only_real_viewer" {
				return fmt.Errorf("result %d (%s) is hidden because %q, want testers_only_real_viewer", i, r.Subject, r.Reason)
			}
		}
	}
	if hidden != listed {
		return fmt.Errorf("the check hid %d subjects, want the %d listed ones", hidden, listed)
	}
	return nil
}
