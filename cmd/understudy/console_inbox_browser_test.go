package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/lease"
)

// deliverMail stores raw for the account with id and email through an
// inbox of its own on the server's database and key, as another replica's
// SMTP receiver would, and returns the message's id.
func deliverMail(t *testing.T, s *testServer, id, email string, raw []byte) string {
	t.Helper()
	kr, err := keyringOf(s.main.Config)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := accounts.New(accounts.Config{DB: s.main.pool, OpenLeases: lease.OpenLeases, Keyring: kr, EmailDomains: s.main.Config.EmailDomains})
	if err != nil {
		t.Fatal(err)
	}
	box, err := inbox.New(inbox.Config{DB: s.main.pool, Keyring: kr, Accounts: acc})
	if err != nil {
		t.Fatal(err)
	}
	ctx := access.WithCaller(context.Background(), access.Caller{Actor: "mx", Scope: access.ScopeInbound})
	ids, err := box.Receive(ctx, inbox.Delivery{Via: "smtp", EnvelopeFrom: "bounces@chirp.example", Raw: raw,
		Recipients: []inbox.Recipient{{Address: email, AccountID: id}}})
	if err != nil {
		t.Fatalf("receiving a message: %v", err)
	}
	return ids[0]
}

// hostileMail is an HTML-only message whose markup tries every way to run
// script or load from pixel (a test server's URL): a script that renames
// the page and calls fetch, an iframe, remote images with onerror
// handlers, a stylesheet, an SVG onload, a meta refresh and a form.
func hostileMail(to, pixel string) []byte {
	html := fmt.Sprintf(`<html><head><title>inner</title>
<script>document.title = "pwned"; try { parent.document.title = "pwned" } catch (e) {} fetch("%[1]s/script"); alert("script")</script>
<link rel="stylesheet" href="%[1]s/css"><meta http-equiv="refresh" content="0; url=%[1]s/refresh">
<style>@import url("%[1]s/import"); body { background: url("%[1]s/bg") }</style></head>
<body onload="fetch('%[1]s/onload')"><p>Your code is <strong>482913</strong>.</p>
<iframe src="%[1]s/frame"></iframe>
<img src="%[1]s/pixel" onerror="alert('onerror'); fetch('%[1]s/onerror')">
<img src="data:image/gif;base64,AAAA" onerror="fetch('%[1]s/data-onerror')">
<svg onload="fetch('%[1]s/svg')"><image href="%[1]s/svg-image"/></svg>
<object data="%[1]s/object"></object><video poster="%[1]s/poster"></video>
<div style="background-image: url(%[1]s/style)">styled</div>
<form action="%[1]s/form"><input name="q" autofocus onfocus="fetch('%[1]s/focus')"></form>
<a href="javascript:fetch('%[1]s/js')">click</a> <a href="https://chirp.example/magic?token=abc">Sign in</a>
</body></html>`, pixel)
	return fmt.Appendf(nil, "From: Chirp <no-reply@chirp.example>\r\nTo: %s\r\nSubject: Your code is 482913\r\n"+
		"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <hostile@chirp.example>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/html; charset=utf-8\r\n\r\n%s\r\n", to, strings.ReplaceAll(html, "\n", "\r\n"))
}

// inFrame checks, from inside the frame of url (Chromium runs a sandboxed
// frame in a process of its own, a target of its own that DevTools can
// still read), that it shows the mail and that the mail's script did not
// run: the frame's title is the one its markup gives, not "pwned".
func inFrame(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Type != "iframe" || info.URL != url {
			continue
		}
		// Detached, not closed, when done: closing a frame closes its page.
		fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
		defer cancel()
		got := get(t, fctx, "reading the frame", chromedp.Evaluate[map[string]any](`({title: document.title, text: document.body.innerText,
  scripts: document.scripts.length, frames: document.querySelectorAll("iframe, object, embed, form").length})`))
		if got["title"] != "Your code is 482913" || !strings.Contains(fmt.Sprint(got["text"]), "Your code is 482913.") ||
			got["scripts"] != 0.0 || got["frames"] != 0.0 {
			t.Errorf("inside the frame: %v", got)
		}
		return
	}
	t.Errorf("no frame of %s among the browser's targets %v", url, infos)
}

// A message whose HTML tries to run script, open a frame, load a remote
// image and fire an event handler is shown on its page with none of it
// happening: the test server it points at sees no request, no dialog
// opens, the title stays the console's, and the frame is sandboxed (its
// sandbox attribute is empty, and the page cannot reach into it, nor it
// out). Opened on its own, the frame's URL is sandboxed just the same.
func TestConsoleMessageHTMLRunsNothingInABrowser(t *testing.T) {
	t.Parallel()
	ctx := newTab(t)
	var hits sync.Map
	var nhits atomic.Int64
	pixel := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, true)
		nhits.Add(1)
	}))
	t.Cleanup(pixel.Close)
	var dialogs atomic.Int64
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}

	s := startServer(t, serverOptions{})
	mustOK(t, s.cli(t, s.Admin, "environments", "create", "production", "--email-domain", "qa.example.test"))
	mustOK(t, s.cli(t, s.Admin, "roles", "create", "production", "buyer", "--pool", "1"))
	a := waitReady(t, s, "production")[0]
	mid := deliverMail(t, s, a.Id, a.Identity.Email, hostileMail(a.Identity.Email, pixel.URL))
	msg := "/ui/accounts/" + a.Id + "/messages/" + mid

	signInAs(t, ctx, s, s.Admin)
	// Navigate waits for the page's load event, which waits for its frame.
	got := visit(t, ctx, s, msg)
	if !strings.Contains(got, "482913") || !strings.Contains(got, "https://chirp.example/magic?token=abc") {
		t.Fatalf("the message page lacks its code or its link:\n%s", got)
	}
	do(t, ctx, "letting any handler run", chromedp.Sleep(1500*time.Millisecond))
	if n := nhits.Load(); n != 0 {
		var paths []string
		hits.Range(func(k, _ any) bool { paths = append(paths, k.(string)); return true })
		t.Errorf("the message's markup reached the test server %d time(s): %v", n, paths)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d dialog(s) opened", n)
	}
	if title := get(t, ctx, "reading the title", chromedp.Evaluate[string](`document.title`)); title != "Message from no-reply@chirp.example · Understudy" {
		t.Errorf("the page's title is %q", title)
	}
	frame := get(t, ctx, "inspecting the frame", chromedp.Evaluate[map[string]any](`(() => {
  const f = document.querySelectorAll("iframe");
  let reach = "reachable";
  try { window.frames[0].document.title; } catch (e) { reach = e.name; }
  let eval_ = "ran";
  try { window.frames[0].eval("1"); } catch (e) { eval_ = e.name; }
  return {count: f.length, frames: window.frames.length, sandbox: f[0].getAttribute("sandbox"), hasSandbox: f[0].hasAttribute("sandbox"),
    tokens: f[0].sandbox.length, referrer: f[0].referrerPolicy, src: f[0].getAttribute("src"), srcdoc: f[0].hasAttribute("srcdoc"),
    reach: reach, eval: eval_};
})()`))
	want := map[string]any{"count": 1.0, "frames": 1.0, "sandbox": "", "hasSandbox": true, "tokens": 0.0, "referrer": "no-referrer",
		"src": msg + "/html", "srcdoc": false, "reach": "SecurityError", "eval": "SecurityError"}
	for k, v := range want {
		if frame[k] != v {
			t.Errorf("the frame's %s is %v, want %v (all: %v)", k, frame[k], v, frame)
		}
	}
	if n := get(t, ctx, "counting scripts", chromedp.Evaluate[int](`document.querySelectorAll("script:not([src])").length`)); n != 0 {
		t.Errorf("the message page has %d inline script(s)", n)
	}
	inFrame(t, ctx, s.URL+msg+"/html")

	// The frame's URL opened on its own: sandboxed by its policy alone.
	do(t, ctx, "opening the frame's URL", chromedp.Navigate(s.URL+msg+"/html"), chromedp.Sleep(1500*time.Millisecond))
	if n := nhits.Load() + dialogs.Load(); n != 0 {
		t.Errorf("the frame's URL opened on its own reached the test server or opened a dialog (%d)", n)
	}
	if title := get(t, ctx, "reading the title", chromedp.Evaluate[string](`document.title`)); title != "Your code is 482913" {
		t.Errorf("the frame's own title is %q", title)
	}
	// A script in an opaque origin cannot read the console's storage: the
	// document is sandboxed (DevTools' evaluation still runs, the page's
	// own scripts do not).
	if origin := get(t, ctx, "reading the origin", chromedp.Evaluate[string](`window.origin`)); origin != "null" {
		t.Errorf("the frame's document has origin %q, want null (sandboxed)", origin)
	}
	// The control: the browser does reach the test server when asked to,
	// so the silence above is the sandbox's, not the network's.
	do(t, ctx, "opening the test server", chromedp.Navigate(pixel.URL+"/control"))
	if _, ok := hits.Load("/control"); !ok {
		t.Errorf("the browser cannot reach the test server: the checks above prove nothing")
	}
}
