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
// # Apps and provisioning
//
// An App is one application of an environment, reached through a provider
// (package providers); its secrets are sealed and never returned. Attaching
// an app, or creating accounts where apps are attached, enqueues a
// provisioning job (ProvisionArgs) in the same transaction. Provisioning
// puts the account in every app and records its ref there (ProvisionApps);
// package snapshot runs the job, since it ends with the account's baseline.
// LiveRefs returns an account's refs with each app's live provider instance.
//
// # Errors
//
// Methods return *understudy.Error for anything a caller may be told:
// EINVALID with every bad field named by its JSON name, ENOTFOUND, ECONFLICT,
// EUNAVAILABLE when the database is down. Any other error is internal.
package accounts
