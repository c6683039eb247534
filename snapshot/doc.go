// Package snapshot captures and restores the state of synthetic accounts
// in their apps.
//
// A snapshot is one app's state of one account (a providers.State JSON
// document), canonicalised (keys sorted, no insignificant space), addressed
// by the SHA-256 of that canonical form and stored gzip-compressed once per
// distinct content (snapshot_blobs). Capturing a named state of an account
// (the baseline "initial", or "verified", "with-cart"…) adds the next
// version of that state: one row per app pointing at its blob.
//
// Reset restores every app of an account to a named state in parallel,
// each within a timeout, then snapshots again and checks that each app's
// content hash is the one restored: a verified reset. The first failure is
// returned as *ResetError naming the app.
package snapshot
