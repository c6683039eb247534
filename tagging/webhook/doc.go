// Package webhook is the generic publisher (Kind "webhook"): it sends the
// synthetic identities to any destination that serves Understudy's
// destination webhook contract, openapi/destination-webhook.yaml, so a
// platform without its own publisher can still mark them and keep a list
// of them.
//
// # Configuration
//
//	settings: {"base_url": "https://analytics.internal/understudy", "batch_size": 500}
//	secrets:  {"signing_secret": "at least 16 bytes"}
//
// base_url must be https, or http on a loopback host (a destination beside
// the server). batch_size is 1 to 10000 and defaults to 500. Settings are
// decoded strictly (an unknown field is refused) and every problem is a
// *tagging.ConfigError naming its JSON path.
//
// # Requests
//
// POST {base_url}/mark, /unmark, /list/add and /list/remove carry
// {"identities":[{"distinct_id","account_id","email","tags"}]}, at most
// batch_size a request; GET {base_url}/health is the connection test.
// Every attempt is signed afresh with providers/webhook/signature (header
// X-Understudy-Signature: HMAC-SHA256 over "<unix time>.<body>"), as app
// webhooks are, so one verifier serves both; writes carry an
// Idempotency-Key that is random per batch and the same on its retries.
//
// # Answers
//
// 200 {"accepted": n, "errors": [{"distinct_id","code","detail"}]}: the
// identities not in errors are acknowledged; the refused ones make the
// call end with tagging.ErrRejected (after the remaining batches), so the
// next run sends them again. An accepted count that does not match is a
// contract error (ErrRejected, nothing of the batch acknowledged). 401 (a
// bad signature) is ErrCredentials, another 4xx ErrRejected; 429 and 5xx
// are retried by the Sender, honouring Retry-After, then ErrUnavailable.
package webhook
