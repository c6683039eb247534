// Package providers holds the contracts between Understudy and the apps
// that hold an account's real state, and the registry of app providers.
//
// An app provider (webhook, postgres, exec) implements App. Every method
// that touches an existing user takes a Target: the app's own user id (the
// ref) and the Understudy account that is meant to own it. Providers verify
// before they write: Restore and Deprovision refuse, writing nothing, a ref
// that the app does not report as synthetic (ErrNotSynthetic) or that was
// not provisioned for that account (ErrNotOwned).
//
// Errors are wrapped around the sentinel errors below, so callers test them
// with errors.Is and still read what happened:
// fmt.Errorf("restoring %s: %w: %s", ref, providers.ErrUnavailable, detail).
//
// # Layout
//
// This package holds the contract alone: App and its optional capabilities
// (Tester, ConfigChecker, Surfaces, Closer), the sentinel errors, and the
// Registry of factories that main fills. Each provider is a package below
// it (exec, postgres, webhook, and fake for tests) that declares, with
// compile-time guards, the contract, every optional capability it
// implements and its Factory; providertest is the conformance suite they
// all pass. Callers find an optional capability with a type assertion
// (inst.(providers.Tester)).
//
// A provider forwards the request id of its context (access.RequestID) on
// every call to its app, so the app's logs meet Understudy's. The request
// id lives in access beside the Caller: providers import access, and access
// never imports providers. The contract package itself imports neither.
package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Account is what an app is told about the synthetic account it provisions.
type Account struct {
	// ID is Understudy's account id. Provisioning the same ID twice yields
	// the same ref; the app records it so Verify can tell who owns a user.
	ID          string `json:"id"`
	Environment string `json:"environment"`
	Role        string `json:"role"`
	Email       string `json:"email"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	GivenName   string `json:"given_name"`
	FamilyName  string `json:"family_name"`
	Phone       string `json:"phone"`
	Locale      string `json:"locale"`
	TimeZone    string `json:"time_zone"`
	// Password is the account's current password, for apps that keep
	// credentials. Providers never log it.
	Password   string            `json:"password"`
	Attributes map[string]string `json:"attributes"`
	// Tags mark the account as synthetic (is_synthetic=true,
	// synthetic_role, synthetic_environment, understudy_account_id), for
	// apps that forward them to their own analytics. Apps that predate
	// them may ignore them.
	Tags map[string]string `json:"tags,omitempty"`
}

// Target names an existing user of an app: its ref, and the Understudy
// account that is meant to own it.
type Target struct {
	Ref       string `json:"ref"`
	AccountID string `json:"account_id"`
}

// Provisioned is what an app tells of the user it provisioned.
type Provisioned struct {
	// Ref is the app's own id of the user; never empty.
	Ref string
	// TOTPURI is the otpauth://totp/ URI of the authenticator (TOTP)
	// secret the app enrolled for the user at sign-up, if it did, and ""
	// otherwise. It is a secret: providers check it with CheckTOTPURI and
	// never log it, echo it or put it in an error.
	TOTPURI string
}

// MaxTOTPURI is the longest TOTPURI an app may hand back, in bytes.
const MaxTOTPURI = 2048

// TOTPURIPrefix starts every TOTPURI.
const TOTPURIPrefix = "otpauth://totp/"

// CheckTOTPURI returns nil for "" and for an otpauth://totp/ URI of at
// most MaxTOTPURI bytes, and otherwise an ErrProtocol error that says what
// is wrong without repeating any of the URI.
func CheckTOTPURI(uri string) error {
	switch {
	case uri == "":
		return nil
	case len(uri) > MaxTOTPURI:
		return fmt.Errorf("%w: the totp_uri is %d bytes, over the contract's %d", ErrProtocol, len(uri), MaxTOTPURI)
	case !strings.HasPrefix(uri, TOTPURIPrefix):
		return fmt.Errorf("%w: the totp_uri does not start with %s", ErrProtocol, TOTPURIPrefix)
	}
	return nil
}

// indexFold is strings.Index for an ASCII needle, ignoring case.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

// RedactTOTPURIs replaces every otpauth: URI in s (up to a quote, a space or
// the end) by "[totp_uri]". Providers pass what they quote of an app's
// answer through it: a provision answer may carry the user's authenticator
// secret, which no message may repeat.
func RedactTOTPURIs(s string) string {
	const scheme = "otpauth:"
	var b strings.Builder
	for {
		i := indexFold(s, scheme)
		if i < 0 {
			if b.Len() == 0 {
				return s
			}
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString("[totp_uri]")
		s = s[i:]
		end := strings.IndexFunc(s, func(r rune) bool { return r == '"' || r == '\'' || r == '\\' || unicode.IsSpace(r) })
		if end < 0 {
			end = len(s)
		}
		s = s[end:]
	}
}

// State is an account's state in one app: a JSON document that the
// provider produces (Snapshot) and consumes (Restore). Understudy stores it
// canonicalised and content-addressed, and compares states by hash, so a
// provider must produce the same document for the same state (stable order
// of rows and keys).
type State = json.RawMessage

// App is one application in one environment, reached through a provider.
type App interface {
	// Provision creates the account in the app, or finds the user it
	// created before for the same Account.ID, and returns its ref (and
	// the authenticator secret the app enrolled, if it did).
	// Errors: ErrUnavailable, ErrProtocol, ErrRefused.
	Provision(ctx context.Context, a Account) (Provisioned, error)
	// Verify returns nil when the target exists, is marked synthetic, and
	// was provisioned for the target's account.
	// Errors: ErrNotFound, ErrNotSynthetic, ErrNotOwned, ErrUnavailable, ErrProtocol.
	Verify(ctx context.Context, t Target) error
	// Snapshot captures the target's state.
	// Errors: those of Verify.
	Snapshot(ctx context.Context, t Target) (State, error)
	// Restore replaces the target's state with s, all or nothing, after
	// verifying the target; on any error the app is as it was.
	// Errors: those of Verify, ErrRefused (the app refused s).
	Restore(ctx context.Context, t Target, s State) error
	// Deprovision deletes the target from the app after verifying it. A
	// target that no longer exists is not an error.
	// Errors: ErrNotSynthetic, ErrNotOwned, ErrUnavailable, ErrProtocol.
	Deprovision(ctx context.Context, t Target) error
}

// RestoreSnapshotter is an optional capability: Restore, then Snapshot of
// the state the restore left, taken inside the restore's own transaction
// (so no write of the app's slips in between, and the app is asked once
// instead of twice). Resets verify a restore by the hash of that state.
// Errors: those of Restore.
type RestoreSnapshotter interface {
	RestoreSnapshot(ctx context.Context, t Target, s State) (State, error)
}

// Tester is an optional capability: a cheap check that the app is
// reachable and speaks the contract, used by `apps test`.
type Tester interface {
	Test(ctx context.Context) error
}

// ConfigChecker is an optional capability: a check of the provider's
// settings against the app itself (its schema, its API), run when an app is
// attached, updated and tested. A provider's constructor checks what it can
// without the app; CheckConfig checks what only the app can tell, such as
// whether a setting names a column that exists and references the users.
// Errors: *ConfigError naming the first setting that cannot work (returned
// as is, not wrapped), ErrUnavailable (wrapped) when the app cannot be
// reached.
type ConfigChecker interface {
	CheckConfig(ctx context.Context) error
}

// Surfaces is an optional capability, used by the isolation audit: it
// tells who a real (not synthetic) viewer sees on one of the app's
// surfaces (leaderboards, social_feed, …) right now.
type Surfaces interface {
	// Surface returns the refs of the users that a real viewer sees on
	// the surface now, in the app's order; a ref may repeat.
	// Errors: ErrNoSurface (the app does not show that surface, or does
	// not say how it is seen), ErrUnavailable, ErrProtocol (an answer
	// outside the contract), ErrRefused (the app refused to look, such as
	// a configured query that writes).
	Surface(ctx context.Context, name string) (refs []string, err error)
}

// Closer is an optional capability: release connections and processes.
type Closer interface {
	Close() error
}

// Sentinel errors of the contract.
var (
	// ErrNotFound: the app has no user with that ref.
	ErrNotFound = errors.New("the app has no such user")
	// ErrNotSynthetic: the app does not mark the user as synthetic; nothing
	// destructive may touch it.
	ErrNotSynthetic = errors.New("the app does not report the user as synthetic")
	// ErrNotOwned: the user was not provisioned for this Understudy account.
	ErrNotOwned = errors.New("the user was not provisioned for this account")
	// ErrUnavailable: the app is down, slow or overloaded; trying again may work.
	ErrUnavailable = errors.New("the app is unavailable")
	// ErrProtocol: the app answered outside the contract (bad JSON, a
	// missing field, an unexpected status).
	ErrProtocol = errors.New("the app broke the provider contract")
	// ErrRefused: the app understood the request and refused it.
	ErrRefused = errors.New("the app refused the request")
	// ErrNoSurface: the app does not show the surface, or cannot say who
	// is seen on it (Surfaces).
	ErrNoSurface = errors.New("the app does not show that surface")
)

// Permanent reports errors that retrying the same call cannot fix: the app
// refused, the user is not synthetic or not owned, or the provider's
// settings are wrong.
func Permanent(err error) bool {
	_, isConfig := errors.AsType[*ConfigError](err)
	return errors.Is(err, ErrRefused) || errors.Is(err, ErrNotSynthetic) || errors.Is(err, ErrNotOwned) || isConfig
}
