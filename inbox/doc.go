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
// lease. Its headers, extracted codes and links, and its raw MIME
// (compressed) are sealed at rest like passwords: they carry codes. Its
// text and HTML are read again from the raw MIME when it is shown, the
// HTML sanitized then (Parse's HTML is sanitized; what a delivery stores
// is not read by anyone but this package). Parse turns raw MIME into a
// Parsed message; it never fails, and a message it cannot read is kept
// raw with its parse error.
//
// # TOTP
//
// An account may hold one TOTP secret per app, sealed; the current code is
// computed on request, and the secret is never returned.
//
// # Tables
//
// inbox owns two tables, and only its files name them: messages
// (migration 000020; store.go writes it, read.go reads it, prune.go prunes
// it) and totp_secrets (migration 000021; totp_store.go). Accounts,
// environments and roles are package accounts', read through it
// (accounts.MailboxByEmail, Mailboxes, InboxRetentions); every write is audited
// through package access in its own transaction.
//
// # Layout
//
//   - receive.go: the shared types of the doors: Recipient, AuthResults,
//     Delivery and the Receiver interface.
//   - inbox.go: Config and Service.
//   - accept.go: Accept and Receive, a delivery's rules and its one
//     batch, one implicit transaction.
//   - store.go: the messages table's writes, sealing and compression.
//   - read.go, wait.go: List, Get (with the opened Body) and Raw; Wait,
//     woken by a PostgreSQL notification (Channel) on any replica.
//   - prune.go: the periodic job that deletes mail past its retention and
//     beyond each account's cap.
//   - message.go, parse.go, header.go, html.go, sanitize.go, extract.go,
//     candidate.go, keyword.go, links.go, tracking.go: Parse, which reads a
//     raw message into its headers, text and sanitized HTML, and finds its
//     codes and links (a role's Patterns first).
//   - smtp.go, smtpconn.go, smtpsession.go, auth.go: the SMTP receiver,
//     its connection limits, its sessions and the sender checks (SPF,
//     DKIM, DMARC) it records.
//   - totp.go, totp_parse.go, totp_store.go: TOTP, the authenticator
//     secrets and their codes.
//
// # Time
//
// Config.Now is the clock of messages: a message's received_at and the
// retention that prune measures from it, in SQL as coalesce($n, now())
// (pgdb.Now), the database's clock when it is not set. TOTPConfig.Now is
// the TOTP's: codes are computed at it, and secrets set and rotated at it.
// SMTPConfig.Now times the per-client rate; waits and timeouts are timers.
package inbox
