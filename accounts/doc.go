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
// # Identities
//
// An account's Identity is generated once, deterministically, from
// (environment, role, slot, generation) with gofakeit (pinned in go.mod, with
// a golden test), and stored: it is never regenerated implicitly. Its password
// is random (crypto/rand), sealed with the server's keyring (package secret).
//
// # Errors
//
// Methods return *understudy.Error for anything a caller may be told:
// EINVALID with every bad field named by its JSON name, ENOTFOUND, ECONFLICT,
// EUNAVAILABLE when the database is down. Any other error is internal.
package accounts
