// Package inbox receives mail for synthetic accounts and hands what a test
// waits for (a sign-in code, a magic link, an authenticator code) to the
// run that holds the account's lease.
//
// # Receiving
//
// Mail arrives over SMTP (the receiver in smtp.go, the MX of the controlled
// domains) or over HTTPS (POST /v1/inbound/mime, called by a forwarder).
// Both doors apply the same rules through a Receiver: a recipient is
// accepted only when it is the address of a synthetic account that is not
// retired, plus-tags included; nothing addressed to anyone else is ever
// stored, and nothing is relayed.
//
// # Messages
//
// A Message is stored against its account and, when one was open, the
// lease. Its headers, text, sanitized HTML, extracted codes and links, and
// its raw MIME (compressed) are sealed at rest like passwords: they carry
// codes. Parse turns raw MIME into a Parsed message; it never fails, and a
// message it cannot read is kept raw with its parse error.
//
// # TOTP
//
// An account may hold one TOTP secret per app, sealed; the current code is
// computed on request, and the secret is never returned.
package inbox
