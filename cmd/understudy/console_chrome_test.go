package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// updateScreenshots makes the console's browser test write the README's
// screenshots to docs/ (go test ./cmd/understudy -run ConsoleInABrowser -update-screenshots).
var updateScreenshots = flag.Bool("update-screenshots", false, "write the console screenshots of the README to docs/")

// chromiumPath returns CHROMIUM_PATH or Debian's Chromium, or skips the test when it is
// missing, except under CI=true, where it must be there (.ci/run installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); p != "" && err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is not installed, and CI needs the console's browser tests: apt-get install chromium (.ci/run does)")
	}
	t.Skip("Chromium is not installed (apt-get install chromium): the console's browser tests are skipped")
	return ""
}

// newTab starts a headless Chromium of its own (a fresh profile, nothing
// that reaches the network) and returns a tab, closed when the test ends.
func newTab(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(chromiumPath(t)), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-proxy-server", true), chromedp.WindowSize(1280, 900)}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// do runs steps in the tab or fails the test, saying what it was doing.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs an action that returns a value in the tab, or fails the test.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// textOf returns the visible text of the page's main element.
func textOf(t *testing.T, ctx context.Context) string {
	t.Helper()
	return get(t, ctx, "reading the page", chromedp.Text(chromedp.CSS("main")))
}

// shot saves a full-page screenshot of the tab as name.png in dir.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png := get(t, ctx, "taking a screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// signInAs signs the tab in with token through the sign-in page.
func signInAs(t *testing.T, ctx context.Context, s *testServer, token string) {
	t.Helper()
	do(t, ctx, "signing in", chromedp.Navigate(s.URL+"/ui/signin"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitNotPresent(chromedp.ID("token")), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// visit opens path and waits for its heading.
func visit(t *testing.T, ctx context.Context, s *testServer, path string) string {
	t.Helper()
	do(t, ctx, "opening "+path, chromedp.Navigate(s.URL+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
	return textOf(t, ctx)
}

// confirmAction follows an action's link to its confirmation page, checks
// its question, and confirms.
func confirmAction(t *testing.T, ctx context.Context, link, question string) string {
	t.Helper()
	do(t, ctx, "opening the confirmation of "+link, chromedp.Click(chromedp.Search(`//a[normalize-space()="`+link+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(".confirm")))
	if got := textOf(t, ctx); !strings.Contains(got, question) {
		t.Fatalf("the confirmation of %s asks %q, want %q", link, got, question)
	}
	do(t, ctx, "confirming "+link, chromedp.Click(chromedp.CSS(".confirm button[type=submit]")),
		chromedp.WaitNotPresent(chromedp.CSS(".confirm")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	return textOf(t, ctx)
}

// noHorizontalScroll fails the test when the page is wider than the viewport.
func noHorizontalScroll(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	sw := get(t, ctx, "measuring "+page, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	iw := get(t, ctx, "measuring "+page, chromedp.Evaluate[int](`window.innerWidth`))
	if sw > iw {
		t.Errorf("%s scrolls sideways on a phone: %dpx wide in a %dpx viewport", page, sw, iw)
	}
}

// phone makes the tab a 390×844 phone screen.
func phone(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: 390, Height: 844, DeviceScaleFactor: 3, Mobile: true}); err != nil {
		t.Fatalf("emulating a phone: %v", err)
	}
}
