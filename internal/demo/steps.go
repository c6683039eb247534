package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/openapi"
)

// setUp creates the environments, attaches chirp, creates the roles and
// waits until every account is provisioned.
func (d *session) setUp(ctx context.Context, chirpAddr, chirpURL string) error {
	for _, e := range environments {
		create := openapi.EnvironmentCreate{Name: e.name, EmailDomains: []string{"qa.example.test"}}
		if e.provider == "webhook" {
			create.CustomSurfaces = &[]string{chirp.SurfaceTrending} // chirp's own surface, audited with the built-in ones
		}
		r, err := d.c.CreateEnvironmentWithResponse(ctx, create)
		if err := errorOf("creating environment "+e.name, statusOf(r), bodyOf(r), err); err != nil {
			return err
		}
		attach := openapi.AppAttach{Name: e.app, Provider: e.provider}
		if e.provider == "webhook" {
			attach.Settings = &map[string]any{"base_url": "http://" + chirpAddr + "/understudy"}
			attach.Secrets = &map[string]string{"signing_secret": webhookSecret}
		} else {
			var settings map[string]any
			if err := json.Unmarshal([]byte(chirp.PostgresProviderSettings), &settings); err != nil {
				return err
			}
			attach.Settings = &settings
			attach.Secrets = &map[string]string{"dsn": chirpURL}
		}
		a, err := d.c.AttachAppWithResponse(ctx, e.name, attach)
		if err := errorOf("attaching chirp to "+e.name, statusOf(a), bodyOf(a), err); err != nil {
			return err
		}
		for _, role := range roles {
			r, err := d.c.CreateRoleWithResponse(ctx, e.name, openapi.RoleCreate{Name: role})
			if err := errorOf("creating role "+role, statusOf(r), bodyOf(r), err); err != nil {
				return err
			}
		}
		fmt.Fprintf(d.out, "%s: chirp attached through the %s provider; roles %s\n", e.name, e.provider, strings.Join(roles, ", "))
	}
	return d.waitProvisioned(ctx, len(environments)*len(roles), true)
}

// waitProvisioned waits until want accounts are ready, and with show lists
// them.
func (d *session) waitProvisioned(ctx context.Context, want int, show bool) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		list, err := d.c.ListAccountsWithResponse(ctx, &openapi.ListAccountsParams{})
		if err := errorOf("listing accounts", statusOf(list), bodyOf(list), err); err != nil {
			return err
		}
		ready := 0
		for _, a := range list.JSON200.Items {
			if a.Status == openapi.AccountStatusFailed {
				return fmt.Errorf("account %s failed to provision: %s", a.Id, a.StatusReason)
			}
			if a.Status == openapi.AccountStatusReady {
				ready++
				d.ids[a.Environment+"/"+a.Role] = a.Id
			}
		}
		if ready >= want {
			if !show {
				return nil
			}
			fmt.Fprintf(d.out, "\nProvisioned %d accounts in chirp, each with its baseline captured:\n", ready)
			for _, a := range list.JSON200.Items {
				fmt.Fprintf(d.out, "  %-10s %-7s %-40s %s\n", a.Environment, a.Role, a.Identity.Email, a.Identity.DisplayName)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return errNotReady
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// actAndReset makes each chirp user act, shows what changed, resets every
// account and shows that the baseline is back.
func (d *session) actAndReset(ctx context.Context, app *chirp.App) error {
	fmt.Fprintf(d.out, "\nEach chirp user posts twice, follows a colleague and puts something in the cart:\n")
	for _, e := range environments {
		buyer, seller, err := d.chirpRefs(ctx, e.name)
		if err != nil {
			return err
		}
		for i, user := range []int64{buyer, seller} {
			other := []int64{seller, buyer}[i]
			if err := act(ctx, app, user, other); err != nil {
				return fmt.Errorf("acting as chirp user %d: %w", user, err)
			}
		}
	}
	for _, e := range environments {
		for _, role := range roles {
			if err := d.showAndReset(ctx, e.name, role); err != nil {
				return err
			}
		}
	}
	return nil
}

func act(ctx context.Context, app *chirp.App, user, other int64) error {
	for _, body := range []string{"Testing in production, safely.", "This account resets before every run."} {
		if _, err := app.Post(ctx, user, body); err != nil {
			return err
		}
	}
	if err := app.Follow(ctx, user, other); err != nil {
		return err
	}
	return app.AddToCart(ctx, user, "sku-42", 2)
}

// chirpRefs returns the chirp user ids of an environment's buyer and seller.
func (d *session) chirpRefs(ctx context.Context, env string) (buyer, seller int64, err error) {
	out := make([]int64, len(roles))
	for i, role := range roles {
		g, err := d.c.AcquireLeaseWithResponse(ctx, nil, openapi.LeaseRequest{Environment: env, Role: role, Holder: "demo", TtlSeconds: new(60)})
		if err := errorOf("leasing "+env+"/"+role, statusOf(g), bodyOf(g), err); err != nil {
			return 0, 0, err
		}
		for _, ref := range g.JSON201.Refs {
			out[i], _ = strconv.ParseInt(ref, 10, 64)
		}
		r, err := d.c.ReleaseLeaseWithResponse(ctx, g.JSON201.Lease.Id, openapi.LeaseRelease{})
		if err := errorOf("releasing", statusOf(r), bodyOf(r), err); err != nil {
			return 0, 0, err
		}
	}
	return out[0], out[1], nil
}

// showAndReset captures the changed state, diffs it with the baseline,
// resets, and checks the restored state is the baseline.
func (d *session) showAndReset(ctx context.Context, env, role string) error {
	id := d.ids[env+"/"+role]
	c, err := d.c.CaptureStateWithResponse(ctx, id, "demo-after")
	if err := errorOf("capturing", statusOf(c), bodyOf(c), err); err != nil {
		return err
	}
	base, err := d.c.ListSnapshotsWithResponse(ctx, id, &openapi.ListSnapshotsParams{State: new("initial")})
	if err := errorOf("listing snapshots", statusOf(base), bodyOf(base), err); err != nil {
		return err
	}
	from, to := base.JSON200.Items[0].Hash, c.JSON201.Items[0].Hash
	diff, err := d.c.DiffSnapshotsWithResponse(ctx, &openapi.DiffSnapshotsParams{From: from, To: to})
	if err := errorOf("diffing", statusOf(diff), bodyOf(diff), err); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\n%s/%s changed since its baseline (%d changes):\n", env, role, len(diff.JSON200.Changes))
	for _, ch := range diff.JSON200.Changes {
		fmt.Fprintf(d.out, "  %-8s %s %s\n", ch.Op, ch.Path, compact(ch.After))
	}
	start := time.Now()
	r, err := d.c.ResetAccountWithResponse(ctx, id, openapi.ResetRequest{})
	if err := errorOf("resetting", statusOf(r), bodyOf(r), err); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "  reset in %v, verified: chirp's state is the baseline again (sha256 %s…)\n",
		time.Since(start).Round(time.Millisecond), from[:12])
	return nil
}

func compact(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	if len(b) > 70 {
		return string(b[:67]) + "..."
	}
	return string(b)
}

// statusOf and bodyOf read a generated response that may be nil: a nil
// *XResponse in an interface is not a nil interface, so they take the
// pointer itself.
func statusOf[T any, R interface {
	*T
	StatusCode() int
}](r R) int {
	if r == nil {
		return 0
	}
	return r.StatusCode()
}

func bodyOf[T any, R interface {
	*T
	GetBody() []byte
}](r R) []byte {
	if r == nil {
		return nil
	}
	return r.GetBody()
}
