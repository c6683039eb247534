package accounts

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
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
	args := ProvisionArgs{AccountID: accountID, RequestID: providers.RequestID(ctx)}
	if _, err := s.jobs.InsertTx(ctx, tx, args, nil); err != nil {
		return fmt.Errorf("enqueueing the provisioning of account %s: %w", accountID, err)
	}
	return nil
}

// StartProvisioning marks the account provisioning and returns it; it
// returns false, changing nothing, when the account is retired.
// Errors: ENOTFOUND.
func (s *Service) StartProvisioning(ctx context.Context, accountID string) (Account, bool, error) {
	a, err := s.GetAccount(ctx, accountID)
	if err != nil || a.Status == StatusRetired {
		return a, false, err
	}
	if _, err := pgdb.Exec(ctx, s.db, "", setStatusSQL, a.ID, StatusProvisioning, "", []Status{StatusPending, StatusFailed, StatusReady}); err != nil {
		return a, false, err
	}
	return a, true, nil
}

// FinishProvisioning marks a provisioning account ready and audits its
// refs and how many baselines were captured, in one transaction.
func (s *Service) FinishProvisioning(ctx context.Context, a Account, refs []LiveRef, baselines int) error {
	apps := map[string]string{}
	for _, r := range refs {
		apps[r.AppName] = r.Ref
	}
	_, err := s.setStatus(ctx, a.ID, StatusReady, "", []Status{StatusProvisioning},
		access.Event{Action: "account.provision", Details: map[string]any{"refs": apps, "baselines": baselines}})
	if err == nil {
		s.logger.InfoContext(ctx, "account provisioned", "account", a.ID, "apps", len(refs))
	}
	return err
}

// ProvisionApps makes sure the account has a ref in every app of its
// environment, provisioning it in each app it has none in yet (providers
// provision idempotently by account id), and returns every ref.
func (s *Service) ProvisionApps(ctx context.Context, a Account) ([]LiveRef, error) {
	refs, _, err := s.LiveRefs(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	apps, err := s.environmentApps(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	all := make([]LiveRef, 0, len(apps))
	for _, app := range apps {
		r, ok := findRef(refs, app.ID)
		if !ok {
			if r, err = s.provisionIn(ctx, a, app); err != nil {
				return nil, err
			}
		}
		all = append(all, r)
	}
	return all, nil
}

func findRef(refs []LiveRef, appID string) (LiveRef, bool) {
	for _, r := range refs {
		if r.AppID == appID {
			return r, true
		}
	}
	return LiveRef{}, false
}

// provisionIn provisions the account in one app and records its ref.
func (s *Service) provisionIn(ctx context.Context, a Account, app App) (LiveRef, error) {
	inst, err := s.appInstance(ctx, app)
	if err != nil {
		return LiveRef{}, err
	}
	pa, err := s.providerAccount(ctx, a)
	if err != nil {
		return LiveRef{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, s.appTimeout)
	defer cancel()
	ref, err := inst.Provision(pctx, pa)
	if err != nil {
		return LiveRef{}, fmt.Errorf("provisioning in app %s: %w", app.Name, err)
	}
	err = pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertRefSQL, a.ID, app.ID, ref); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "account.provision_app", TargetType: "account", TargetID: a.ID,
			Details: map[string]any{"app": app.Name, "ref": ref}})
	})
	if err != nil {
		return LiveRef{}, err
	}
	return LiveRef{AppID: app.ID, AppName: app.Name, App: inst, Ref: ref}, nil
}

// providerAccount is what apps are told about an account.
func (s *Service) providerAccount(ctx context.Context, a Account) (providers.Account, error) {
	cr, err := s.credentials(ctx, a.ID)
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
		Locale: id.Locale, TimeZone: id.TimeZone, Password: cr.Password, Attributes: r.Attributes, Tags: tagsOf(&a)}, nil
}

// environmentApps returns the apps of the account's environment.
func (s *Service) environmentApps(ctx context.Context, accountID string) ([]App, error) {
	var envID string
	if err := s.db.QueryRow(ctx, environmentIDOfSQL, accountID).Scan(&envID); err != nil {
		return nil, pgdb.Translate(err, "no account has id "+accountID, "")
	}
	return pgdb.QueryAll(ctx, s.db, scanApp, appsOfEnvironmentSQL, envID)
}

// refsWithAppsSQL lists every app of the account's environment with the
// account's ref in it, NULL where it has none yet.
const refsWithAppsSQL = `SELECT ` + appColumns + `, r.ref FROM apps p JOIN environments e ON e.id = p.environment_id
LEFT JOIN account_refs r ON r.app_id = p.id AND r.account_id = $1
WHERE p.environment_id = (SELECT environment_id FROM accounts WHERE id = $1) ORDER BY p.name`

// LiveRefs returns the account's ref in each app it is provisioned in, with
// the app's live provider instance, and how many apps of its environment it
// is not provisioned in yet.
func (s *Service) LiveRefs(ctx context.Context, accountID string) ([]LiveRef, int, error) {
	b := &pgx.Batch{}
	result := s.QueueLiveRefs(b, accountID)
	if err := pgdb.SendBatch(ctx, s.db, b); err != nil {
		return nil, 0, err
	}
	return result(ctx)
}

// QueueLiveRefs queues in b the read that LiveRefs makes, so that a caller
// can read an account's refs in the same round trip as reads of its own;
// once b has been sent, result returns what LiveRefs would.
func (s *Service) QueueLiveRefs(b *pgx.Batch, accountID string) (result func(ctx context.Context) ([]LiveRef, int, error)) {
	type appRef struct {
		app App
		ref *string
	}
	var list []appRef
	var readErr error
	b.Queue(refsWithAppsSQL, accountID).Query(func(rows pgx.Rows) error {
		list, readErr = pgx.CollectRows(rows, func(r pgx.CollectableRow) (appRef, error) {
			var x appRef
			a := &x.app
			return x, r.Scan(&a.ID, &a.Environment, &a.Name, &a.Provider, &a.Settings, &a.SecretNames, &a.SecretDigests, &a.CreatedAt, &a.UpdatedAt, &x.ref)
		})
		return readErr
	})
	return func(ctx context.Context) ([]LiveRef, int, error) {
		if readErr != nil {
			return nil, 0, pgdb.Translate(readErr, "", "")
		}
		out := make([]LiveRef, 0, len(list))
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
			out = append(out, LiveRef{AppID: x.app.ID, AppName: x.app.Name, App: inst, Ref: *x.ref})
		}
		return out, missing, nil
	}
}

// FailProvisioning marks the account failed with the reason, and audits
// that; the job ran out of attempts, or the app refused in a way retrying
// cannot fix.
func (s *Service) FailProvisioning(ctx context.Context, accountID string, cause error) {
	reason := "provisioning failed: " + cause.Error()
	s.markFailed(ctx, accountID, reason, []Status{StatusPending, StatusProvisioning},
		access.Event{Action: "account.provision_failed", Details: map[string]any{"reason": reason}})
}

// FailReset marks the account failed with the reason its reset failed,
// and audits that.
func (s *Service) FailReset(ctx context.Context, accountID, state, reason string) {
	s.markFailed(ctx, accountID, reason, []Status{StatusReady, StatusFailed, StatusLeased},
		access.Event{Action: "account.reset_failed", Details: map[string]any{"state": state, "reason": reason}})
}

// markFailed marks the account failed with reason when its status is one
// of from, and audits e; a failure to do so is logged (the account then
// keeps its status, and the caller's error still says what went wrong).
func (s *Service) markFailed(ctx context.Context, accountID, reason string, from []Status, e access.Event) {
	if _, err := s.setStatus(ctx, accountID, StatusFailed, reason, from, e); err != nil {
		s.logger.ErrorContext(ctx, "marking an account failed", "account", accountID, "error", err)
	}
}

// setStatus moves the account to status (with reason) when it is in one of
// from, and records e about it in the same transaction; it reports whether
// the account moved (an account in another status is left alone, and
// nothing is audited).
func (s *Service) setStatus(ctx context.Context, accountID string, to Status, reason string, from []Status, e access.Event) (bool, error) {
	moved := false
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, setStatusSQL, accountID, to, reason, from)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		moved = true
		e.TargetType, e.TargetID = "account", accountID
		return access.Record(ctx, tx, e)
	})
	return moved, err
}

// FinishReset marks a ready or failed account ready after a reset of it
// succeeded, and audits the reset in the same transaction; it returns the
// account as it now is. Errors: ECONFLICT when it changed meanwhile
// (leased or retired).
func (s *Service) FinishReset(ctx context.Context, a Account, state string) (Account, error) {
	moved, err := s.setStatus(ctx, a.ID, StatusReady, "", []Status{StatusReady, StatusFailed},
		access.Event{Action: "account.reset", Details: map[string]any{"state": state}})
	switch {
	case err != nil:
		return Account{}, err
	case !moved:
		return Account{}, understudy.Errorf(understudy.ECONFLICT, "account %s changed during its reset (it is leased or retired now)", a.ID)
	}
	return s.GetAccount(ctx, a.ID)
}

const refNamesSQL = `SELECT p.name, r.ref FROM account_refs r JOIN apps p ON p.id = r.app_id WHERE r.account_id = $1`

// RefNames returns the account's ref in each app, by app name.
func (s *Service) RefNames(ctx context.Context, accountID string) (map[string]string, error) {
	type pair struct{ app, ref string }
	list, err := pgdb.QueryAll(ctx, s.db, func(r pgx.Row, p *pair) error { return r.Scan(&p.app, &p.ref) }, refNamesSQL, accountID)
	out := make(map[string]string, len(list))
	for _, p := range list {
		out[p.app] = p.ref
	}
	return out, err
}
