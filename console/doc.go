// Package console is Understudy's web console: server-rendered pages
// (html/template) with htmx for partial updates, served by the same binary
// under /ui/, over the same domain services as the REST API (package
// openapi), so both doors see and change the same things the same way.
//
// # Pages
//
// The overview (/ui/: every environment with its domains, apps,
// destinations, accounts by status, last sync and isolation audit), an
// environment (roles with pool size and policy, its accounts), the
// accounts (keyset-paged, filtered by environment, role and status, each
// with its lease and last reset; or found by email, username or id through
// accounts.Service.Search), an account (identity without password, refs
// per app, snapshots and named states, its state compared with the
// baseline path by path, its audit events, a retired one's replacement,
// and its inbox: the newest 20 messages), a message (an admin's alone:
// its headers, sender checks, codes, links, text, and its HTML body in a
// sandboxed frame, with its .eml to download),
// the leases (refreshed every 5 s, keeping focus, pausable), a lease (its
// holder, token, times, and a link to its run), the runs (for each flow of
// the last hour, day or week a chart of its runs' outcomes over time,
// drawn on the server as inline SVG with the deployments marked, then the
// newest runs, keyset-paged, filtered by environment, flow and outcome), a
// run (its outcome, failure, what it named, the deployment it ran against,
// its lease, account and trace, its artifacts to download, the mail its
// account received during it, and the audit events of its requests), the
// sync runs and exclusion lists, the isolation violations and audits, and
// the audit trail (details as fields, targets linked, paged both ways).
//
// # Layout
//
// console.go wires the routes; pages*.go and actions.go are the handlers,
// one per page or action; views.go and templates/ render; render.go turns
// errors into responses; guard.go and session.go are the session, its
// cookie and its anti-forgery checks. The console holds SQL only for its
// own table, console_sessions (session.go). Every other read goes through
// the owner of the table: a lease's page calls lease.Service (package
// lease, which holds the leases' SQL), the runs pages call run.Service
// (List and Get as GET /v1/runs does, and Chart, which groups a window's
// runs by flow in one bounded statement), run.Deployments and
// run.Artifacts, and an action calls the same service method as the REST
// handler does. The lists of many accounts (lists.go)
// are put together from the owners' read models: a keyset page of accounts
// (accounts.Pages), then the open leases of that page's accounts
// (lease.Service.OpenOn) and their last resets
// (snapshot.Service.LastResets), each one statement by the page's ids.
//
// # Time
//
// Config.Now is the console's clock: relative times on pages, the audit
// trail's "since" filter, and the sessions' expiry, which the session
// statements take as a parameter (the database's clock when it is nil).
//
// # Sessions
//
// A token is pasted once into the sign-in page and exchanged for a random
// session id in an HttpOnly, SameSite=Strict cookie (Secure over https),
// scoped to /ui/. Only the id's SHA-256 is stored, with the token's id:
// every request checks in one statement that the session is live and its
// token not revoked, and moves its idle expiry forward. Signing out deletes
// the session.
//
// # Forgery and scripts
//
// Every POST carries the session's anti-forgery token (the _csrf field, or
// the X-CSRF-Token header that htmx sends from hx-headers on <body>), and
// must come from this origin (Origin, Sec-Fetch-Site); otherwise it is
// refused with 403. The sign-in form, which has no session yet, is
// protected by a double-submit cookie. Pages forbid inline script
// (Content-Security-Policy script-src 'self'); htmx is vendored under
// static/ and told to inject no style and evaluate nothing.
//
// # Scopes and actions
//
// A token's scope decides what the console shows and allows, as the REST
// API does for the same calls: admin resets, retires, syncs and audits;
// runner (and admin) releases leases and reads a password (a runner only
// of its own leases, through lease.Service.Credentials, and offered only
// where lease.Service.Holds); reader sees no action at all, and a retired
// account offers none. Each action is a confirmation
// page, then a POST that calls the same service method as the REST handler
// with the session's token as the caller, so ownership checks and the
// audit trail are the same. No page shows a password: reading one is its
// own action, audited as a credential read.
//
// Mail is read the same way: every session lists an account's messages
// (sender, time, the subject with its codes redacted), and only an admin
// sees their codes and links and opens one; its .eml download goes through
// inbox.Service.Raw, which audits it (message.read_raw).
//
// # Runs and their evidence
//
// The runs pages read what GET /v1/runs and its artifacts read, so every
// session sees them (scope reader, as the REST API asks). The charts are
// bounded: at most run.MaxChartFlows flows (those that ran last), at most
// run.MaxChartMarks runs each, counted from at most run.MaxChartScan runs
// of the window, and the page says when a bound left something out. Every
// text in the SVG goes through html/template, and a link a runner sent (a
// CI job, evidence) is a link only when it is http or https. An artifact
// is downloaded through run.Artifacts with the REST download's headers
// (run.SetDownloadHeaders: an attachment, nosniff, a sandbox), so no
// uploaded file runs in the console's origin. A run's trace links to the
// tracing backend through Config.TraceURL, or shows its id as text.
//
// # Errors
//
// fail is the one place where an error becomes a response. An action on
// something that changed meanwhile shows the current state with a message
// (409), never an error page; a database that does not answer shows a
// banner that polls /ui/-/health and reloads the page once it answers.
package console
