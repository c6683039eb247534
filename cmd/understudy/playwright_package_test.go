package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/openapi"
)

// The fresh project that installs the packed fixture: the README's minimal
// playwright.config.ts (with Debian's Chromium) and two spec files that
// import only from the package.
var consumerFiles = map[string]string{
	"playwright.config.ts": `import { defineConfig } from '@playwright/test';
import { ensureRunId } from '@understudy/playwright';

ensureRunId();

export default defineConfig({
  testDir: './tests',
  workers: 2,
  reporter: [['list']],
  use: {
    baseURL: process.env.CHIRP_URL,
    trace: 'off',
    launchOptions: { executablePath: process.env.CHROMIUM_PATH || undefined, args: ['--no-sandbox', '--disable-gpu'] },
  },
});
`,
	// Two tests in two workers at once: each signs in to chirp as its
	// worker's account, checks in, and waits for the other, so that both
	// hold their leases at the same time.
	"tests/parallel.spec.ts": `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect, type UnderstudyAccount } from '@understudy/playwright';

test.describe.configure({ mode: 'parallel' });

async function signIn(page: import('@playwright/test').Page, a: UnderstudyAccount) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(a.email);
  await page.getByLabel('Password').fill(a.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('viewer')).toHaveText('Signed in as @' + a.username);
}

for (const n of [1, 2]) {
  test('worker check-in ' + n, async ({ page, understudy }, testInfo) => {
    await signIn(page, understudy);
    const dir = process.env.UNDERSTUDY_E2E_DIR!;
    writeFileSync(join(dir, 'check-in-' + n + '.json'), JSON.stringify({
      parallelIndex: testInfo.parallelIndex, holder: understudy.holder, leaseId: understudy.leaseId, accountId: understudy.accountId,
    }));
    const other = join(dir, 'check-in-' + (3 - n) + '.json');
    await expect.poll(() => existsSync(other), { timeout: 45_000, intervals: [100] }).toBe(true);
    const peer = JSON.parse(readFileSync(other, 'utf8'));
    expect(peer.accountId).not.toBe(understudy.accountId);
  });
}
`,
	// Two tests that need not meet: with a pool of one they run one worker
	// after the other.
	"tests/serial.spec.ts": `import { test, expect } from '@understudy/playwright';

test.describe.configure({ mode: 'parallel' });

for (const n of [1, 2]) {
  test('serial lease ' + n, async ({ understudy }) => {
    expect(understudy.email).toMatch(/@qa\.example\.test$/);
    expect(understudy.password).not.toBe('');
  });
}
`,
}

// TestPlaywrightPackage takes the fixture's documented route: npm pack
// (which builds it), a fresh project that depends on the tarball and on
// @playwright/test, npm install, and a run with two workers against a real
// server and chirp. Two workers hold two buyer accounts at once; a run of
// two workers on a role whose pool holds one warns once that it is serial,
// and still passes.
func TestPlaywrightPackage(t *testing.T) {
	t.Parallel()
	_, chromium := playwrightTools(t)
	npm, err := exec.LookPath("npm")
	if err != nil {
		msg := "the packed Playwright fixture cannot be tested: npm is not on the PATH (Debian: apt-get install npm)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	tarball := packFixture(t, npm)
	checkTarball(t, tarball)
	project := freshProject(t, npm, tarball)
	fixtureDir, err := filepath.Abs(playwrightDir)
	if err != nil {
		t.Fatal(err)
	}
	linked := freshProject(t, npm, fixtureDir)
	if fi, err := os.Lstat(filepath.Join(linked, "node_modules", "@understudy", "playwright")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("npm install <dir> did not link the fixture's directory: %v", err)
	}

	site := newChirpSite(t, map[string]int{"buyer": 2, "seller": 1})
	s := site.s
	env := func(runID, role, dir string) []string {
		return []string{"UNDERSTUDY_URL=" + s.URL, "UNDERSTUDY_TOKEN=" + s.Runner, "UNDERSTUDY_RUN_ID=" + runID,
			"UNDERSTUDY_ENVIRONMENT=production", "UNDERSTUDY_ROLE=" + role, "UNDERSTUDY_E2E_DIR=" + dir,
			"CHIRP_URL=" + site.url, "CHROMIUM_PATH=" + chromium}
	}
	stamp := time.Now().UTC().Format("150405.000000")

	// Two workers on a pool of two: in parallel, on two accounts, no warning.
	runID := "pkg-parallel-" + stamp
	dir := t.TempDir()
	out := runConsumer(t, project, env(runID, "buyer", dir), "tests/parallel.spec.ts")
	if strings.Contains(out, s.Runner) {
		t.Error("the Playwright output shows the runner token")
	}
	if !strings.Contains(out, "2 passed") {
		t.Errorf("the packed fixture's run did not pass both tests:\n%s", out)
	}
	if strings.Contains(out, "has a pool of") {
		t.Errorf("a pool of two with two workers warns:\n%s", out)
	}
	checkIns := readCheckIns(t, dir)
	if len(checkIns) != 2 || checkIns[0].ParallelIndex == checkIns[1].ParallelIndex || checkIns[0].AccountID == checkIns[1].AccountID {
		t.Fatalf("the two workers' check-ins = %+v, want two workers on two accounts", checkIns)
	}
	for _, c := range checkIns {
		if !strings.HasPrefix(c.Holder, runID+" worker ") {
			t.Errorf("holder %q, want %q", c.Holder, runID+" worker <n>")
		}
	}
	checkReleased(t, site.admin, runID, 2)

	// Two workers on a pool of one: one warning for the run, and the
	// workers take the one account in turn.
	runID = "pkg-serial-" + stamp
	out = runConsumer(t, project, env(runID, "seller", t.TempDir()), "tests/serial.spec.ts")
	if !strings.Contains(out, "2 passed") {
		t.Errorf("the serial run did not pass both tests:\n%s", out)
	}
	want := "Understudy: role seller of production has a pool of 1 account, but this run has 2 workers"
	if n := strings.Count(out, want); n != 1 {
		t.Errorf("the pool warning was printed %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "the run is serial, not parallel") || !strings.Contains(out, "--workers=1") {
		t.Errorf("the pool warning does not say the run is serial and what to do:\n%s", out)
	}
	checkReleased(t, site.admin, runID, 2)

	// The directory route: npm install <dir> links the fixture's directory,
	// which has a @playwright/test of its own; the fixture runs on the
	// project's.
	runID = "pkg-linked-" + stamp
	out = runConsumer(t, linked, env(runID, "buyer", t.TempDir()), "tests/serial.spec.ts")
	if !strings.Contains(out, "2 passed") {
		t.Errorf("the linked fixture's run did not pass both tests:\n%s", out)
	}
	checkReleased(t, site.admin, runID, 2)
}

// packFixture runs npm pack in the fixture's directory, which builds it
// (its prepare script), and returns the tarball.
func packFixture(t *testing.T, npm string) string {
	t.Helper()
	dest := t.TempDir()
	runNPM(t, npm, playwrightDir, "pack", "--pack-destination", dest)
	files, _ := filepath.Glob(filepath.Join(dest, "*.tgz"))
	if len(files) != 1 {
		t.Fatalf("npm pack made %v, want one tarball", files)
	}
	return files[0]
}

// checkTarball checks that the tarball holds the compiled JavaScript and
// its type declarations, and no TypeScript source or tests.
func checkTarball(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	for _, want := range []string{"package/package.json", "package/README.md", "package/dist/fixture.js", "package/dist/fixture.d.ts",
		"package/dist/client.js", "package/dist/client.d.ts"} {
		if !slices.Contains(names, want) {
			t.Errorf("the tarball lacks %s: %v", want, names)
		}
	}
	for _, n := range names {
		if strings.HasSuffix(n, ".ts") && !strings.HasSuffix(n, ".d.ts") || strings.Contains(n, "/tests/") || strings.Contains(n, "node_modules") {
			t.Errorf("the tarball holds %s", n)
		}
	}
}

// freshProject makes a project in a temporary directory that depends on
// the fixture at path (a tarball, or its directory) and on the fixture's
// own version of @playwright/test, and installs them, from the npm cache
// when it can.
func freshProject(t *testing.T, npm, path string) string {
	t.Helper()
	var fixture struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	b, err := os.ReadFile(filepath.Join(playwrightDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fixture); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "consumer")
	pkg, _ := json.MarshalIndent(map[string]any{
		"name": "understudy-fixture-consumer", "private": true,
		"devDependencies": map[string]string{
			"@understudy/playwright": "file:" + path,
			"@playwright/test":       fixture.DevDependencies["@playwright/test"],
		},
	}, "", "  ")
	files := map[string]string{"package.json": string(pkg)}
	for name, text := range consumerFiles {
		files[name] = text
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runNPM(t, npm, dir, "install", "--prefer-offline", "--no-audit", "--no-fund")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@understudy", "playwright", "dist", "fixture.js")); err != nil {
		t.Fatalf("the installed package has no compiled fixture: %v", err)
	}
	return dir
}

// runNPM runs npm in dir and fails, showing its output, unless it succeeds.
func runNPM(t *testing.T, npm, dir string, argv ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, argv...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "npm_config_update_notifier=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// runConsumer runs the fresh project's Playwright with two workers on the
// spec file and fails, showing the output, unless it passes.
func runConsumer(t *testing.T, dir string, env []string, spec string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "node_modules", ".bin", "playwright"), "test", "--workers=2", spec)
	cmd.Dir = dir
	// The fixture's marker files go to a directory of this test.
	cmd.Env = append(append(os.Environ(), env...), "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("playwright test --workers=2 %s in the fresh project: %v\n%s", spec, err, out)
	}
	if os.Getenv("PLAYWRIGHT_SHOW") != "" {
		t.Log(string(out))
	}
	return string(out)
}

// checkReleased checks that the run took n leases and released each.
func checkReleased(t *testing.T, admin *openapi.ClientWithResponses, runID string, n int) {
	t.Helper()
	r, err := admin.ListLeasesWithResponse(context.Background(), &openapi.ListLeasesParams{All: new(true)})
	if err != nil || r.JSON200 == nil {
		t.Fatalf("listing leases: %v", err)
	}
	got := 0
	for _, l := range r.JSON200.Items {
		if !strings.HasPrefix(l.Holder, runID+" worker ") {
			continue
		}
		got++
		if l.Status != openapi.LeaseStatusReleased {
			t.Errorf("lease %s (%s) is %s after the run, want released", l.Id, l.Holder, l.Status)
		}
	}
	if got != n {
		t.Errorf("run %s took %d leases, want %d", runID, got, n)
	}
}
