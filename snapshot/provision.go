package snapshot

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/apps"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
)

// Provisioning puts an account into every app of its environment, records
// its ref there (package apps) and captures its baseline; only then is the
// account ready (package accounts keeps the status, this file decides it).
// Its job (ProvisionArgs), its scheduling (Scheduler), its worker (jobs.go)
// and its outcome all live here.

// ProvisionArgs is the job that provisions one account into every app of
// its environment and captures its baseline.
type ProvisionArgs struct {
	AccountID string `json:"account_id"`
	// RequestID is the id of the request that caused the provisioning: the
	// job's logs, audit events and calls to apps carry it.
	RequestID string `json:"request_id,omitempty"`
}

// Kind names the job.
func (ProvisionArgs) Kind() string { return "provision_account" }

// InsertOpts: one pending provisioning job per account at a time, a few
// attempts with River's backoff before the account is marked failed.
func (ProvisionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// Scheduler enqueues provisioning jobs inside the transactions of the
// writes that need them: package accounts when it creates accounts where
// apps are attached (accounts.Provisioning), package apps when an app is
// attached (apps.Provisioning). It needs neither service, so it is built
// before them.
type Scheduler struct {
	jobs *river.Client[pgx.Tx]
	now  func() time.Time
}

var (
	_ accounts.Provisioning = (*Scheduler)(nil)
	_ apps.Provisioning     = (*Scheduler)(nil)
)

// NewScheduler returns a Scheduler. now is the clock its SQL takes (nil:
// the database's).
func NewScheduler(now func() time.Time) (*Scheduler, error) {
	// An insert-only River client: cmd runs the workers.
	jobs, err := river.NewClient(riverpgxv5.New(nil), &river.Config{})
	if err != nil {
		return nil, fmt.Errorf("snapshot: preparing the job queue: %w", err)
	}
	return &Scheduler{jobs: jobs, now: now}, nil
}

// HasAppsTx reports, inside tx, whether environment envID has apps.
func (*Scheduler) HasAppsTx(ctx context.Context, tx pgx.Tx, envID string) (bool, error) {
	return apps.HasAppsTx(ctx, tx, envID)
}

// ScheduleTx enqueues, inside tx, the provisioning of each of accountIDs,
// in one insert.
func (s *Scheduler) ScheduleTx(ctx context.Context, tx pgx.Tx, accountIDs ...string) error {
	if len(accountIDs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(accountIDs))
	for i, id := range accountIDs {
		params[i] = river.InsertManyParams{Args: ProvisionArgs{AccountID: id, RequestID: access.RequestID(ctx)}}
	}
	if _, err := s.jobs.InsertManyTx(ctx, tx, params); err != nil {
		if len(accountIDs) == 1 {
			return fmt.Errorf("enqueueing the provisioning of account %s: %w", accountIDs[0], err)
		}
		return fmt.Errorf("enqueueing the provisioning of %d accounts: %w", len(accountIDs), err)
	}
	return nil
}

// ScheduleEnvironmentTx marks every active account of environment envID
// pending and enqueues its provisioning, inside tx (an app was attached).
func (s *Scheduler) ScheduleEnvironmentTx(ctx context.Context, tx pgx.Tx, envID string) error {
	var now *time.Time
	if s.now != nil {
		now = new(s.now())
	}
	ids, err := accounts.PendActiveTx(ctx, tx, envID, now)
	if err != nil {
		return err
	}
	return s.ScheduleTx(ctx, tx, ids...)
}

// Provision provisions the account into every app of its environment
// that has no ref for it yet, captures the baseline of every app that has
// none, and marks the account ready. It is what the provisioning job runs;
// it is safe to run again (providers provision idempotently by account id).
// A retired account is left alone.
func (s *Service) Provision(ctx context.Context, accountID string) error {
	a, err := s.accounts.GetAccount(ctx, accountID)
	if err != nil || a.Status == accounts.StatusRetired {
		return err
	}
	from := []accounts.Status{accounts.StatusPending, accounts.StatusFailed, accounts.StatusReady}
	if _, err := s.accounts.SetStatus(ctx, a.ID, accounts.StatusProvisioning, "", from, access.Event{}); err != nil {
		return err
	}
	refs, baselines, err := s.provisionWithBaselines(ctx, a)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, r := range refs {
		names[r.AppName] = r.Ref
	}
	_, err = s.accounts.SetStatus(ctx, a.ID, accounts.StatusReady, "", []accounts.Status{accounts.StatusProvisioning},
		access.Event{Action: "account.provision", Details: map[string]any{"refs": names, "baselines": baselines}})
	if err == nil {
		s.logger.InfoContext(ctx, "account provisioned", "account", a.ID, "apps", len(refs))
	}
	return err
}

// failProvisioning marks the account failed with the reason, and audits
// that; the job ran out of attempts, or the app refused in a way retrying
// cannot fix.
func (s *Service) failProvisioning(ctx context.Context, accountID string, cause error) {
	reason := "provisioning failed: " + cause.Error()
	s.markFailed(ctx, accountID, reason, []accounts.Status{accounts.StatusPending, accounts.StatusProvisioning},
		access.Event{Action: "account.provision_failed", Details: map[string]any{"reason": reason}})
}

// markFailed marks the account failed with reason when its status is one
// of from, and audits e; a failure to do so is logged (the account then
// keeps its status, and the caller's error still says what went wrong).
func (s *Service) markFailed(ctx context.Context, accountID, reason string, from []accounts.Status, e access.Event) {
	if _, err := s.accounts.SetStatus(ctx, accountID, accounts.StatusFailed, reason, from, e); err != nil {
		s.logger.ErrorContext(ctx, "marking an account failed", "account", accountID, "error", err)
	}
}

// refsProvisioningMissing returns every ref of the account, after
// provisioning it (and capturing the baseline) in each app of its
// environment it is not in yet: an app attached while its provisioning job
// ran, say. Resets and captures call it, so an account is never handed out
// missing from an app. The account's status does not change.
func (s *Service) refsProvisioningMissing(ctx context.Context, accountID string) ([]apps.LiveRef, error) {
	refs, missing, err := s.apps.LiveRefs(ctx, accountID)
	if err != nil || missing == 0 {
		return refs, err
	}
	a, err := s.accounts.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	all, _, err := s.provisionWithBaselines(ctx, a)
	return all, err
}

// provisionWithBaselines provisions the account in every app of its
// environment it is not in yet and captures the baseline of the apps that
// have none. It returns every ref and how many baselines it captured.
func (s *Service) provisionWithBaselines(ctx context.Context, a accounts.Account) ([]apps.LiveRef, int, error) {
	refs, err := s.provisionApps(ctx, a)
	if err != nil {
		return nil, 0, err
	}
	baselined, err := s.store.appsWithState(ctx, a.ID, Baseline)
	if err != nil {
		return nil, 0, err
	}
	var none []apps.LiveRef
	for _, r := range refs {
		if !slices.Contains(baselined, r.AppID) {
			none = append(none, r)
		}
	}
	if len(none) > 0 {
		names := make([]string, len(none))
		for i, r := range none {
			names[i] = r.AppName
		}
		audit := &access.Event{Action: "account.capture_state", TargetType: "account", TargetID: a.ID,
			Details: map[string]any{"state": Baseline, "apps": names}}
		if _, err := s.store.Capture(ctx, a.ID, Baseline, none, s.appTimeout, audit); err != nil {
			return nil, 0, fmt.Errorf("capturing the baseline: %w", err)
		}
	}
	return refs, len(none), nil
}

// provisionApps makes sure the account has a ref in every app of its
// environment, provisioning it in each app it has none in yet (providers
// provision idempotently by account id), and returns every ref.
func (s *Service) provisionApps(ctx context.Context, a accounts.Account) ([]apps.LiveRef, error) {
	refs, _, err := s.apps.LiveRefs(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	e, err := s.accounts.GetEnvironment(ctx, a.Environment)
	if err != nil {
		return nil, err
	}
	list, err := s.apps.InEnvironment(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	all := make([]apps.LiveRef, 0, len(list))
	for _, app := range list {
		i := slices.IndexFunc(refs, func(r apps.LiveRef) bool { return r.AppID == app.ID })
		if i >= 0 {
			all = append(all, refs[i])
			continue
		}
		r, err := s.provisionIn(ctx, a, app)
		if err != nil {
			return nil, err
		}
		all = append(all, r)
	}
	return all, nil
}

// provisionIn provisions the account in one app and records its ref.
func (s *Service) provisionIn(ctx context.Context, a accounts.Account, app apps.App) (apps.LiveRef, error) {
	inst, err := s.apps.Instance(ctx, app)
	if err != nil {
		return apps.LiveRef{}, err
	}
	pa, err := s.accounts.ProviderAccount(ctx, a)
	if err != nil {
		return apps.LiveRef{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, s.appTimeout)
	defer cancel()
	p, err := inst.Provision(pctx, pa)
	if err != nil {
		return apps.LiveRef{}, fmt.Errorf("provisioning in app %s: %w", app.Name, err)
	}
	if err := s.recordProvisioned(ctx, a.ID, app, p); err != nil {
		return apps.LiveRef{}, err
	}
	return apps.LiveRef{AppID: app.ID, AppName: app.Name, App: inst, Ref: p.Ref}, nil
}

// recordProvisioned records the account's ref in app and, when the app
// enrolled an authenticator secret for the user, keeps that secret sealed
// as the account's TOTP secret for the app (inbox.TOTP.EnrolTx), in one
// transaction: a ref is never recorded without the secret that signs its
// user in. A secret that cannot be kept fails the provisioning of the app
// (ErrProtocol: the app broke the contract), naming what is wrong with it
// and never the secret.
func (s *Service) recordProvisioned(ctx context.Context, accountID string, app apps.App, p providers.Provisioned) error {
	if p.TOTPURI == "" {
		return s.apps.RecordRef(ctx, accountID, app, p.Ref)
	}
	if s.totp == nil {
		s.logger.WarnContext(ctx, "an app enrolled an authenticator secret, but this server keeps none: it is dropped",
			"app", app.Name, "account", accountID)
		return s.apps.RecordRef(ctx, accountID, app, p.Ref)
	}
	var enrolErr error
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.apps.RecordRefTx(ctx, tx, accountID, app, p.Ref); err != nil {
			return err
		}
		enrolErr = s.totp.EnrolTx(ctx, tx, accountID, app.ID, app.Name, p.TOTPURI)
		return enrolErr
	})
	if enrolErr != nil && understudy.ErrorCode(enrolErr) == understudy.EINVALID {
		return fmt.Errorf("provisioning in app %s: %w: the totp_uri it returned cannot be kept: %s", app.Name, providers.ErrProtocol, enrolErr.Error())
	}
	return err
}
