// Package apps owns the apps of each environment and their provider
// instances: the tables apps and account_refs.
//
// An App is one application of an environment, reached through a provider
// (package providers); its secrets are sealed with the server's keyring and
// never returned, only their names and keyed digests. Attaching an app
// validates its provider, settings and secrets first (a setting that
// cannot work is refused naming it), and in the same transaction has every
// active account of the environment scheduled for provisioning into it
// (Provisioning, implemented by snapshot.Scheduler).
//
// # Layout
//
//   - service.go: Config, Service, the clock, the Provisioning interface.
//   - app.go: attach, check, get, list, update, detach and test an app.
//   - instances.go: one live provider instance per app, rebuilt when the
//     app changes (Instance, Close).
//   - refs.go: an account's ref in each app (account_refs): RecordRef,
//     RefNames, Refs, and LiveRefs, which pairs each ref with its app's
//     live instance for resets, captures and audits; RefOwners, the
//     accounts behind an app's refs with their roles' policies, for
//     package isolation's audit. HasAppsTx tells account creation whether
//     a new account must wait for provisioning. LiveRefs and RefOwners read
//     the account's environment and role through package accounts' view
//     (accounts.AccountDirectory) in their one statement; this package
//     names no table of another's.
//   - names.go: Names, the names of apps by id, for other packages' lists
//     (snapshots, isolation violations), which do not join apps.
//
// # In a lease
//
// A lease request reaches this package once, from package snapshot: the
// reset reads the account's refs (QueueLiveRefs) in the round trip that
// reads the state to restore, and provisions the account first in any app
// it is missing from. This package calls no other domain package but
// accounts (environments by name).
//
// # Errors
//
// Methods return *understudy.Error for anything a caller may be told:
// EINVALID naming the field, ENOTFOUND, ECONFLICT, EUNAVAILABLE when an app
// cannot be reached to check its settings. Any other error is internal.
package apps
