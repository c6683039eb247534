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
// Store keeps snapshots and blobs and runs captures and restores across a
// set of apps. Service is the account-level side: Reset restores every app
// of an account to a named state in parallel, each within a timeout, then
// snapshots again and checks that each app's content hash is the one
// restored (a verified reset); a failure marks the account failed, names
// every app that failed (*AppsError) and answers EUNAVAILABLE when an app was
// down or slow. Before a reset or a capture, an account missing from an app
// of its environment is provisioned there and its baseline captured, so no
// account is ever handed out missing from an app. Provisioning ends
// with the baseline, so this package owns it.
//
// # Layout
//
// Package snapshot owns the tables snapshots, snapshot_blobs and
// account_resets, and provisioning:
//
//   - service.go: Config, Service, Reset and ResetApps (what a lease calls
//     before it hands an account out), CaptureState, List.
//   - provision.go: provisioning in one place: its job (ProvisionArgs),
//     Scheduler (which package accounts and package apps call, through
//     their Provisioning interfaces, to enqueue it inside their
//     transactions), Provision, and its outcome: the account's status is
//     set through accounts.Service.SetStatus, from here only.
//   - jobs.go: the provisioning worker.
//   - password.go: RotatePassword, which tells the apps a new password.
//   - store.go, blob.go, reset.go, record.go, compare.go, diff.go: the
//     snapshot store, restores and their record, comparisons; Evidence,
//     the account's state now in each app with its difference from a
//     named state, which package run keeps for a failed run.
//
// A lease's reset goes snapshot → apps (the refs and live instances) and
// snapshot → accounts (a failed reset's status), and never calls back into
// package lease.
package snapshot
