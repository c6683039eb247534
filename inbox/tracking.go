package inbox

import (
	"net/url"
	"regexp"
	"strings"
)

// redirectParams are the query parameters a redirector names its target
// in.
var redirectParams = []string{"url", "u", "redirect", "redirect_url", "redirect_to", "target",
	"dest", "destination", "link", "goto", "to", "r", "q"}

// sesPath is the path of an Amazon SES click: /L0/<target, escaped>/...
var sesPath = regexp.MustCompile(`^/L\d+/([^/]+)`)

// trackerTarget reports whether u is a click-tracking redirect, and where
// it leads when u says so. It knows SendGrid, Mailchimp, Mailgun, HubSpot,
// Amazon SES, Mandrill, Postmark, Mailjet, SparkPost and Customer.io, and
// any other link whose own address says nothing of its purpose but whose
// query carries an http or https address (?url=, ?redirect=, ?u=...): a
// sign-in link with a ?redirect= back into the app is no tracker.
func trackerTarget(u *url.URL) (target *url.URL, ok bool) {
	host := strings.ToLower(u.Hostname())
	path := u.EscapedPath()
	switch {
	case strings.HasSuffix(host, ".awstrack.me"):
		if m := sesPath.FindStringSubmatch(path); m != nil {
			if t, err := url.PathUnescape(m[1]); err == nil {
				return webTarget(t), true
			}
		}
		return nil, true
	case strings.HasSuffix(host, "sendgrid.net") && (strings.HasPrefix(path, "/ls/click") || strings.HasPrefix(path, "/wf/click")),
		strings.HasSuffix(host, ".list-manage.com") && strings.HasPrefix(path, "/track/click"),
		strings.HasPrefix(host, "email.") && strings.HasPrefix(path, "/c/"),
		strings.HasSuffix(host, "hubspotlinks.com"), strings.HasSuffix(host, "hubspotemail.net"),
		strings.HasSuffix(host, "hubspotstarter.net"), host == "track.hubspot.com",
		strings.HasSuffix(host, "mandrillapp.com") && strings.HasPrefix(path, "/track/click"),
		strings.HasSuffix(host, "pstmrk.it"),
		strings.HasSuffix(host, ".mjt.lu") && strings.HasPrefix(path, "/lnk/"),
		strings.HasSuffix(host, "sparkpostmail.com") && strings.HasPrefix(path, "/f/"),
		strings.HasSuffix(host, "customeriomail.com"):
		return queryTarget(u), true
	}
	if urlKind(withoutRedirects(u)) != "" {
		return nil, false
	}
	if t := queryTarget(u); t != nil {
		return t, true
	}
	return nil, false
}

// queryTarget is the http or https address in u's redirect parameters.
func queryTarget(u *url.URL) *url.URL {
	q := u.Query()
	for _, k := range redirectParams {
		if t := webTarget(q.Get(k)); t != nil {
			return t
		}
	}
	return nil
}

// withoutRedirects is u without its redirect parameters, so that their
// target does not speak for u's own purpose.
func withoutRedirects(u *url.URL) *url.URL {
	q := u.Query()
	for _, k := range redirectParams {
		q.Del(k)
	}
	v := *u
	v.RawQuery = q.Encode()
	return &v
}

// webTarget parses a tracker's target, which must be an absolute http or
// https address of at most maxLinkLen bytes.
func webTarget(raw string) *url.URL {
	if len(raw) > maxLinkLen {
		return nil
	}
	return webURL(strings.TrimSpace(raw))
}
