package apps

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// An account's ref in an app is the app's own id of the account's user
// (account_refs). Provisioning (package snapshot) records it; resets,
// captures and audits read it with the app's live provider instance.

const (
	hasAppsSQL       = `SELECT EXISTS (SELECT 1 FROM apps WHERE environment_id = $1)`
	inEnvironmentSQL = `SELECT ` + appColumns + ` FROM apps p WHERE p.environment_id = $1 ORDER BY p.name`
	insertRefSQL     = `INSERT INTO account_refs (account_id, app_id, ref, provisioned_at) VALUES ($1, $2, $3, coalesce($4::timestamptz, now()))
ON CONFLICT (account_id, app_id) DO UPDATE SET ref = EXCLUDED.ref`
	refNamesSQL  = `SELECT p.name, r.ref FROM account_refs r JOIN apps p ON p.id = r.app_id WHERE r.account_id = $1`
	refsOfAppSQL = `SELECT r.account_id::text, r.ref FROM account_refs r JOIN apps p ON p.id = r.app_id WHERE p.environment_id = $1 AND p.name = $2`
	// refsWithAppsSQL lists every app of the account's environment with the
	// account's ref in it, NULL where it has none yet. It reads the
	// account's environment through package accounts' view
	// (accounts.AccountDirectory) in the same statement, so that a lease's
	// reset reads its refs in the round trip that reads its snapshots.
	refsWithAppsSQL = `SELECT ` + appColumns + `, r.ref FROM apps p
LEFT JOIN account_refs r ON r.app_id = p.id AND r.account_id = $1
WHERE p.environment_id = (SELECT environment_id FROM ` + accounts.AccountDirectory + ` WHERE id = $1) ORDER BY p.name`
)

// HasAppsTx reports, inside tx, whether environment envID has an app: a
// new account there must be provisioned before it is ready.
func HasAppsTx(ctx context.Context, tx pgx.Tx, envID string) (bool, error) {
	var has bool
	err := tx.QueryRow(ctx, hasAppsSQL, envID).Scan(&has)
	return has, err
}

// InEnvironment returns the apps of environment envID, by name.
func (s *Service) InEnvironment(ctx context.Context, envID string) ([]App, error) {
	return pgdb.QueryAll(ctx, s.db, scanApp, inEnvironmentSQL, envID)
}

// RecordRef records the account's ref in app and audits that
// (account.provision_app), in one transaction.
func (s *Service) RecordRef(ctx context.Context, accountID string, app App, ref string) error {
	return pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error { return s.RecordRefTx(ctx, tx, accountID, app, ref) })
}

// RecordRefTx is RecordRef inside the caller's transaction, for a caller
// that records more of the provisioning with it (the app's authenticator
// secret).
func (s *Service) RecordRefTx(ctx context.Context, tx pgx.Tx, accountID string, app App, ref string) error {
	if _, err := tx.Exec(ctx, insertRefSQL, accountID, app.ID, ref, s.dbNow()); err != nil {
		return err
	}
	return access.Record(ctx, tx, access.Event{Action: "account.provision_app", TargetType: "account", TargetID: accountID,
		Details: map[string]any{"app": app.Name, "ref": ref}})
}

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

// Ref is an account's ref in one app.
type Ref struct {
	AccountID string `json:"account_id"`
	Email     string `json:"email"`
	App       string `json:"app"`
	Ref       string `json:"ref"`
}

// Refs returns every account's ref in app name of environment env, by
// email: what detaching the app drops. Errors: ENOTFOUND (env).
func (s *Service) Refs(ctx context.Context, env, name string) ([]Ref, error) {
	e, err := s.accounts.GetEnvironment(ctx, env)
	if err != nil {
		return nil, err
	}
	list, err := pgdb.QueryAll(ctx, s.db, func(row pgx.Row, r *Ref) error {
		r.App = name
		return row.Scan(&r.AccountID, &r.Ref)
	}, refsOfAppSQL, e.ID, name)
	if err != nil || len(list) == 0 {
		return list, err
	}
	ids := make([]string, len(list))
	for i, r := range list {
		ids[i] = r.AccountID
	}
	emails, err := s.accounts.Emails(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range list {
		list[i].Email = emails[list[i].AccountID]
	}
	slices.SortFunc(list, func(a, b Ref) int { return strings.Compare(a.Email, b.Email) })
	return list, nil
}

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
			return x, r.Scan(&a.ID, &a.Name, &a.Provider, &a.Settings, &a.SecretNames, &a.SecretDigests, &a.CreatedAt, &a.UpdatedAt, &x.ref)
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

// RefOwner is the account an app's ref belongs to, with its role's
// isolation policy.
type RefOwner struct {
	Ref, AccountID string
	Policy         map[string]accounts.Visibility
}

// refOwnersSQL maps an app's refs to the accounts they belong to, with
// their roles' policies (package accounts', through
// accounts.AccountDirectory); a ref of no account is a real user's.
const refOwnersSQL = `
SELECT r.ref, r.account_id::text, a.isolation_policy
FROM account_refs r JOIN ` + accounts.AccountDirectory + ` a ON a.id = r.account_id
WHERE r.app_id = $1 AND r.ref = ANY($2)`

// RefOwners returns the owners of those of refs that are app appID's refs
// of an account, read on db (a pool, or the caller's transaction).
func RefOwners(ctx context.Context, db pgdb.DB, appID string, refs []string) ([]RefOwner, error) {
	return pgdb.QueryAll(ctx, db, func(r pgx.Row, o *RefOwner) error { return r.Scan(&o.Ref, &o.AccountID, &o.Policy) }, refOwnersSQL, appID, refs)
}
