// Package isolation enforces the isolation policies of roles: whether a
// viewer of an app's surface (leaderboards, search, …) may see a subject,
// where either may be a synthetic account.
//
// # The rule
//
// A subject not on its environment's exclusion list is a real user and is
// visible. A synthetic subject is visible to itself; otherwise its role's
// policy for the surface decides: allowed (visible), testers_only (visible
// to synthetic viewers only) or hidden (the default for a surface a policy
// does not set). Decide is the rule, on the Listing of the subject and
// of the viewer; Service.Check applies it to a CheckRequest of many
// subjects and answers a CheckResult for each, in one query of the list.
//
// # Whose tables
//
// isolation owns its keys, violations and audit failures (keys.go,
// audit.go, violation.go hold their SQL), and the view of the violations
// that quarantine their account (QuarantineView, in violation.go), which
// package accounts' lease claim reads. A page of violations reads the
// names behind its ids through their owners, once per page:
// accounts.NamesOf (environments, roles) and apps.Names; the audit maps
// the refs an app shows to their accounts with apps.RefOwners. The
// exclusion list is package tagging's: the head of an environment's list (the environment, its list
// version) is tagging.ReadHead, the one place it is read, and the
// identifiers on it are tagging.FindListed (for Check) and
// tagging.EachListed (for List), all called with this service's database
// or the List's repeatable-read transaction, so a list is one snapshot.
// The roles' policies are package accounts' (accounts.RolePolicies). A
// check is two statements: the head, then FindListed.
//
// # Time
//
// Config.Now stamps lists (issued_at), audits and violations; statements
// take it as a parameter.
//
// # Spellings of an identifier
//
// A subject or viewer is compared with the list as given and in its
// canonical form (client.Canonical, the one function the server and the
// client share): surrounding white space dropped, Unicode normal form C,
// an email without case in its local part as well as its domain (as
// nearly every mail provider treats it) and without a plus-tag
// (local+tag@domain is local@domain's mailbox), an account id without
// case. Usernames, app refs and distinct ids keep their case. So
// " Gia.Lee+promo@QA.example.test" is the account gia.lee@qa.example.test
// for the check and the signed list's client alike.
//
// # The signed list
//
// Apps may instead hold the whole policy: Service.List serves every
// identifier of every synthetic account with its role's policy per
// surface, versioned and signed with Ed25519. The signing keys live in the
// database, the private half sealed with the server's keyring; the newest
// key not retired signs, and every key not retired is trusted (Keys), so a
// rotation never breaks a client holding an older list.
package isolation
