// Package exec is the app provider that runs a program: for every
// operation it starts the configured command, writes one JSON request to
// its stdin and reads one JSON response from its stdout. An app that has no
// HTTP endpoint for Understudy ships a small adapter (examples/chirp's
// chirp-exec is one).
//
// # Configuration
//
// Settings (public; see Settings) and secrets (sealed):
//
//	{"command": ["/path/to/adapter", "arg"], "timeout": "10s",
//	 "env": {"K": "V"}, "dir": ""}
//	{"CHIRP_DATABASE_URL": "postgres://…"}
//
// Every secret is passed to the program as an environment variable of its
// name. The program's environment is settings.env, the secrets, and only
// PATH, HOME, TMPDIR, LANG, LC_ALL and TZ from Understudy's own: the rest
// of Understudy's environment (its database URL, its keys) is not the
// program's business. A run made for a lease (its reset, its release) also
// gets the lease's W3C trace context (https://www.w3.org/TR/trace-context/)
// as TRACEPARENT and TRACESTATE (empty when the trace has none), over any
// value that settings.env gives them: the program's logs and spans can name the trace
// of the test run they served. command[0] is resolved (PATH, or relative
// to dir) and must be an executable file when the app is built.
//
// # Protocol
//
// The request, on stdin:
//
//	{"op": "provision"|"verify"|"snapshot"|"restore"|"deprovision"|"test"|"surface",
//	 "request_id": "…", "account": {…} (provision),
//	 "target": {"ref": "…", "account_id": "…"} (verify, snapshot, restore, deprovision),
//	 "state": {…} (restore), "surface": "leaderboards" (surface)}
//
// The response, on stdout: {"ref": "…"} for provision (with "totp_uri":
// "otpauth://totp/…" when the app enrolled an authenticator secret for the
// user: at most 2048 bytes, kept sealed, never quoted), {"state": {…}} for
// snapshot, {"refs": ["…"]} for surface (the refs a real viewer sees on the
// surface now, for the isolation audit), {} for the others; or, on a
// contract error,
//
//	{"error": {"code": "not_found"|"not_synthetic"|"not_owned"|"refused"|"unavailable"|"invalid"|"no_surface", "message": "…"}}
//
// which becomes the matching sentinel error of package providers (invalid,
// a request the program does not accept, is providers.ErrRefused). An error
// response counts whatever the exit status.
//
// # Failures
//
//   - A run that outlives settings.timeout is killed with its whole process
//     group: providers.ErrUnavailable, "timed out after 10s".
//   - A non-zero exit (or a death by signal) without an error response is
//     providers.ErrUnavailable, with the exit code and the last KiB of
//     stderr: a crash is most often the app's dependency failing (its
//     database down), and trying again may work, unlike ErrProtocol, which
//     says the program is broken.
//   - An exit 0 whose stdout is empty or not one JSON object, or lacks the
//     ref or the state, is providers.ErrProtocol, quoting the first 200
//     bytes of the output.
//
// Secret values are replaced by "[secret NAME]" in every message built from
// the program's output (stderr, stdout, an error response's message); this
// covers the values as given, not transformations of them. Nothing is
// logged of the request, the response or the environment.
//
// Restore and Deprovision run verify first and stop when it fails ("verify
// before write"). Test runs the op "test" (providers.Tester).
package exec
