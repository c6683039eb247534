package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/openapi"
)

// demoFlow is the flow the demo runs twice: it passes on one version and
// fails on the next.
const demoFlow = "checkout"

// runFlows runs production's checkout flow as a CI job would, twice: on
// v1 it passes; then v2 is deployed, the flow fails, and Understudy keeps
// what the failed run left in chirp. The demo prints the failed run's
// state difference from the baseline, and where the console shows it.
func (d *session) runFlows(ctx context.Context, app *chirp.App, consoleAt string) error {
	fmt.Fprintf(d.out, "\nA CI job runs the %s flow (a buyer puts sku-42 in the cart and pays) on each deployment:\n", demoFlow)
	f, err := d.c.PutFlowWithResponse(ctx, "production", demoFlow, openapi.FlowPut{Role: "buyer", Every: "15m"})
	if err := errorOf("declaring the flow", statusOf(f), bodyOf(f), err); err != nil {
		return err
	}
	// v1 went out ten minutes ago, v2 goes out now: the chart of the flow
	// shows each where it went out, v1's run passing, v2's failing.
	if _, err := d.runFlow(ctx, app, "v1", 1, time.Now().Add(-10*time.Minute)); err != nil {
		return err
	}
	failed, err := d.runFlow(ctx, app, "v2", 2, time.Now())
	if err != nil {
		return err
	}
	cp, err := d.waitCaptured(ctx, failed)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "  Understudy kept the buyer's chirp state at the failure (%s), compared with its baseline:\n", cp.Status)
	for _, a := range cp.Apps {
		if a.Error != nil {
			fmt.Fprintf(d.out, "    %s: %s\n", a.App, *a.Error)
			continue
		}
		for i, ch := range a.Changes {
			if i == 8 {
				fmt.Fprintf(d.out, "    … and %d more\n", a.ChangesTotal-i)
				break
			}
			fmt.Fprintf(d.out, "    %-8s %s %s\n", ch.Op, ch.Path, compact(ch.After))
		}
	}
	fmt.Fprintf(d.out, "  ./bin/understudy runs capture %s   # the same, from the CLI (with the admin token below)\n", failed)
	if consoleAt != "" {
		fmt.Fprintf(d.out, "  The failed run in the console: %s/ui/runs/%s\n", consoleAt, failed)
	}
	return nil
}

// runFlow records the deployment of version at deployedAt, then leases the buyer for
// the flow, makes chirp's buyer put qty of sku-42 in the cart, and
// releases the lease with the test's outcome: it passes when the cart
// holds the one item the flow expects. It returns the lease's id.
func (d *session) runFlow(ctx context.Context, app *chirp.App, version string, qty int, deployedAt time.Time) (string, error) {
	dep, err := d.c.RecordDeploymentWithResponse(ctx, openapi.DeploymentRecord{Environment: "production", Version: version, DeployedAt: &deployedAt})
	if err := errorOf("recording deployment "+version, statusOf(dep), bodyOf(dep), err); err != nil {
		return "", err
	}
	ci := "https://ci.example.test/acme/shop/actions/runs/" + version
	g, err := d.c.AcquireLeaseWithResponse(ctx, &openapi.AcquireLeaseParams{}, openapi.LeaseRequest{Environment: "production", Role: "buyer",
		Holder: "demo ci", WaitSeconds: new(30), Run: &openapi.RunNaming{Flow: new(demoFlow), Version: new(version), CiUrl: &ci}})
	if err := errorOf("leasing the buyer for the flow", statusOf(g), bodyOf(g), err); err != nil {
		return "", err
	}
	id := g.JSON201.Lease.Id
	var user int64
	for _, ref := range g.JSON201.Refs {
		user, _ = strconv.ParseInt(ref, 10, 64)
	}
	release := openapi.LeaseRelease{Outcome: new(openapi.ReleaseOutcomePassed)}
	if err := app.AddToCart(ctx, user, "sku-42", qty); err != nil {
		release = openapi.LeaseRelease{Outcome: new(openapi.ReleaseOutcomeErrored), Message: new(err.Error())}
	} else if qty != 1 {
		// The test's own evidence: a log it uploads before it releases.
		log := fmt.Sprintf("checkout › pays\nexpected 1 item of sku-42 in the cart, got %d\n", qty)
		a, err := d.c.PutArtifactWithBodyWithResponse(ctx, id, "checkout.log", "text/plain", bytes.NewReader([]byte(log)))
		if err := errorOf("uploading the test's log", statusOf(a), bodyOf(a), err); err != nil {
			return "", err
		}
		release = openapi.LeaseRelease{Outcome: new(openapi.ReleaseOutcomeFailed), Test: new("checkout › pays"),
			Message: new(fmt.Sprintf("expected 1 item of sku-42 in the cart, got %d", qty))}
	}
	r, err := d.c.ReleaseLeaseWithResponse(ctx, id, release)
	if err := errorOf("releasing the flow's lease", statusOf(r), bodyOf(r), err); err != nil {
		return "", err
	}
	fmt.Fprintf(d.out, "  %s deployed; %s ran on lease %s: %s\n", version, demoFlow, id, *release.Outcome)
	if release.Message != nil {
		fmt.Fprintf(d.out, "    %s (trace %s)\n", *release.Message, traceID(g.JSON201.Lease.Traceparent))
	}
	return id, nil
}

// waitCaptured waits, up to 20 s, for the capture of the failed run of
// lease id to finish, and returns it.
func (d *session) waitCaptured(ctx context.Context, id string) (*openapi.RunCapture, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := d.c.GetRunCaptureWithResponse(ctx, id)
		if err := errorOf("reading the failed run's capture", statusOf(c), bodyOf(c), err); err != nil {
			return nil, err
		}
		if c.JSON200.Status != openapi.CaptureStatusPending {
			return c.JSON200, nil
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the failed run's state was not captured within 20s")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// traceID is the trace id of a W3C traceparent (version-traceid-spanid-flags).
func traceID(traceparent *string) string {
	if traceparent == nil || len(*traceparent) < 35 {
		return "none"
	}
	return (*traceparent)[3:35]
}
