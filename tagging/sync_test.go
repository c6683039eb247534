package tagging_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/tagging"
	"github.com/understudy-dev/understudy/tagging/posthog/posthogtest"
)

func wantRun(t *testing.T, r tagging.Run, err error, outcome string, added, removed int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != outcome || r.Added != added || r.Removed != removed || r.Requests == nil || r.EndedAt == nil {
		t.Fatalf("run %+v, want %s +%d -%d", r, outcome, added, removed)
	}
}

func TestSyncSendsOnlyTheDifference(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)
	if _, err := ds.Attach(f.Ctx, "production", "ph", posthogChange(ph, ph.ProjectToken())); err != nil {
		t.Fatal(err)
	}
	all := emails(t, f)

	// A dry run says what would be sent, and sends nothing.
	plan, err := ds.DryRun(f.Ctx, "production", "ph")
	if err != nil || len(plan.Add) != 2 || !slices.Equal(plan.Add[0].Actions, []string{"mark", "list"}) || len(plan.Remove) != 0 {
		t.Fatalf("dry run: %+v %v", plan, err)
	}
	if ph.Requests() != 0 {
		t.Fatalf("the dry run sent %d requests", ph.Requests())
	}
	if len(plan.Requests) != 2 || plan.Requests[0].Action != tagging.PreviewMark || plan.Requests[0].Identities != 2 ||
		!strings.HasSuffix(plan.Requests[0].URL, "/batch/") || !strings.Contains(plan.Requests[0].Body, all[0]) ||
		plan.Requests[1].Action != tagging.PreviewListAdd || plan.Requests[1].Note == "" {
		t.Fatalf("dry run requests: %+v", plan.Requests)
	}
	if raw, _ := json.Marshal(plan); strings.Contains(string(raw), ph.ProjectToken()) || strings.Contains(string(raw), ph.PersonalKey()) {
		t.Fatalf("a secret is in the plan: %s", raw)
	}

	// The first run marks and lists everyone, and verifies.
	r, err := ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{})
	wantRun(t, r, err, tagging.RunOK, 2, 0)
	if !slices.Equal(ph.Marked(), all) || !slices.Equal(ph.Listed(), all) || !strings.HasPrefix(r.Verification, "verified: 0 visible") {
		t.Fatalf("marked %v listed %v (want %v), verification %q", ph.Marked(), ph.Listed(), all, r.Verification)
	}
	if *r.Requests == 0 || r.RequestID != domaintest.RequestID {
		t.Fatalf("run %+v", r)
	}

	// The second has nothing to send, and sends nothing.
	before := ph.Requests()
	r, err = ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{})
	wantRun(t, r, err, tagging.RunOK, 0, 0)
	if *r.Requests != 0 || ph.Requests() != before || r.Unchanged != 2 {
		t.Fatalf("second run %+v, %d requests to the fake", r, ph.Requests()-before)
	}

	// A retired and forgotten account is unmarked, exactly that one; its
	// slot's new account is added.
	list, _ := f.Accounts.ListAccounts(f.Ctx, accounts.AccountFilter{Environment: "production"})
	gone := list[0]
	if _, err := f.Accounts.RetireAccount(f.Ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tagging.NewExclusions(f.DB, nil).Forget(f.Ctx, "production", gone.ID); err != nil {
		t.Fatal(err)
	}
	plan, _ = ds.DryRun(f.Ctx, "production", "ph")
	if len(plan.Remove) != 1 || plan.Remove[0].DistinctID != gone.Identity.Email {
		t.Fatalf("plan after forgetting: %+v", plan)
	}
	var actions []string
	for _, r := range plan.Requests {
		actions = append(actions, r.Action)
	}
	if want := []string{"list-remove", "unmark", "mark", "list-add"}; !slices.Equal(actions, want) || !strings.Contains(plan.Requests[1].Body, gone.Identity.Email) {
		t.Fatalf("requests after forgetting: %v (want %v): %+v", actions, want, plan.Requests)
	}
	r, err = ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{})
	wantRun(t, r, err, tagging.RunOK, 1, 1)
	if slices.Contains(ph.Marked(), gone.Identity.Email) || slices.Contains(ph.Listed(), gone.Identity.Email) || len(ph.Marked()) != 2 {
		t.Fatalf("after forgetting %s: marked %v listed %v", gone.Identity.Email, ph.Marked(), ph.Listed())
	}
	runs, err := ds.Runs(f.Ctx, "production", "ph", 10)
	if err != nil || len(runs) != 3 || runs[0].ID != r.ID {
		t.Fatalf("runs: %+v %v", runs, err)
	}
	var audited int
	_ = f.DB.QueryRow(f.Ctx, `SELECT count(*) FROM audit_events WHERE action = 'destination.sync'`).Scan(&audited)
	if audited != 3 {
		t.Fatalf("%d runs audited, want 3", audited)
	}
}

func TestRefusedCredentialsFailTheRunAndAckNothing(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)
	if _, err := ds.Attach(f.Ctx, "production", "ph", posthogChange(ph, "phc_not_the_project_token")); err != nil {
		t.Fatal(err)
	}
	r, err := ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{})
	wantRun(t, r, err, tagging.RunFailed, 1, 0)
	if !strings.Contains(r.Error, "PostHog refused the credentials (401)") || strings.Contains(r.Error, "phc_not_the_project_token") {
		t.Fatalf("error %q", r.Error)
	}
	plan, _ := ds.DryRun(f.Ctx, "production", "ph")
	if len(plan.Add) != 1 || len(plan.Add[0].Actions) != 2 {
		t.Fatalf("something was acknowledged: %+v", plan)
	}
	d, _ := ds.Get(f.Ctx, "production", "ph")
	if d.Health.Status != tagging.HealthUnhealthy || !strings.Contains(d.Health.Detail, "401") {
		t.Fatalf("health %+v", d.Health)
	}
}

// downAfter makes the fake go down after n requests.
type downAfter struct {
	n    atomic.Int64
	left int64
	fake *posthogtest.Fake
}

func (d *downAfter) RoundTrip(req *http.Request) (*http.Response, error) {
	if d.n.Add(1) > d.left {
		d.fake.SetDown(true)
	}
	return http.DefaultTransport.RoundTrip(req)
}

func TestARunThatFailsMidwayResumesWithTheRest(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 2)
	ph := posthogtest.New(t, posthogtest.Options{})
	down := &downAfter{left: 1, fake: ph}
	ds := destinations(t, f, &http.Client{Transport: down})
	if _, err := ds.Attach(f.Ctx, "production", "ph", posthogChange(ph, ph.ProjectToken())); err != nil {
		t.Fatal(err)
	}
	// The marks are accepted, then PostHog goes down while listing.
	r, err := ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{})
	wantRun(t, r, err, tagging.RunFailed, 2, 0)
	if !strings.Contains(r.Error, "PostHog answered 503") || len(ph.Marked()) != 2 || len(ph.Listed()) != 0 {
		t.Fatalf("run %+v; marked %v listed %v", r, ph.Marked(), ph.Listed())
	}
	ph.SetDown(false)
	down.left = 1 << 40
	plan, _ := ds.DryRun(f.Ctx, "production", "ph")
	for _, c := range plan.Add {
		if !slices.Equal(c.Actions, []string{"list"}) {
			t.Fatalf("the next run would send %v again for %s", c.Actions, c.DistinctID)
		}
	}
	r, err = ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{})
	wantRun(t, r, err, tagging.RunOK, 2, 0)
	if all := emails(t, f); !slices.Equal(ph.Listed(), all) || !slices.Equal(ph.Marked(), all) {
		t.Fatalf("listed %v marked %v", ph.Listed(), ph.Marked())
	}
}

func TestOneRunPerDestinationAtATime(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	f := domaintest.New(t, pool, 1)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)
	d, err := ds.Attach(f.Ctx, "production", "ph", posthogChange(ph, ph.ProjectToken()))
	if err != nil {
		t.Fatal(err)
	}
	// Another replica's run holds the destination (its run lock, and its
	// row).
	other, err := pool.Begin(f.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got bool
	if err := other.QueryRow(f.Ctx, `SELECT pg_try_advisory_xact_lock(hashtextextended('understudy.sync.' || $1::text, 0))`, d.ID).Scan(&got); err != nil || !got {
		t.Fatalf("taking the lock: %v %v", got, err)
	}
	if _, err := f.DB.Exec(f.Ctx, `INSERT INTO sync_runs (destination_id) VALUES ($1)`, d.ID); err != nil {
		t.Fatal(err)
	}
	_, err = ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{})
	if e := domaintest.WantCode(t, err, understudy.ECONFLICT); !strings.Contains(e.Message, "already running") {
		t.Fatalf("a second run: %v", err)
	}
	if ph.Requests() != 0 {
		t.Fatalf("the refused run sent %d requests", ph.Requests())
	}
	// That replica dies (its connection goes, and the lock with it): the
	// next run takes over at once, and the run it left is abandoned.
	_ = other.Rollback(f.Ctx)
	r, err := ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{})
	wantRun(t, r, err, tagging.RunOK, 1, 0)
	var abandoned int
	if err := pool.QueryRow(f.Ctx, `SELECT count(*) FROM sync_runs WHERE destination_id = $1 AND error LIKE 'abandoned%'`, d.ID).Scan(&abandoned); err != nil || abandoned != 1 {
		t.Fatalf("abandoned runs: %d %v", abandoned, err)
	}
}

func TestADestinationIsDueOnceItsIntervalHasPassed(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)
	d, err := ds.Attach(f.Ctx, "production", "ph", posthogChange(ph, ph.ProjectToken()))
	if err != nil {
		t.Fatal(err)
	}
	if due, err := ds.Due(f.Ctx); err != nil || !slices.Equal(due, []string{d.ID}) {
		t.Fatalf("never synced: due %v %v", due, err)
	}
	if _, err := ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if due, err := ds.Due(f.Ctx); err != nil || len(due) != 0 {
		t.Fatalf("just synced: due %v %v", due, err)
	}
	if _, err := f.DB.Exec(f.Ctx, `UPDATE sync_runs SET started_at = started_at - interval '16 minutes'`); err != nil {
		t.Fatal(err)
	}
	if due, err := ds.Due(f.Ctx); err != nil || !slices.Equal(due, []string{d.ID}) {
		t.Fatalf("16 minutes later: due %v %v", due, err)
	}
}

// A change of the exclusion list makes the destination due again once the
// debounce has passed since its last run, long before its interval.
func TestAChangedListMakesTheDestinationDueAfterTheDebounce(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 1)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)
	d, err := ds.Attach(f.Ctx, "production", "ph", posthogChange(ph, ph.ProjectToken()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	// An account is added (its identifiers join the list).
	if _, err := f.Accounts.CreateRole(f.Ctx, "production", "seller", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	if due, err := ds.Due(f.Ctx); err != nil || len(due) != 0 {
		t.Fatalf("within the debounce: due %v %v", due, err)
	}
	if _, err := f.DB.Exec(f.Ctx, `UPDATE sync_runs SET started_at = started_at - interval '31 seconds'`); err != nil {
		t.Fatal(err)
	}
	if due, err := ds.Due(f.Ctx); err != nil || !slices.Equal(due, []string{d.ID}) {
		t.Fatalf("after the debounce: due %v %v", due, err)
	}
	// Synced again, it is not due until the list changes again.
	if _, err := ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.DB.Exec(f.Ctx, `UPDATE sync_runs SET started_at = started_at - interval '31 seconds'`); err != nil {
		t.Fatal(err)
	}
	if due, err := ds.Due(f.Ctx); err != nil || len(due) != 0 {
		t.Fatalf("synced, no change: due %v %v", due, err)
	}
}

// TestDistinctIDsInAnyCaseCompareInByteOrder: the acknowledgements are
// compared in byte order whatever the database's collation (in most
// locales "a-…" sorts before "Z-…"), so a second run has nothing to send.
func TestDistinctIDsInAnyCaseCompareInByteOrder(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 8)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)
	change := posthogChange(ph, ph.ProjectToken())
	// Usernames in both cases; a distinct_id template cannot choose a
	// case itself (ParseDistinctID allows no condition).
	if _, err := f.DB.Exec(f.Ctx, `UPDATE accounts SET username = CASE WHEN id::text < '8' THEN 'Z-' ELSE 'a-' END || id::text`); err != nil {
		t.Fatal(err)
	}
	change.DistinctID = new(tagging.DistinctUsername)
	if _, err := ds.Attach(f.Ctx, "production", "ph", change); err != nil {
		t.Fatal(err)
	}
	r, err := ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{})
	wantRun(t, r, err, tagging.RunOK, 8, 0)
	before := ph.Requests()
	// A full run, so that the list is compared, not skipped as unmoved.
	r, err = ds.Sync(f.Ctx, "production", "ph", tagging.SyncOptions{Full: true})
	wantRun(t, r, err, tagging.RunOK, 0, 0)
	if *r.Requests != 0 || ph.Requests() != before || r.Unchanged != 8 {
		t.Fatalf("second run %+v, %d requests to the fake", r, ph.Requests()-before)
	}
	if plan, err := ds.DryRun(f.Ctx, "production", "ph"); err != nil || len(plan.Add)+len(plan.Remove) != 0 || plan.Unchanged != 8 {
		t.Fatalf("dry run after two runs: %+v %v", plan, err)
	}
}

// TestAnAppRefRuleSendsEachAccountsRef: the refs come from the list's
// app_ref identifiers, one per account.
func TestAnAppRefRuleSendsEachAccountsRef(t *testing.T) {
	t.Parallel()
	f := domaintest.New(t, dbtest.Tx(t), 3)
	ph := posthogtest.New(t, posthogtest.Options{})
	ds := destinations(t, f, nil)
	change := posthogChange(ph, ph.ProjectToken())
	change.DistinctID = new("app_ref:chirp")
	if _, err := ds.Attach(f.Ctx, "production", "ph", change); err != nil {
		t.Fatal(err)
	}
	var refs []string
	rows, err := f.DB.Query(f.Ctx, `SELECT r.ref FROM account_refs r JOIN apps p ON p.id = r.app_id WHERE p.name = 'chirp' ORDER BY r.ref`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	if rows.Err() != nil || len(refs) != 3 {
		t.Fatalf("refs %v, %v; want 3", refs, rows.Err())
	}
	plan, err := ds.DryRun(f.Ctx, "production", "ph")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range plan.Add {
		got = append(got, c.DistinctID)
	}
	if !slices.Equal(got, refs) {
		t.Fatalf("plan adds %v, want the refs %v", got, refs)
	}
}
