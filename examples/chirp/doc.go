// Package chirp is Understudy's example app: a small but real social app
// with its own HTTP API and PostgreSQL schema (users, profiles, posts,
// follows, likes, a scored leaderboard, a feed, notifications and a cart).
// Understudy's tests, benchmarks and `understudy demo` run against it, so
// every capability is shown on something that behaves like a real app.
//
// # The app
//
// Users sign up (POST /users), post (each post adds PostPoints to their
// score), follow each other (the followee is notified), like posts (the
// author is notified), collect points and fill a cart. GET /leaderboard,
// GET /users/{id}/feed and GET /users/{id}/notifications read it back;
// GET /search?q=prefix&viewer=id finds users by the start of their username;
// GET /trending?viewer=id lists the users with the most posts in the last day.
// Errors are application/problem+json: {"code", "field", "detail"}, with
// 400 malformed, 422 invalid, 404 not_found, 409 conflict, 503 unavailable.
//
// # Pages
//
// A minimal server-rendered site, for people and for browser tests (the
// Playwright examples sign in to it with a leased account): GET /login and
// POST /login sign in with email and password (SetPassword, Authenticate),
// GET / shows the viewer's posts and points, a form to post (POST /posts),
// their feed and the leaderboard as the viewer sees them, and POST /logout
// signs out. A session is a random token in an HttpOnly, SameSite=Lax
// cookie, stored as its SHA-256 (StartSession, SessionUser, EndSession);
// the forms refuse cross-origin posts. Passwords are bcrypt hashes: a
// synthetic user signs in with its Understudy account's password, set when
// it is provisioned and replaced when it is provisioned again.
//
// # Sign-in walls
//
// Password alone is the default. With Config.SignInCode (on when
// Config.SMTPAddr is set), the password opens a pending sign-in (a cookie
// token, stored hashed) and chirp mails the user a 6-digit code and a
// magic link (Config.BaseURL + /login/link?token=…) over SMTP; the code is
// entered at /login/code (10 minutes, 5 tries), the link works once within
// 10 minutes. A user with a TOTP secret (every account provisioned in the
// role "admin", whose provision answer carries the otpauth:// URI) then
// enters the authenticator code at /login/totp. A mail that cannot be
// sent is said on the sign-in page (503), never a 500.
//
// # Isolation
//
// Synthetic users (Understudy's accounts) are kept apart from real ones:
// a real viewer never sees a synthetic user on the leaderboard or in a
// feed, nor gets notified of what one did; a synthetic viewer (a tester)
// sees synthetic users only. The rule lives in one place, the SQL function
// visible_users(viewer) created by Migrate, and every query that shows
// users to a viewer selects them through it.
//
// With Config.Isolation (Understudy's isolation/client), the leaderboard,
// feeds, search and notifications are also filtered through Understudy's
// signed isolation list, surface by surface (leaderboards, social_feed,
// search, notifications), with chirp's users named "chirp:<id>"; the SQL
// rule stays as a second line of defence. Each read then asks SQL for twice
// its page so that a filtered page still fills. Trending is filtered the
// same way, on chirp's own surface "trending" (an environment declares it
// among its custom surfaces).
//
// Config.LeakTrending plants a leak, for tests of Understudy's isolation
// audit: trending then forgets both filters.
//
// # The webhook contract
//
// Under /understudy/ chirp implements openapi/app-webhook.yaml, behind
// signature verification with Config.WebhookSecret. The same operations are
// Go methods (ProvisionUser, VerifyUser, SnapshotUser, RestoreUser,
// DeprovisionUser) whose errors wrap the providers sentinel errors, and
// ServeExec serves them to Understudy's exec provider over stdin/stdout
// (cmd/chirp-exec). A ref is a users.id in decimal. POST /understudy/surface
// (SurfaceRefs) tells who a real viewer sees on leaderboards, social_feed,
// search, notifications and trending now, for Understudy's isolation audit;
// any other surface is 404 no_surface.
//
// # Correlation
//
// A request that carries a W3C traceparent (Understudy's webhook calls, the
// Playwright fixture's requests) is logged once, with its trace id (and
// the lease of its X-Understudy-Lease header), and so is every line logged
// while it runs. Error reports (reportError) say synthetic=true when the
// user the request acts as is synthetic (users.is_synthetic, which the
// webhook contract's provision sets). With Config.Tracer every request is
// a server span of its trace.
//
// # State
//
// SnapshotUser returns a UserState as JSON, byte-identical for the same
// state:
//
//	{"version":1,
//	 "profile":{"bio":"","avatar_url":""},
//	 "posts":[{"id":7,"body":"hi","created_at":"2025-01-02T03:04:05.123456Z"}],
//	 "follows":[{"followee_id":3,"created_at":"…"}],
//	 "likes":[{"post_id":9}],
//	 "score":{"points":10},
//	 "notifications":[{"id":4,"kind":"follow","body":"@ada followed you","read":false,"created_at":"…"}],
//	 "cart":[{"sku":"mug","quantity":2}]}
//
// Lists are in primary-key order, empty lists are [], a missing profile or
// score row is null, times are UTC. The users row (username, email,
// ownership) is identity, not state: it is neither captured nor restored.
// RestoreUser replaces the user's rows with the state's in one transaction,
// keeping post and notification ids and times; deleting the user's posts
// also deletes the likes other users gave them (ON DELETE CASCADE), which a
// restore cannot bring back.
package chirp
