package snapshot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/inbox"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/tracing"
)

// Config configures a Service.
type Config struct {
	// DB is the pool (or, in tests, a transaction). Required.
	DB pgdb.DB
	// Accounts is the account pool the snapshots belong to. Required.
	Accounts *accounts.Service
	// Apps holds the apps accounts are provisioned into. Required.
	Apps *apps.Service
	// Logger receives background work's logs. Defaults to discarding.
	Logger *slog.Logger
	// AppTimeout bounds each app's part of a capture or a reset. Defaults to 30s.
	AppTimeout time.Duration
	// Now tells the time: resets are timed on it, and statements take it
	// as their now (a snapshot's created_at), as coalesce($n, now()).
	// Defaults to time.Now, and SQL then to the database's clock.
	Now func() time.Time
	// TOTP keeps the authenticator secret an app hands back when it
	// provisions an account. Defaults to nil: such a secret is dropped,
	// with a warning in the log.
	TOTP *inbox.TOTP
}

// WithDefaults returns c with its unset optional fields filled.
func (c Config) WithDefaults() Config {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.AppTimeout <= 0 {
		c.AppTimeout = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate names the first missing field of c.
func (c Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("snapshot: Config.DB is required")
	case c.Accounts == nil:
		return errors.New("snapshot: Config.Accounts is required")
	case c.Apps == nil:
		return errors.New("snapshot: Config.Apps is required")
	}
	return nil
}

// Service is the account-level side of snapshots: it captures an account's
// named states, resets an account across all its apps, and completes its
// provisioning with a baseline.
type Service struct {
	store      *Store
	db         pgdb.DB
	accounts   *accounts.Service
	apps       *apps.Service
	logger     *slog.Logger
	appTimeout time.Duration
	now        func() time.Time
	totp       *inbox.TOTP
}

// New returns a Service, or an error naming the bad field of cfg.
func New(cfg Config) (*Service, error) {
	clock := cfg.Now // nil without one: SQL then takes the database's clock
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Service{store: NewStore(cfg.DB, clock), db: cfg.DB, accounts: cfg.Accounts, apps: cfg.Apps, logger: cfg.Logger, appTimeout: cfg.AppTimeout, now: cfg.Now, totp: cfg.TOTP}, nil
}

var stateRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// ValidStateName reports whether name can name a state.
func ValidStateName(name string) bool { return stateRE.MatchString(name) }

// StateOrBaseline returns state, or Baseline when state is "".
func StateOrBaseline(state string) string { return cmp.Or(state, Baseline) }

// Reset restores every app of the account to a named state (the baseline
// when state is ""), verified by hash. On success a failed account is ready
// again; on failure the account is marked failed with the app and the
// reason, and it is not leased until a reset succeeds.
// Errors: ENOTFOUND, ECONFLICT (retired, leased, not provisioned yet, no such
// state), EUNAVAILABLE (an app is down or slow), EINTERNAL (the app broke
// its contract); each names the app.
func (s *Service) Reset(ctx context.Context, accountID, state string) (accounts.Account, error) {
	if _, err := uuid.Parse(accountID); err != nil {
		return accounts.Account{}, understudy.Errorf(understudy.ENOTFOUND, "no account has id %s", accountID)
	}
	// The account and what its reset reads (refs, newest hashes): one round trip.
	b := &pgx.Batch{}
	accountOf := s.accounts.QueueGetAccount(b, accountID)
	p := s.QueueReset(b, accountID, state)
	if err := pgdb.SendBatch(ctx, s.db, b); err != nil {
		return accounts.Account{}, err
	}
	a, err := accountOf()
	if err != nil {
		return accounts.Account{}, err
	}
	switch a.Status {
	case accounts.StatusRetired, accounts.StatusPending, accounts.StatusProvisioning:
		return accounts.Account{}, understudy.Errorf(understudy.ECONFLICT, "account %s is %s; only a ready or failed account can be reset", a.ID, a.Status)
	case accounts.StatusLeased:
		return accounts.Account{}, understudy.Errorf(understudy.ECONFLICT, "account %s is leased; release the lease (optionally with reset) instead", a.ID)
	case accounts.StatusCapturing:
		return accounts.Account{}, understudy.Errorf(understudy.ECONFLICT, "account %s is capturing: %s; it is ready again once that is done", a.ID, a.StatusReason)
	}
	if _, err := p.Apply(ctx); err != nil {
		return accounts.Account{}, err
	}
	return s.finishReset(ctx, a, p)
}

// finishReset marks a ready or failed account ready after a reset of it
// succeeded, audits the move (in its statement, only when the account
// moved), records the reset and reads the account as it now is, in one
// round trip. Errors: ECONFLICT when the account changed meanwhile (leased
// or retired): then only the record of the reset is kept.
func (s *Service) finishReset(ctx context.Context, a accounts.Account, p *PendingReset) (accounts.Account, error) {
	b := &pgx.Batch{}
	moved, err := s.accounts.QueueSetStatus(ctx, b, a.ID, accounts.StatusReady, "", []accounts.Status{accounts.StatusReady, accounts.StatusFailed},
		access.Event{Action: "account.reset", Details: map[string]any{"state": p.state}})
	if err != nil {
		return accounts.Account{}, err
	}
	p.QueueRecord(b)
	accountOf := s.accounts.QueueGetAccount(b, a.ID)
	if err := pgdb.SendBatch(ctx, s.db, b); err != nil {
		return accounts.Account{}, err
	}
	if !moved() {
		return accounts.Account{}, understudy.Errorf(understudy.ECONFLICT, "account %s changed during its reset (it is leased or retired now)", a.ID)
	}
	return accountOf()
}

// ResetApps restores the account's apps to state, and marks the account
// failed if that fails. It returns the account's refs. Leases call it
// before they hand an account out. A reset that reached the apps is
// recorded as the account's last reset (LastReset), timed, with the hash
// each app was verified against or the app it failed in.
func (s *Service) ResetApps(ctx context.Context, accountID, state string) ([]apps.LiveRef, error) {
	b := &pgx.Batch{}
	p := s.QueueReset(b, accountID, state)
	if err := pgdb.SendBatch(ctx, s.db, b); err != nil {
		return nil, err
	}
	refs, err := p.Apply(ctx)
	if err == nil {
		s.recordReset(ctx, p.rec)
	}
	return refs, err
}

// PendingReset is ResetApps in steps, so that a caller sends the reads a
// reset needs in a round trip of its own (QueueReset), and the record of
// the reset in another (QueueRecord).
type PendingReset struct {
	s                *Service
	accountID, state string
	start            time.Time
	refsOf           func(context.Context) ([]apps.LiveRef, int, error)
	wantOf           func() (map[string]Hash, error)
	rec              Reset
}

// QueueReset queues in b the reads a reset of the account to state needs:
// its refs and the newest hash of state in each app. Once b has been sent,
// Apply restores the apps.
func (s *Service) QueueReset(b *pgx.Batch, accountID, state string) *PendingReset {
	state = StateOrBaseline(state)
	return &PendingReset{s: s, accountID: accountID, state: state, start: s.now(),
		refsOf: s.apps.QueueLiveRefs(b, accountID), wantOf: s.store.queueLatest(b, accountID, state)}
}

// Apply restores the account's apps, as ResetApps does, and returns the
// account's refs; a failed reset is recorded and marks the account failed
// before Apply returns. A successful one is recorded by the caller, with
// QueueRecord, in a batch it sends.
//
// It runs in a span (snapshot.reset), a child of the span ctx carries (a
// lease's), with one child span per app (snapshot.restore).
func (p *PendingReset) Apply(ctx context.Context) (_ []apps.LiveRef, err error) {
	ctx, span := tracing.Start(ctx, "snapshot.reset", trace.WithAttributes(attrAccount.String(p.accountID), attrState.String(p.state)))
	defer func() { tracing.Fail(span, err); span.End() }()
	s := p.s
	refs, want, err := s.restoreApps(ctx, p)
	rec := Reset{AccountID: p.accountID, State: p.state, StartedAt: p.start.UTC(), Duration: s.now().Sub(p.start)}
	switch {
	case err == nil:
		rec.OK, rec.Verified = true, verifiedOf(refs, want)
		p.rec = rec
		return refs, nil // (no refs: no app holds state for this account)
	case understudy.ErrorCode(err) == understudy.ENOTFOUND:
		return nil, understudy.Errorf(understudy.ECONFLICT, "%s", understudy.ErrorMessage(err))
	case understudy.ErrorCode(err) != understudy.EINTERNAL:
		return nil, err // the database's answer (unavailable), said as it is
	}
	reason := resetFailure(p.state, err)
	rec.FailedApp, rec.Reason = failedApp(err), reason
	s.recordReset(ctx, rec)
	s.markFailed(ctx, p.accountID, reason, []accounts.Status{accounts.StatusReady, accounts.StatusFailed, accounts.StatusLeased, accounts.StatusCapturing},
		access.Event{Action: "account.reset_failed", Details: map[string]any{"state": p.state, "reason": reason}})
	return nil, appsError("account "+p.accountID+" is now failed", err)
}

// QueueRecord queues in b the record of the successful reset Apply made,
// as the account's last reset.
func (p *PendingReset) QueueRecord(b *pgx.Batch) {
	queueRecord(b, p.rec)
}

// resetFailure is the reason a failed reset gives the account: the apps'
// error says "reset to STATE failed: app …" already (eachApp names the
// operation), so only another error is prefixed, and the reason says it
// once.
func resetFailure(state string, err error) string {
	if _, ok := errors.AsType[*AppsError](err); ok {
		return err.Error()
	}
	return fmt.Sprintf("reset to %s failed: %v", state, err)
}

// restoreApps restores the account's apps to the state of p and returns
// its refs and the hash each app's state was checked against, from the
// reads p queued (refs and the newest hashes, one round trip); an account
// missing from an app is first provisioned there (refsProvisioningMissing),
// then restored as usual.
func (s *Service) restoreApps(ctx context.Context, p *PendingReset) ([]apps.LiveRef, map[string]Hash, error) {
	accountID, state := p.accountID, p.state
	refs, missing, err := p.refsOf(ctx)
	if err != nil {
		return nil, nil, err
	}
	want, err := p.wantOf()
	if err != nil {
		return nil, nil, err
	}
	if missing > 0 {
		if refs, err = s.refsProvisioningMissing(ctx, accountID); err != nil {
			return nil, nil, err
		}
		if want, err = s.store.latest(ctx, accountID, state); err != nil {
			return nil, nil, err
		}
	}
	if len(refs) == 0 {
		return nil, nil, nil // no app holds state for this account
	}
	return refs, want, s.store.restoreTo(ctx, accountID, state, refs, want, s.appTimeout)
}

// appsError turns what apps answered into the error contract, saying what
// was being done and naming each app, so that no answer of an app is ever a 500:
//   - 409 (ECONFLICT) when an app refused: its user is not marked synthetic
//     (type not-synthetic), was not provisioned for this account
//     (not-owned), no longer exists (app-user-missing), or the app refused
//     the request (app-refused) or cannot work with its settings
//     (app-misconfigured);
//   - 503 (EUNAVAILABLE) when an app was down or slow (app-unavailable);
//   - 502 (EBADGATEWAY) when an app answered outside its contract, or its
//     state after a restore was not the state restored (app-contract).
//
// The first of these that any app answered decides, in that order.
func appsError(what string, err error) error {
	code, kind := understudy.EBADGATEWAY, "app-contract"
	_, misconfigured := errors.AsType[*providers.ConfigError](err)
	switch {
	case errors.Is(err, providers.ErrNotSynthetic):
		code, kind = understudy.ECONFLICT, "not-synthetic"
	case errors.Is(err, providers.ErrNotOwned):
		code, kind = understudy.ECONFLICT, "not-owned"
	case errors.Is(err, providers.ErrNotFound):
		code, kind = understudy.ECONFLICT, "app-user-missing"
	case errors.Is(err, providers.ErrRefused):
		code, kind = understudy.ECONFLICT, "app-refused"
	case misconfigured:
		code, kind = understudy.ECONFLICT, "app-misconfigured"
	case errors.Is(err, providers.ErrUnavailable):
		code, kind = understudy.EUNAVAILABLE, "app-unavailable"
	}
	e := understudy.Errorf(code, "%s: %v", what, err)
	e.Type = kind
	return errors.Join(e, err)
}

// CaptureState snapshots every app of the account as the next version of
// state. Errors: EINVALID (state), ENOTFOUND, ECONFLICT (not provisioned),
// EUNAVAILABLE/EINTERNAL naming the app.
func (s *Service) CaptureState(ctx context.Context, accountID, state string) ([]Snapshot, error) {
	if !ValidStateName(state) {
		return nil, understudy.Invalid("invalid state", understudy.FieldError{Field: "state", Detail: "must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter"})
	}
	a, err := s.accounts.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if a.Status == accounts.StatusRetired || a.Status == accounts.StatusPending || a.Status == accounts.StatusProvisioning {
		return nil, understudy.Errorf(understudy.ECONFLICT, "account %s is %s; its state cannot be captured", a.ID, a.Status)
	}
	refs, err := s.refsProvisioningMissing(ctx, a.ID)
	if err != nil {
		if understudy.ErrorCode(err) == understudy.EINTERNAL {
			return nil, appsError("capturing state "+state+" of account "+a.ID, err)
		}
		return nil, err
	}
	if len(refs) == 0 {
		return nil, understudy.Errorf(understudy.ECONFLICT, "account %s is in no app; attach an app to environment %s first", a.ID, a.Environment)
	}
	snaps, err := s.store.Capture(ctx, a.ID, state, refs, s.appTimeout,
		&access.Event{Action: "account.capture_state", TargetType: "account", TargetID: a.ID, Details: map[string]any{"state": state}})
	if err != nil {
		return nil, appsError("capturing state "+state+" of account "+a.ID, err)
	}
	return snaps, nil
}

// List lists an account's snapshots (of one state when state is set).
// Errors: ENOTFOUND.
func (s *Service) List(ctx context.Context, accountID, state string) ([]Snapshot, error) {
	a, err := s.accounts.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return s.store.List(ctx, a.ID, state)
}

// Content returns the canonical JSON of the snapshot whose hash is, or
// starts with, the hex h. Errors: ENOTFOUND, EINVALID (ambiguous).
func (s *Service) Content(ctx context.Context, h string) ([]byte, error) {
	return s.store.Content(ctx, h)
}
