// Package webhook is the generic HTTP app provider: it drives an app that
// serves Understudy's webhook contract (openapi/app-webhook.yaml) under a base
// URL, with signed JSON POSTs to /provision, /verify, /snapshot, /restore and
// /deprovision, and /surface for the isolation audit (providers.Surfaces: a
// 404 with the code no_surface is providers.ErrNoSurface).
//
// # Configuration
//
// Settings (public; see Settings) and secrets (sealed):
//
//	{"base_url": "https://app.internal/understudy", "timeout": "10s",
//	 "max_attempts": 4, "allow_link_local": false, "allow_private": true}
//	{"signing_secret": "at least 16 bytes"}
//
// Factory decodes and validates both; every bad field is a
// *providers.ConfigError naming it ("settings.base_url",
// "secrets.signing_secret").
//
// # Requests
//
// Every attempt is signed afresh (the signature carries a timestamp) with
// signature.Sign and carries X-Request-ID (access.RequestID), and the
// writes (provision, restore, deprovision) carry an Idempotency-Key: a random
// key per call, the same on every retry of that call. A key derived from the
// body would be wrong: restoring the same state twice, with changes between,
// must act twice.
//
// # Retries
//
// An attempt is bounded by settings.timeout. 429, 502, 503, 504, a connection
// error and an attempt that timed out are retried, up to max_attempts in all,
// after an exponential backoff with jitter (250ms, 500ms, 1s, … at most 5s)
// or after the app's Retry-After (seconds or an HTTP date, at most 30s). A
// write retried after a timeout is safe: the app dedupes by Idempotency-Key.
//
// # Errors
//
// Answers map to the contract's sentinel errors: 404 with the problem code
// not_found is providers.ErrNotFound (a 404 without it is ErrProtocol: it is
// usually a wrong base_url, and taking it for "no such user" would let
// Deprovision report success without reaching the app); 409 not_synthetic
// and not_owned are ErrNotSynthetic and ErrNotOwned; 400 and 422 are
// ErrRefused; 401 is ErrRefused with a hint to check the signing secret; 429
// and 5xx are ErrUnavailable once retries are spent; any other answer
// (another 4xx, a redirect, a 2xx without its documented fields) is
// ErrProtocol. Messages name the app, the operation, the status and the
// problem's detail, truncated; never the secret or a whole body.
//
// # Addresses
//
// Requests are not sent through an HTTP proxy and redirects are not
// followed. The address of every connection is checked after DNS resolution
// and before connecting (net.Dialer.Control), so a name that resolves, or is
// rebound, to a forbidden address sends nothing:
//
//   - unspecified (0.0.0.0/8, ::), multicast and broadcast addresses are
//     always refused;
//   - link-local addresses (169.254.0.0/16, fe80::/10) and the cloud
//     metadata addresses (169.254.169.254, fd00:ec2::254, 100.100.100.200)
//     are refused unless settings.allow_link_local is true;
//   - loopback and private addresses (10/8, 172.16/12, 192.168/16,
//     100.64/10, fc00::/7) are allowed by default, since apps often run on
//     private networks; settings.allow_private false refuses them.
//
// A refusal is a *providers.ConfigError naming the address and the setting
// that would allow it; it is not retried. A base_url whose host is a
// forbidden IP literal already fails in Factory.
package webhook
