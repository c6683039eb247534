package run_test

import (
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/run"
)

func TestRecordDeploymentStoresAndAuditsIt(t *testing.T) {
	t.Parallel()
	f := newRunFixture(t)
	at := deployNow.Add(-10 * time.Minute).Add(123456789 * time.Nanosecond)
	d, created, err := f.deployments.Record(f.ctx, run.DeploymentRecord{Environment: "production", Version: "v1.4.2",
		DeployedAt: at, URL: "https://github.com/acme/shop/actions/runs/42"})
	if err != nil || !created {
		t.Fatalf("record: created %v, %v", created, err)
	}
	want := run.Deployment{ID: d.ID, Environment: "production", Version: "v1.4.2", DeployedAt: at.Truncate(time.Microsecond),
		URL: "https://github.com/acme/shop/actions/runs/42", RecordedBy: "ci-deployer", RecordedAt: deployNow}
	if !d.DeployedAt.Equal(want.DeployedAt) || !d.RecordedAt.Equal(want.RecordedAt) {
		t.Errorf("times %s / %s, want %s / %s", d.DeployedAt, d.RecordedAt, want.DeployedAt, want.RecordedAt)
	}
	d.DeployedAt, d.RecordedAt = want.DeployedAt, want.RecordedAt
	if d != want {
		t.Errorf("deployment = %+v, want %+v", d, want)
	}
	events := f.audit(t, "deployment.record")
	if len(events) != 1 || events[0].TargetID != d.ID || events[0].Actor != "ci-deployer" || events[0].RequestID != "req-deploy" ||
		events[0].Details["version"] != "v1.4.2" || events[0].Details["environment"] != "production" {
		t.Fatalf("audit = %+v, want one deployment.record of %s by ci-deployer", events, d.ID)
	}

	// Without a time, the deployment is now.
	d, _, err = f.deployments.Record(f.ctx, run.DeploymentRecord{Environment: "staging", Version: "abc123"})
	if err != nil || !d.DeployedAt.Equal(deployNow) || d.URL != "" {
		t.Fatalf("a deployment without a time: %+v, %v; want it at %s without a url", d, err, deployNow)
	}
}

func TestRecordDeploymentTwiceIsOneDeployment(t *testing.T) {
	t.Parallel()
	f := newRunFixture(t)
	at := deployNow.Add(-time.Minute)
	rec := run.DeploymentRecord{Environment: "production", Version: "v2", DeployedAt: at, URL: "https://ci.example.test/1"}
	first, created, err := f.deployments.Record(f.ctx, rec)
	if err != nil || !created {
		t.Fatalf("first: %v %v", created, err)
	}
	again, created, err := f.deployments.Record(f.ctx, rec)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("again: %+v created %v, %v; want %s, not created", again, created, err, first.ID)
	}
	rec.URL = "https://ci.example.test/2"
	_, _, err = f.deployments.Record(f.ctx, rec)
	wantCode(t, err, understudy.ECONFLICT)
	if !strings.Contains(err.Error(), "https://ci.example.test/1") {
		t.Errorf("the conflict does not name the url recorded: %v", err)
	}
	// Another time, or another environment, is another deployment.
	rec.URL = first.URL
	rec.DeployedAt = at.Add(time.Second)
	if _, created, err := f.deployments.Record(f.ctx, rec); err != nil || !created {
		t.Fatalf("the same version a second later: created %v, %v", created, err)
	}
	rec.Environment = "staging"
	if _, created, err := f.deployments.Record(f.ctx, rec); err != nil || !created {
		t.Fatalf("the same version in staging: created %v, %v", created, err)
	}
	if n := len(f.audit(t, "deployment.record")); n != 3 {
		t.Errorf("%d deployment.record events, want 3 (the repeat is not audited)", n)
	}
}

func TestRecordDeploymentRefusesBadInputByField(t *testing.T) {
	t.Parallel()
	f := newRunFixture(t)
	for _, c := range []struct {
		name  string
		rec   run.DeploymentRecord
		field string
	}{
		{"no version", run.DeploymentRecord{Environment: "production"}, "version"},
		{"a long version", run.DeploymentRecord{Environment: "production", Version: strings.Repeat("é", run.MaxVersionLength+1)}, "version"},
		{"a control character", run.DeploymentRecord{Environment: "production", Version: "v1\n2"}, "version"},
		{"white space around", run.DeploymentRecord{Environment: "production", Version: " v1"}, "version"},
		{"not UTF-8", run.DeploymentRecord{Environment: "production", Version: "v\xff"}, "version"},
		{"the future", run.DeploymentRecord{Environment: "production", Version: "v1", DeployedAt: deployNow.Add(run.MaxDeploymentAhead + time.Second)}, "deployed_at"},
		{"long ago", run.DeploymentRecord{Environment: "production", Version: "v1", DeployedAt: deployNow.Add(-run.MaxDeploymentAge - time.Second)}, "deployed_at"},
		{"an ftp url", run.DeploymentRecord{Environment: "production", Version: "v1", URL: "ftp://ci.example.test/1"}, "url"},
		{"a relative url", run.DeploymentRecord{Environment: "production", Version: "v1", URL: "/runs/1"}, "url"},
		{"a url with a password", run.DeploymentRecord{Environment: "production", Version: "v1", URL: "https://bot:hunter2@ci.example.test/1"}, "url"},
		{"a long url", run.DeploymentRecord{Environment: "production", Version: "v1", URL: "https://ci.example.test/" + strings.Repeat("a", run.MaxDeploymentURLLength)}, "url"},
		{"a javascript url", run.DeploymentRecord{Environment: "production", Version: "v1", URL: "javascript:alert(1)"}, "url"},
		{"no environment", run.DeploymentRecord{Version: "v1"}, "environment"},
	} {
		_, _, err := f.deployments.Record(f.ctx, c.rec)
		t.Run(c.name, func(t *testing.T) { wantFields(t, err, c.field) })
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error echoes the url's password: %v", c.name, err)
		}
	}
	// At the bounds, a deployment is accepted.
	for _, at := range []time.Time{deployNow.Add(run.MaxDeploymentAhead), deployNow.Add(-run.MaxDeploymentAge)} {
		if _, _, err := f.deployments.Record(f.ctx, run.DeploymentRecord{Environment: "production", Version: "v1", DeployedAt: at}); err != nil {
			t.Errorf("a deployment at %s: %v", at, err)
		}
	}
	_, _, err := f.deployments.Record(f.ctx, run.DeploymentRecord{Environment: "nowhere", Version: "v1"})
	wantCode(t, err, understudy.ENOTFOUND)
	if n := len(f.audit(t, "deployment.record")); n != 2 {
		t.Errorf("%d deployment.record events, want the 2 accepted", n)
	}
}

func TestListDeploymentsNewestFirstInPages(t *testing.T) {
	t.Parallel()
	f := newRunFixture(t)
	base := deployNow.Add(-time.Hour)
	var prod []run.Deployment
	for i := range 5 {
		prod = append(prod, f.record(t, "production", "v"+string(rune('1'+i)), base.Add(time.Duration(i)*time.Minute)))
	}
	// Two deployments at the same time are ordered by id.
	twin := f.record(t, "production", "v5-hotfix", prod[4].DeployedAt)
	f.record(t, "staging", "s1", base.Add(30*time.Second))

	all, err := f.deployments.List(f.ctx, run.DeploymentFilter{})
	if err != nil || len(all.Items) != 7 || all.NextBefore != "" {
		t.Fatalf("all: %d items, next %q, %v; want 7 and no next page", len(all.Items), all.NextBefore, err)
	}
	for i := 1; i < len(all.Items); i++ {
		a, b := all.Items[i-1], all.Items[i]
		if a.DeployedAt.Before(b.DeployedAt) || (a.DeployedAt.Equal(b.DeployedAt) && a.ID < b.ID) {
			t.Fatalf("not newest first at %d: %+v then %+v", i, a, b)
		}
	}

	// production, two at a time, through next_before.
	var got []string
	f2 := run.DeploymentFilter{Environment: "production", Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		page, err := f.deployments.List(f.ctx, f2)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Items {
			if d.Environment != "production" {
				t.Fatalf("the production list holds %+v", d)
			}
			got = append(got, d.Version)
		}
		if page.NextBefore == "" {
			break
		}
		f2.Before = page.NextBefore
	}
	wantVersions := map[string]bool{twin.Version: true, "v5": true}
	if len(got) != 6 || !wantVersions[got[0]] || !wantVersions[got[1]] || strings.Join(got[2:], ",") != "v4,v3,v2,v1" {
		t.Fatalf("production's pages = %v, want v5 and v5-hotfix (by id), then v4,v3,v2,v1", got)
	}

	// since (inclusive) and until (exclusive).
	page, err := f.deployments.List(f.ctx, run.DeploymentFilter{Environment: "production", Since: prod[1].DeployedAt, Until: prod[3].DeployedAt})
	if err != nil || len(page.Items) != 2 || page.Items[0].Version != "v3" || page.Items[1].Version != "v2" {
		t.Fatalf("since v2 until v4: %+v, %v; want v3, v2", page.Items, err)
	}
}

func TestListDeploymentsRefusesBadFilters(t *testing.T) {
	t.Parallel()
	f := newRunFixture(t)
	_, err := f.deployments.List(f.ctx, run.DeploymentFilter{Limit: run.MaxDeploymentPage + 1})
	wantFields(t, err, "limit")
	_, err = f.deployments.List(f.ctx, run.DeploymentFilter{Since: deployNow, Until: deployNow})
	wantFields(t, err, "until")
	_, err = f.deployments.List(f.ctx, run.DeploymentFilter{Before: "not-an-id"})
	wantFields(t, err, "before")
	_, err = f.deployments.List(f.ctx, run.DeploymentFilter{Before: "00000000-0000-4000-8000-000000000000"})
	wantFields(t, err, "before")
	_, err = f.deployments.List(f.ctx, run.DeploymentFilter{Environment: "nowhere"})
	wantCode(t, err, understudy.ENOTFOUND)
	page, err := f.deployments.List(f.ctx, run.DeploymentFilter{Environment: "staging"})
	if err != nil || page.Items == nil || len(page.Items) != 0 {
		t.Fatalf("an environment without deployments: %#v, %v; want an empty list", page.Items, err)
	}
}

func TestDeploymentAtIsTheNewestAtOrBefore(t *testing.T) {
	t.Parallel()
	f := newRunFixture(t)
	t0 := deployNow.Add(-time.Hour)
	v1 := f.record(t, "production", "v1", t0)
	v2 := f.record(t, "production", "v2", t0.Add(20*time.Minute))
	s1 := f.record(t, "staging", "s1", t0.Add(10*time.Minute))
	prod, staging := f.envIDs["production"], f.envIDs["staging"]

	if _, found, err := run.DeploymentAt(f.ctx, f.db, prod, t0.Add(-time.Second)); err != nil || found {
		t.Fatalf("before the first deployment: found %v, %v", found, err)
	}
	for _, c := range []struct {
		at   time.Time
		want string
	}{{t0, v1.ID}, {t0.Add(19 * time.Minute), v1.ID}, {t0.Add(20 * time.Minute), v2.ID}, {deployNow, v2.ID}} {
		d, found, err := run.DeploymentAt(f.ctx, f.db, prod, c.at)
		if err != nil || !found || d.ID != c.want || d.Environment != "production" {
			t.Errorf("at %s: %+v found %v, %v; want %s", c.at, d, found, err, c.want)
		}
	}

	list, err := run.DeploymentsAt(f.ctx, f.db, []run.DeploymentKey{
		{EnvironmentID: staging, At: t0}, {EnvironmentID: prod, At: t0.Add(25 * time.Minute)},
		{EnvironmentID: staging, At: deployNow}, {EnvironmentID: prod, At: t0.Add(time.Minute)},
	})
	if err != nil || len(list) != 4 {
		t.Fatalf("DeploymentsAt: %d, %v", len(list), err)
	}
	if list[0] != nil || list[1] == nil || list[1].ID != v2.ID || list[2] == nil || list[2].ID != s1.ID || list[3] == nil || list[3].ID != v1.ID {
		t.Errorf("DeploymentsAt = %v, want nil, v2, s1, v1", list)
	}
	if list, err := run.DeploymentsAt(f.ctx, f.db, nil); err != nil || len(list) != 0 {
		t.Errorf("no keys: %v, %v", list, err)
	}
}

func TestLastDeploymentOfEachEnvironment(t *testing.T) {
	t.Parallel()
	f := newRunFixture(t)
	if last, err := f.deployments.Last(f.ctx); err != nil || len(last) != 0 {
		t.Fatalf("before any deployment: %v, %v", last, err)
	}
	f.record(t, "production", "v2", deployNow.Add(-time.Minute))
	f.record(t, "production", "v1", deployNow.Add(-time.Hour)) // recorded late
	f.record(t, "staging", "s1", deployNow.Add(-2*time.Hour))
	last, err := f.deployments.Last(f.ctx)
	if err != nil || len(last) != 2 || last[0].Environment != "production" || last[0].Version != "v2" ||
		last[1].Environment != "staging" || last[1].Version != "s1" {
		t.Fatalf("last = %+v, %v; want production v2, staging s1", last, err)
	}
}
