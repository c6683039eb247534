package accounts

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/snapshot"
)

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

const (
	appsOfEnvironmentSQL = `SELECT ` + appColumns + ` FROM apps p JOIN environments e ON e.id = p.environment_id WHERE p.environment_id = $1 ORDER BY p.name`
	activeAccountsSQL    = `SELECT id FROM accounts WHERE environment_id = $1 AND status <> 'retired'`
	markPendingSQL       = `UPDATE accounts SET status = 'pending', status_reason = '', updated_at = now() WHERE id = $1 AND status IN ('ready', 'failed')`
	setStatusSQL         = `UPDATE accounts SET status = $2, status_reason = $3, updated_at = now() WHERE id = $1 AND status = ANY($4)`
	refsSQL              = `SELECT app_id, ref FROM account_refs WHERE account_id = $1`
	insertRefSQL         = `INSERT INTO account_refs (account_id, app_id, ref) VALUES ($1, $2, $3) ON CONFLICT (account_id, app_id) DO UPDATE SET ref = EXCLUDED.ref`
	environmentIDOfSQL   = `SELECT environment_id FROM accounts WHERE id = $1`
)

// scheduleEnvironment enqueues, inside tx, the provisioning of every active
// account of environment envID (after an app was attached).
func (s *Service) scheduleEnvironment(ctx context.Context, tx pgx.Tx, envID string) error {
	rows, err := tx.Query(ctx, activeAccountsSQL, envID)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.Exec(ctx, markPendingSQL, id); err != nil {
			return err
		}
		if err := s.enqueueProvision(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) enqueueProvision(ctx context.Context, tx pgx.Tx, accountID string) error {
	args := ProvisionArgs{AccountID: accountID, RequestID: access.CallerFrom(ctx).RequestID}
	if _, err := s.jobs.InsertTx(ctx, tx, args, nil); err != nil {
		return fmt.Errorf("enqueueing the provisioning of account %s: %w", accountID, err)
	}
	return nil
}

// Provision provisions the account into every app of its environment that
// has no ref for it yet, captures the baseline of those apps, and marks the
// account ready. It is what the provisioning job runs; it is safe to run
// again (providers provision idempotently by account id).
func (s *Service) Provision(ctx context.Context, accountID string) error {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return err
	}
	if a.Status == StatusRetired {
		return nil
	}
	if _, err := s.db.Exec(ctx, setStatusSQL, a.ID, StatusProvisioning, "", []Status{StatusPending, StatusFailed, StatusReady}); err != nil {
		return pgdb.Translate(err, "", "")
	}
	refs, baselines, err := s.provisionMissing(ctx, a)
	if err != nil {
		return err
	}
	if _, err = s.db.Exec(ctx, setStatusSQL, a.ID, StatusReady, "", []Status{StatusProvisioning}); err != nil {
		return pgdb.Translate(err, "", "")
	}
	apps := map[string]string{}
	for _, r := range refs {
		apps[r.AppName] = r.Ref
	}
	s.audit(ctx, "account.provision", a.ID, map[string]any{"refs": apps, "baselines": baselines})
	s.logger.InfoContext(ctx, "account provisioned", "account", a.ID, "apps", len(refs))
	return nil
}

// provisionMissing provisions the account in every app of its environment
// it is not in yet and captures the baseline of the apps that have none. It
// returns every ref and how many baselines it captured.
func (s *Service) provisionMissing(ctx context.Context, a Account) ([]snapshot.AppRef, int, error) {
	refs, noBaseline, err := s.provisionApps(ctx, a)
	if err != nil {
		return nil, 0, err
	}
	if len(noBaseline) > 0 {
		if _, err := s.snaps.Capture(ctx, a.ID, snapshot.Baseline, noBaseline, s.appTimeout); err != nil {
			return nil, 0, fmt.Errorf("capturing the baseline: %w", err)
		}
	}
	return refs, len(noBaseline), nil
}

// provisionApps makes sure the account has a ref in every app of its
// environment. It returns every ref, and those whose app has no baseline.
func (s *Service) provisionApps(ctx context.Context, a Account) (all, noBaseline []snapshot.AppRef, err error) {
	refs, _, err := s.AppRefs(ctx, a.ID)
	if err != nil {
		return nil, nil, err
	}
	baselined, err := s.appsWithState(ctx, a.ID, snapshot.Baseline)
	if err != nil {
		return nil, nil, err
	}
	apps, err := s.environmentApps(ctx, a.ID)
	if err != nil {
		return nil, nil, err
	}
	for _, app := range apps {
		r, ok := findRef(refs, app.ID)
		if !ok {
			if r, err = s.provisionIn(ctx, a, app); err != nil {
				return nil, nil, err
			}
		}
		all = append(all, r)
		if !slices.Contains(baselined, app.ID) {
			noBaseline = append(noBaseline, r)
		}
	}
	return all, noBaseline, nil
}

func findRef(refs []snapshot.AppRef, appID string) (snapshot.AppRef, bool) {
	for _, r := range refs {
		if r.AppID == appID {
			return r, true
		}
	}
	return snapshot.AppRef{}, false
}

// provisionIn provisions the account in one app and records its ref.
func (s *Service) provisionIn(ctx context.Context, a Account, app App) (snapshot.AppRef, error) {
	inst, err := s.appInstance(ctx, app)
	if err != nil {
		return snapshot.AppRef{}, err
	}
	pa, err := s.providerAccount(ctx, a)
	if err != nil {
		return snapshot.AppRef{}, err
	}
	pctx, cancel := context.WithTimeout(providers.WithRequestID(ctx, access.CallerFrom(ctx).RequestID), s.appTimeout)
	defer cancel()
	ref, err := inst.Provision(pctx, pa)
	if err != nil {
		return snapshot.AppRef{}, fmt.Errorf("provisioning in app %s: %w", app.Name, err)
	}
	if _, err := s.db.Exec(ctx, insertRefSQL, a.ID, app.ID, ref); err != nil {
		return snapshot.AppRef{}, pgdb.Translate(err, "", "")
	}
	return snapshot.AppRef{AppID: app.ID, AppName: app.Name, App: inst, Ref: ref}, nil
}

// providerAccount is what apps are told about an account.
func (s *Service) providerAccount(ctx context.Context, a Account) (providers.Account, error) {
	cr, err := s.Credentials(ctx, a.ID)
	if err != nil {
		return providers.Account{}, err
	}
	r, err := s.GetRole(ctx, a.Environment, a.Role)
	if err != nil {
		return providers.Account{}, err
	}
	id := a.Identity
	return providers.Account{ID: a.ID, Environment: a.Environment, Role: a.Role, Email: id.Email, Username: id.Username,
		DisplayName: id.DisplayName, GivenName: id.GivenName, FamilyName: id.FamilyName, Phone: id.Phone,
		Locale: id.Locale, TimeZone: id.TimeZone, Password: cr.Password, Attributes: r.Attributes}, nil
}

// environmentApps returns the apps of the account's environment.
func (s *Service) environmentApps(ctx context.Context, accountID string) ([]App, error) {
	var envID string
	if err := s.db.QueryRow(ctx, environmentIDOfSQL, accountID).Scan(&envID); err != nil {
		return nil, pgdb.Translate(err, "no account has id "+accountID, "")
	}
	return queryAll(ctx, s.db, scanApp, appsOfEnvironmentSQL, envID)
}

// refsWithAppsSQL lists every app of the account's environment with the
// account's ref in it, NULL where it has none yet.
const refsWithAppsSQL = `SELECT ` + appColumns + `, r.ref FROM apps p JOIN environments e ON e.id = p.environment_id
LEFT JOIN account_refs r ON r.app_id = p.id AND r.account_id = $1
WHERE p.environment_id = (SELECT environment_id FROM accounts WHERE id = $1) ORDER BY p.name`

// AppRefs returns the account's ref in each app it is provisioned in, with
// the app's provider instance, and how many apps of its environment it is
// not provisioned in yet.
func (s *Service) AppRefs(ctx context.Context, accountID string) ([]snapshot.AppRef, int, error) {
	rows, err := s.db.Query(ctx, refsWithAppsSQL, accountID)
	if err != nil {
		return nil, 0, pgdb.Translate(err, "", "")
	}
	type appRef struct {
		app App
		ref *string
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (appRef, error) {
		var x appRef
		a := &x.app
		return x, r.Scan(&a.ID, &a.Environment, &a.Name, &a.Provider, &a.Settings, &a.SecretNames, &a.CreatedAt, &a.UpdatedAt, &x.ref)
	})
	if err != nil {
		return nil, 0, pgdb.Translate(err, "", "")
	}
	out := make([]snapshot.AppRef, 0, len(list))
	missing := 0
	for _, x := range list {
		if x.ref == nil {
			missing++
			continue
		}
		inst, err := s.appInstance(ctx, x.app)
		if err != nil {
			return nil, 0, fmt.Errorf("app %s: %w", x.app.Name, err)
		}
		out = append(out, snapshot.AppRef{AppID: x.app.ID, AppName: x.app.Name, App: inst, Ref: *x.ref})
	}
	return out, missing, nil
}

// completeRefs provisions the account in the apps of its environment it
// is not in yet (an app attached while its provisioning job ran, say) and
// captures their baseline, without changing the account's status, then
// returns every ref. Resets and captures call it, so an account is never
// handed out missing from an app.
func (s *Service) completeRefs(ctx context.Context, accountID string) ([]snapshot.AppRef, error) {
	refs, missing, err := s.AppRefs(ctx, accountID)
	if err != nil || missing == 0 {
		return refs, err
	}
	a, err := s.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	all, _, err := s.provisionMissing(ctx, a)
	return all, err
}

const appsWithStateSQL = `SELECT DISTINCT app_id::text FROM snapshots WHERE account_id = $1 AND state = $2`

func (s *Service) appsWithState(ctx context.Context, accountID, state string) ([]string, error) {
	rows, err := s.db.Query(ctx, appsWithStateSQL, accountID, state)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, pgdb.Translate(err, "", "")
}

// failProvisioning marks the account failed with the reason; the job ran
// out of attempts, or the app refused in a way retrying cannot fix.
func (s *Service) failProvisioning(ctx context.Context, accountID string, cause error) {
	reason := "provisioning failed: " + cause.Error()
	if _, err := s.db.Exec(ctx, setStatusSQL, accountID, StatusFailed, reason, []Status{StatusPending, StatusProvisioning}); err != nil {
		s.logger.ErrorContext(ctx, "marking an account failed", "account", accountID, "error", err)
	}
}

// permanent reports provider errors that retrying cannot fix.
func permanent(err error) bool {
	var ce *providers.ConfigError
	return errors.Is(err, providers.ErrRefused) || errors.Is(err, providers.ErrNotSynthetic) ||
		errors.Is(err, providers.ErrNotOwned) || errors.As(err, &ce)
}
