package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

// inboxFlags are the flags of the inbox command.
type inboxFlags struct {
	wait          time.Duration
	code, link    bool
	from, subject string
	after         string
}

func (a *cli) inboxCommand() *cobra.Command {
	var f inboxFlags
	cmd := &cobra.Command{
		Use:   "inbox LEASE|ACCOUNT [--wait 30s] [--code|--link] [--from S] [--subject S] [--after MESSAGE]",
		Short: "Read the mail of a lease's account (or an account's), or wait for its code or link",
		Long: `Reads the mail of a lease's account since the lease began (a runner's own lease, or any
for an admin), newest first, waiting up to --wait for a first matching message. With --code it
prints only the most likely code of the newest message that has one, with --link only its most
likely link; when none arrives within the wait it exits 1. --after MESSAGE keeps the messages
received after that one (with -o json, each answer names its message_id): a test that asked for a
second code waits for it with --after the first one's message. Given an account id instead, it
lists the account's messages: with their bodies for an admin token, as summaries for any other.`,
		Args: args("lease-or-account"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if f.code && f.link {
				return usageErrorf("--code and --link go alone: choose one")
			}
			if f.wait < 0 || f.wait > time.Minute {
				return usageErrorf("--wait must be 0 to 1m, got %s", f.wait)
			}
			c, err := a.leaseClient(f.wait)
			if err != nil {
				return err
			}
			l, err := c.GetLeaseWithResponse(cmd.Context(), argv[0])
			if err != nil || l.StatusCode() != http.StatusNotFound {
				if err := check(l, err); err != nil {
					return err
				}
				return a.leaseInbox(cmd, c, argv[0], f)
			}
			return a.accountInbox(cmd, c, argv[0], f)
		},
	}
	fs := cmd.Flags()
	fs.DurationVar(&f.wait, "wait", 0, "how long to wait for a matching message, up to 1m (a lease only)")
	fs.BoolVar(&f.code, "code", false, "print only the most likely code of the newest message with one")
	fs.BoolVar(&f.link, "link", false, "print only the most likely link of the newest message with one")
	fs.StringVar(&f.from, "from", "", "only messages whose From address contains this")
	fs.StringVar(&f.subject, "subject", "", "only messages whose subject contains this")
	fs.StringVar(&f.after, "after", "", "only messages received after this message id")
	return cmd
}

// leaseInbox reads the inbox of lease id.
func (a *cli) leaseInbox(cmd *cobra.Command, c *openapi.ClientWithResponses, id string, f inboxFlags) error {
	wait, from, subject, after := new(f.wait.String()), optional(f.from), optional(f.subject), optional(f.after)
	if !f.code && !f.link {
		resp, err := c.ListLeaseMessagesWithResponse(cmd.Context(), id, &openapi.ListLeaseMessagesParams{Wait: wait, From: from, Subject: subject, After: after})
		return showReply(a, resp, err, func(w io.Writer, l openapi.MessageList) { messageTable(w, l.Items) })
	}
	kind := openapi.Code
	if f.link {
		kind = openapi.Link
	}
	resp, err := c.GetLeaseCodeWithResponse(cmd.Context(), id, &openapi.GetLeaseCodeParams{Wait: wait, From: from, Subject: subject, Kind: &kind, After: after})
	if err == nil && resp.StatusCode() == http.StatusNotFound {
		var p openapi.Problem
		if json.Unmarshal(resp.Body, &p) == nil && p.Type == "urn:understudy:problem:no-message" {
			return &codedError{code: exitError, err: errors.New(p.Detail)}
		}
	}
	if err := check(resp, err); err != nil {
		return err
	}
	return a.showFound(resp.Body, deref(resp.JSON200.Code), deref(resp.JSON200.Link), f.link)
}

// accountInbox lists the messages of account id; with --code or --link,
// it prints the newest one's from the bodies an admin token reads.
func (a *cli) accountInbox(cmd *cobra.Command, c *openapi.ClientWithResponses, id string, f inboxFlags) error {
	if f.wait > 0 {
		return usageErrorf("--wait waits on a lease's inbox: %s is not a lease id (an account's inbox is read as it is)", id)
	}
	resp, err := c.ListAccountMessagesWithResponse(cmd.Context(), id, &openapi.ListAccountMessagesParams{Bodies: new(true), Limit: new(100), After: optional(f.after)})
	if err := check(resp, err); err != nil {
		return err
	}
	var kept []openapi.Message
	for _, m := range resp.JSON200.Items {
		if strings.Contains(strings.ToLower(m.From), strings.ToLower(f.from)) && strings.Contains(strings.ToLower(m.Subject), strings.ToLower(f.subject)) {
			kept = append(kept, m)
		}
	}
	if !f.code && !f.link {
		body, err := json.Marshal(openapi.MessageList{Items: nonNilList(kept)})
		if err != nil {
			return err
		}
		return a.show(body, func(w io.Writer) { messageTable(w, kept) })
	}
	for _, m := range kept {
		if m.Body == nil {
			return &codedError{code: exitAuth, err: errors.New("an account's codes and links are shown to an admin token only; read them by lease id with the runner token that holds it")}
		}
		if code, link := bestOf(*m.Body); (f.code && code != "") || (f.link && link != "") {
			body, err := json.Marshal(map[string]any{"message_id": m.Id, "received_at": m.ReceivedAt, "code": code, "link": link})
			if err != nil {
				return err
			}
			return a.showFound(body, code, link, f.link)
		}
	}
	what := map[bool]string{false: "code", true: "link"}[f.link]
	return &codedError{code: exitError, err: fmt.Errorf("no message of account %s has a %s", id, what)}
}

// showFound prints a code or a link alone (a line a script can read), or
// the whole answer with -o json.
func (a *cli) showFound(body []byte, code, link string, wantLink bool) error {
	if a.output == "json" {
		return a.show(body, nil)
	}
	v := code
	if wantLink {
		v = link
	}
	_, err := fmt.Fprintln(a.stdout, v)
	return err
}

// bestOf is a body's most likely code and link (never an unsubscribe
// link), as the server's /code answer picks them.
func bestOf(b openapi.MessageBody) (code, link string) {
	if len(b.Codes) > 0 {
		code = b.Codes[0].Value
	}
	for _, l := range b.Links {
		if l.Kind != "unsubscribe" {
			link = l.Url
			if deref(l.Tracking) && deref(l.Target) != "" {
				link = *l.Target
			}
			break
		}
	}
	return code, link
}

func messageTable(w io.Writer, list []openapi.Message) {
	row(w, "RECEIVED", "FROM", "TO", "SUBJECT", "CODES", "LINKS", "ID")
	for _, m := range list {
		row(w, m.ReceivedAt.Format(time.RFC3339), orDash(m.From), m.To, orDash(m.Subject), strconv.Itoa(m.CodeCount), strconv.Itoa(m.LinkCount), m.Id)
	}
}

// optional is nil for "", else a pointer to s.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNilList[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

// deref is *p, or the zero value for nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
