package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/openapi"
)

func TestCLIInbox(t *testing.T) {
	t.Parallel()
	x := newInboxSite(t, serverOptions{})
	s, acct := x.s, x.lease1.Credentials.Email
	lease, account := x.lease1.Lease.Id, x.lease1.Lease.AccountId

	// Nothing yet: --code exits 1 saying so, after its wait.
	start := time.Now()
	mustFail(t, s.cli(t, s.Runner, "inbox", lease, "--code", "--wait", "1s"), exitError, "no message with a code", lease)
	if time.Since(start) < time.Second {
		t.Fatal("--code --wait 1s did not wait")
	}
	ids := x.delivered(t, signInMail(acct, "918273"), acct)

	if out := mustOK(t, s.cli(t, s.Runner, "inbox", lease, "--code")).Stdout; out != "918273\n" {
		t.Fatalf("--code printed %q", out)
	}
	if out := mustOK(t, s.cli(t, s.Runner, "inbox", lease, "--link", "--from", "chirp")).Stdout; out != "https://chirp.example.test/magic?token=tok918273\n" {
		t.Fatalf("--link printed %q", out)
	}
	rs := rows(t, mustOK(t, s.cli(t, s.Runner, "inbox", lease, "--wait", "5s")).Stdout)
	if len(rs) != 1 || rs[0][len(rs[0])-1] != ids[0] {
		t.Fatalf("the lease's inbox: %v", rs)
	}
	var list openapi.MessageList
	res := mustOK(t, s.cli(t, s.Runner, "inbox", lease, "-o", "json"))
	if json.Unmarshal([]byte(res.Stdout), &list) != nil || len(list.Items) != 1 || list.Items[0].Body == nil {
		t.Fatalf("-o json: %s", res.Stdout)
	}
	// A second code: --after the first message waits for it, and past it
	// there is nothing; an --after that names no message is refused.
	second := x.delivered(t, signInMail(acct, "564738"), acct)
	if out := mustOK(t, s.cli(t, s.Runner, "inbox", lease, "--code", "--after", ids[0])).Stdout; out != "564738\n" {
		t.Fatalf("--code --after the first message printed %q", out)
	}
	mustFail(t, s.cli(t, s.Runner, "inbox", lease, "--code", "--after", second[0], "--wait", "1s"), exitError, "no message with a code")
	if rs := rows(t, mustOK(t, s.cli(t, s.Runner, "inbox", lease, "--after", ids[0])).Stdout); len(rs) != 1 || rs[0][len(rs[0])-1] != second[0] {
		t.Fatalf("the lease's inbox after the first message: %v", rs)
	}
	if out := mustOK(t, s.cli(t, s.Admin, "inbox", account, "--code", "--after", ids[0])).Stdout; out != "564738\n" {
		t.Fatalf("an admin's --code --after by account printed %q", out)
	}
	mustFail(t, s.cli(t, s.Runner, "inbox", lease, "--after", "no-such-message"), exitInvalid, "after")
	// Another runner's lease: refused.
	mustFail(t, s.cli(t, x.runner2, "inbox", lease, "--code"), exitAuth, "only that token or an admin token")

	// By account: an admin reads the code, a reader only summaries.
	if out := mustOK(t, s.cli(t, s.Admin, "inbox", account, "--code")).Stdout; out != "564738\n" {
		t.Fatalf("an admin's --code by account printed %q, want the newest message's", out)
	}
	res = mustOK(t, s.cli(t, s.Reader, "inbox", account, "-o", "json"))
	if strings.Contains(res.Stdout, "918273") || strings.Contains(res.Stdout, "564738") || !strings.Contains(res.Stdout, ids[0]) {
		t.Fatalf("a reader's view of the account's inbox: %s", res.Stdout)
	}
	mustFail(t, s.cli(t, s.Reader, "inbox", account, "--code"), exitAuth, "admin token only")
	mustFail(t, s.cli(t, s.Admin, "inbox", account, "--wait", "1s"), exitUsage, "not a lease id")
	mustFail(t, s.cli(t, s.Admin, "inbox", lease, "--code", "--link"), exitUsage, "choose one")
}
