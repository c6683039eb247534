// Package accounts owns environments, roles and the synthetic accounts that
// fill each role's pool.
//
// # Environments and domains
//
// An Environment (production, staging) owns one or more controlled email
// domains. A domain is accepted only if it is in the server's allowlist
// (Config.EmailDomains), and every account is created at the environment's
// first domain, checked against the allowlist again at that moment: no
// account is ever created with an email outside a controlled domain.
//
// # Roles and pools
//
// A Role (admin, buyer, seller) declares a pool size. Creating or updating a
// role ensures its pool in the same transaction: every slot from 1 to the pool
// size holds one active account, and accounts in slots past it are retired,
// never deleted, so an account's history stays.
//
// # Accounts and identities
//
// Each account's Identity (package identity) is generated once, from
// (environment, role, slot, generation), and stored: it is never
// regenerated implicitly. Its password is random, sealed with the server's
// keyring (package secret) with the account id as associated data.
//
// # Layout
//
// Package accounts owns the tables environments, roles and accounts; only
// its files hold SQL that names them. Other packages read them through
// this package's functions, or, where one of their statements must read
// them in the same round trip, through its views (see "The owners'
// interface" below). Apps and their provider instances are package apps;
// provisioning and resets are package snapshot, which decides an account's
// status through SetStatus; leases are package lease, whose open leases
// this package reads only through Config.OpenLeases (lease.OpenLeases:
// members, and refusing to retire a leased account).
//
//   - service.go: Config, Service, the clock (SQL takes Config.Now as
//     coalesce($n::timestamptz, now()): the database's clock when none is
//     injected).
//   - environment.go, role.go, pool.go: environments, roles, and the pool
//     each role keeps filled (pool.go creates and retires accounts).
//   - account.go, search.go: reading accounts, their credentials, retiring
//     one, rotating its password.
//   - directory.go: this package's interface to other packages' SQL, the
//     views EnvironmentDirectory, RoleDirectory and AccountDirectory
//     (migration 000022), each planned as the tables behind it. Package
//     lease joins RoleDirectory for a lease's names, package tagging the
//     environments and accounts its lists and runs name, package apps an
//     account's environment and its role's policy.
//   - claim.go: the account side of a lease (QueueClaim, QueueFree, AnyReady,
//     Quarantined), called by package lease inside its own transaction. A
//     quarantine is read through package isolation's view of the
//     violations that quarantine (QuarantineView, the name isolation
//     exports as isolation.QuarantineView), in the claim's statement;
//     Quarantined names each app by id, for package apps to name.
//   - status.go: status changes others decide (SetStatus, PendActiveTx,
//     LockTx), and the Provisioning interface that package snapshot
//     implements, so that a new account where apps are attached is
//     scheduled in the transaction that creates it.
//   - names.go: NamesOf and EnvironmentID, the names behind the ids other
//     packages store (isolation, tagging), read in one statement per list.
//   - reconcile.go: Reconciler, the narrower view a declarative spec uses
//     (checks that store nothing, members, changes that refuse to retire a
//     leased account).
//
// # The owners' interface
//
// A table has one owning package, and another package reads it through
// the owner's functions. Where a statement of another package must read
// the owner's tables itself (to stay one statement, or one round trip),
// it names one of the owner's views instead (migration 000022): the
// owners' interface to other packages' SQL. A view belongs to the package
// that owns its tables and is named there, as a Go constant beside its
// store; its reader depends on its columns only, so the owner may change
// its tables behind it, recreating the view in the same migration.
// PostgreSQL expands a view into the statement that names it, so that
// statement is planned as if it named the tables: no extra round trip and
// no other plan, and a LEFT JOIN whose columns a reader does not use is
// dropped.
//
// This package's views are EnvironmentDirectory (every environment: id,
// name, email domains, custom surfaces, capture retention), RoleDirectory (every role,
// deleted ones too, with its environment's name) and AccountDirectory
// (every account, retired ones too, with its role's name and isolation
// policy), in directory.go. It reads two views of others' the same way:
// package isolation's view of the violations that quarantine
// (QuarantineView), in the claim's statement, and package lease's view of
// the open leases (OpenLeaseView, migration 000026), in a mailbox's
// (MailboxByEmail, for package inbox).
//
// # A lease, from the handler to SQL
//
// POST /v1/leases reaches lease.Service.Acquire (openapi/handlers.go). Its
// claim runs one transaction: QueueClaim here marks a ready, not quarantined
// account of the role leased (UPDATE accounts … FOR UPDATE SKIP LOCKED),
// then lease inserts the lease and its audit event, and commits, in the
// next round trip. snapshot then restores the account's apps; a failure
// marks the account failed through SetStatus. The activation reads the
// account and its password here (QueueWithCredentials) in the round trip
// that activates the lease. Ending a lease frees the account through
// QueueFree in the lease's transaction.
//
// # Errors
//
// Methods return *understudy.Error for anything a caller may be told:
// EINVALID with every bad field named by its JSON name, ENOTFOUND, ECONFLICT,
// EUNAVAILABLE when the database is down. Any other error is internal.
package accounts
