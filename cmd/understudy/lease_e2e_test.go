package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/openapi"
)

// attachFake attaches the in-memory app to production and waits until the
// provisioning jobs have made every account ready.
func attachFake(t *testing.T, s *testServer) {
	t.Helper()
	ctx := context.Background()
	c := s.client(t, s.Admin)
	resp, err := c.AttachAppWithResponse(ctx, "production", openapi.AppAttach{Name: "mem", Provider: "fake",
		Secrets: &map[string]string{"api_key": "not-a-real-key-123"}})
	if err != nil || resp.JSON201 == nil {
		t.Fatalf("attach: %v %s", err, resp.Body)
	}
	if strings.Contains(string(resp.Body), "not-a-real-key-123") {
		t.Fatal("the attach response shows a secret")
	}
	waitReady(t, s, "production")
}

func waitReady(t *testing.T, s *testServer, env string) []openapi.Account {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, err := s.client(t, s.Reader).ListAccountsWithResponse(context.Background(), &openapi.ListAccountsParams{Environment: &env})
		if err != nil || list.JSON200 == nil {
			t.Fatalf("listing: %v", err)
		}
		ready := 0
		for _, a := range list.JSON200.Items {
			if a.Status == openapi.AccountStatusReady {
				ready++
			}
		}
		if ready == len(list.JSON200.Items) && ready > 0 {
			return list.JSON200.Items
		}
		if time.Now().After(deadline) {
			t.Fatalf("accounts not ready in time: %s", list.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLeasesThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	attachFake(t, s)
	ctx := context.Background()
	// The provisioning jobs ran as "provisioner", under the attach request's id.
	prov, _ := s.client(t, s.Reader).ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("account.provision")})
	if prov.JSON200 == nil || len(prov.JSON200.Items) != 2 || prov.JSON200.Items[0].Actor != "provisioner" || prov.JSON200.Items[0].RequestId == "" {
		t.Fatalf("provisioning audit: %s", prov.Body)
	}
	attach, _ := s.client(t, s.Reader).ListAuditEventsWithResponse(ctx, &openapi.ListAuditEventsParams{Action: new("app.attach")})
	if attach.JSON200 == nil || len(attach.JSON200.Items) != 1 || attach.JSON200.Items[0].RequestId != prov.JSON200.Items[0].RequestId {
		t.Fatalf("the provisioning does not carry the attach request's id: %s / %s", attach.Body, prov.Body)
	}
	runner := s.client(t, s.Runner)
	req := openapi.LeaseRequest{Environment: "production", Role: "buyer", Holder: "ci-job-1", TtlSeconds: new(60)}
	key := "retry-me"
	g1, err := runner.AcquireLeaseWithResponse(ctx, &openapi.AcquireLeaseParams{IdempotencyKey: &key}, req)
	if err != nil || g1.JSON201 == nil {
		t.Fatalf("acquire: %v %s", err, g1.Body)
	}
	if g1.JSON201.Refs["mem"] == "" || g1.JSON201.Credentials.Password == "" || g1.JSON201.Lease.Status != openapi.LeaseStatusActive {
		t.Fatalf("grant = %s", g1.Body)
	}
	again, _ := runner.AcquireLeaseWithResponse(ctx, &openapi.AcquireLeaseParams{IdempotencyKey: &key}, req)
	if again.JSON201 == nil || again.JSON201.Lease.Id != g1.JSON201.Lease.Id {
		t.Fatalf("the retried request got another lease: %s", again.Body)
	}
	g2, _ := runner.AcquireLeaseWithResponse(ctx, nil, req)
	if g2.JSON201 == nil || g2.JSON201.Account.Id == g1.JSON201.Account.Id {
		t.Fatalf("second lease: %s", g2.Body)
	}
	busy, _ := runner.AcquireLeaseWithResponse(ctx, nil, req)
	problemOf(t, busy.StatusCode(), busy.Body, http.StatusConflict, "conflict")
	if busy.HTTPResponse.Header.Get("Retry-After") == "" || !strings.Contains(string(busy.Body), "next lease expires") {
		t.Fatalf("busy answer lacks Retry-After or the next expiry: %v %s", busy.HTTPResponse.Header, busy.Body)
	}
	denied, _ := s.client(t, s.Reader).AcquireLeaseWithResponse(ctx, nil, req)
	problemOf(t, denied.StatusCode(), denied.Body, http.StatusForbidden, "forbidden")

	rel, err := runner.ReleaseLeaseWithResponse(ctx, g1.JSON201.Lease.Id, openapi.LeaseRelease{Reset: new(true)})
	if err != nil || rel.JSON200 == nil || rel.JSON200.Status != openapi.LeaseStatusReleased {
		t.Fatalf("release: %v %s", err, rel.Body)
	}
	ren, _ := runner.RenewLeaseWithResponse(ctx, g2.JSON201.Lease.Id, openapi.LeaseRenew{TtlSeconds: new(120)})
	if ren.JSON200 == nil || !ren.JSON200.ExpiresAt.After(g2.JSON201.Lease.ExpiresAt) {
		t.Fatalf("renew: %s", ren.Body)
	}
	open, _ := s.client(t, s.Reader).ListLeasesWithResponse(ctx, &openapi.ListLeasesParams{})
	if open.JSON200 == nil || len(open.JSON200.Items) != 1 {
		t.Fatalf("open leases: %s", open.Body)
	}
}

func TestResetAndSnapshotsThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	attachFake(t, s)
	ctx := context.Background()
	admin := s.client(t, s.Admin)
	accts := waitReady(t, s, "production")
	id := accts[0].Id
	captured, err := admin.CaptureStateWithResponse(ctx, id, "with-cart")
	if err != nil || captured.JSON201 == nil || len(captured.JSON201.Items) != 1 || captured.JSON201.Items[0].State != "with-cart" {
		t.Fatalf("capture: %v %s", err, captured.Body)
	}
	list, _ := admin.ListSnapshotsWithResponse(ctx, id, nil)
	if list.JSON200 == nil || len(list.JSON200.Items) != 2 {
		t.Fatalf("snapshots: %s", list.Body)
	}
	h := list.JSON200.Items[0].Hash
	content, _ := admin.GetSnapshotContentWithResponse(ctx, h)
	if content.StatusCode() != http.StatusOK || !strings.HasPrefix(string(content.Body), "{") {
		t.Fatalf("content: %d %s", content.StatusCode(), content.Body)
	}
	short, _ := admin.GetSnapshotContentWithResponse(ctx, h[:12])
	if string(short.Body) != string(content.Body) {
		t.Fatalf("content by a 12-digit prefix: %d %s", short.StatusCode(), short.Body)
	}
	none, _ := admin.GetSnapshotContentWithResponse(ctx, "00000000")
	problemOf(t, none.StatusCode(), none.Body, http.StatusNotFound, "not_found")
	diff, _ := admin.DiffSnapshotsWithResponse(ctx, &openapi.DiffSnapshotsParams{From: h, To: list.JSON200.Items[1].Hash})
	if diff.JSON200 == nil || len(diff.JSON200.Changes) != 0 {
		t.Fatalf("diff of equal states: %s", diff.Body)
	}
	reset, err := admin.ResetAccountWithResponse(ctx, id, openapi.ResetRequest{State: new("with-cart")})
	if err != nil || reset.JSON200 == nil || reset.JSON200.Status != openapi.AccountStatusReady {
		t.Fatalf("reset: %v %s", err, reset.Body)
	}
	missing, _ := admin.ResetAccountWithResponse(ctx, id, openapi.ResetRequest{State: new("verified")})
	problemOf(t, missing.StatusCode(), missing.Body, http.StatusConflict, "conflict")
	check, _ := admin.TestAppWithResponse(ctx, "production", "mem")
	if check.JSON200 == nil || !check.JSON200.Ok {
		t.Fatalf("test app: %s", check.Body)
	}
	resp, b := s.raw(t, s.Admin, http.MethodPost, "/v1/environments/production/apps", "application/json",
		strings.NewReader(`{"name":"x","provider":"fake","settings":{"delay":"soon"}}`))
	if _, ok := fieldsOf(problemOf(t, resp.StatusCode, b, http.StatusUnprocessableEntity, "invalid"))["settings.delay"]; !ok {
		t.Fatalf("a bad setting is not named: %s", b)
	}
	resp, b = s.raw(t, s.Admin, http.MethodPost, "/v1/environments/production/apps", "application/json",
		strings.NewReader(`{"name":"y","provider":"postgres","settings":{}}`))
	if f := fieldsOf(problemOf(t, resp.StatusCode, b, http.StatusUnprocessableEntity, "invalid")); len(f) == 0 {
		t.Fatalf("a postgres app with no settings is not refused by field: %s", b)
	}
}
