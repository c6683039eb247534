package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

// syncToPostHog attaches a destination of environment production pointing
// at a local fake PostHog (the one the tests use), shows what a sync would
// send, runs it, and prints what the fake now holds.
func (d *session) syncToPostHog(ctx context.Context, run *cleanup) error {
	ph, stop := posthogtest.Start(posthogtest.Options{})
	run.stops = append(run.stops, func(context.Context) error { stop(); return nil })
	attach := openapi.DestinationAttach{Name: "posthog", Kind: "posthog",
		Settings: &map[string]any{"ingest_host": ph.URL, "app_host": ph.URL, "project_id": ph.ProjectID()},
		Secrets:  &map[string]string{"project_api_key": ph.ProjectToken(), "personal_api_key": ph.PersonalKey()}}
	a, err := d.c.AttachDestinationWithResponse(ctx, "production", attach)
	if err := errorOf("attaching the PostHog destination", statusOf(a), bodyOf(a), err); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nproduction: destination posthog attached (a local fake PostHog at %s)\n", ph.URL)

	dry, err := d.c.SyncDestinationWithResponse(ctx, "production", "posthog", &openapi.SyncDestinationParams{DryRun: new(true)})
	if err := errorOf("planning the sync", statusOf(dry), bodyOf(dry), err); err != nil {
		return err
	}
	var plan tagging.Plan
	if err := json.Unmarshal(dry.Body, &plan); err != nil {
		return fmt.Errorf("reading the sync plan: %w", err)
	}
	fmt.Fprintf(d.out, "  sync --dry-run: %d to add, %d to remove, %d unchanged\n", len(plan.Add), len(plan.Remove), plan.Unchanged)

	for i, label := range []string{"first sync", "second sync"} {
		r, err := d.c.SyncDestinationWithResponse(ctx, "production", "posthog", nil)
		if err := errorOf("syncing", statusOf(r), bodyOf(r), err); err != nil {
			return err
		}
		var got tagging.Run
		if err := json.Unmarshal(r.Body, &got); err != nil {
			return fmt.Errorf("reading the sync run: %w", err)
		}
		requests := 0
		if got.Requests != nil {
			requests = *got.Requests
		}
		fmt.Fprintf(d.out, "  %s: %s, %d added, %d removed, %d unchanged, %d requests%s\n", label, got.Outcome,
			got.Added, got.Removed, got.Unchanged, requests, verificationNote(got.Verification))
		if got.Outcome != tagging.RunOK {
			return fmt.Errorf("the %s ended %s: %s", label, got.Outcome, got.Error)
		}
		if i == 0 {
			fmt.Fprintf(d.out, "  PostHog now marks is_synthetic=true on: %s\n", strings.Join(ph.Marked(), ", "))
			fmt.Fprintf(d.out, "  and its cohort of synthetic accounts holds %d of them\n", len(ph.Listed()))
		}
	}
	return nil
}

func verificationNote(v string) string {
	if v == "" {
		return ""
	}
	return "; " + v
}
