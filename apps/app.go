package apps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/secret"
)

// App is one application of an environment, reached through a provider.
// Its secrets are sealed at rest and never returned: only their names are.
type App struct {
	ID          string          `json:"id"`
	Environment string          `json:"environment"`
	Name        string          `json:"name"`
	Provider    string          `json:"provider"`
	Settings    json.RawMessage `json:"settings"`
	SecretNames []string        `json:"secret_names"`
	// SecretDigests holds a keyed digest of each secret (secret.Keyring's
	// Digest), so a spec's plan can tell a changed secret without opening
	// it. Never sent to clients.
	SecretDigests map[string]string `json:"-"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// Change attaches or updates an app. On update, nil fields are kept; a
// non-nil Secrets replaces every secret.
type Change struct {
	Provider *string
	Settings json.RawMessage
	Secrets  map[string]string
}

const appColumns = `p.id, p.name, p.provider, p.settings, p.secret_names, p.secret_digests, p.created_at, p.updated_at`

func scanApp(row pgx.Row, a *App) error {
	return row.Scan(&a.ID, &a.Name, &a.Provider, &a.Settings, &a.SecretNames, &a.SecretDigests, &a.CreatedAt, &a.UpdatedAt)
}

// inEnvironment returns a scan of apps of environment env.
func inEnvironment(env string) func(pgx.Row, *App) error {
	return func(row pgx.Row, a *App) error {
		a.Environment = env
		return scanApp(row, a)
	}
}

const (
	insertAppSQL = `
INSERT INTO apps (environment_id, name, provider, settings, secret_names, secrets_key_id, secrets_sealed, secret_digests, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9::timestamptz, now()), coalesce($9::timestamptz, now())) RETURNING id, created_at, updated_at`
	getAppSQL     = `SELECT ` + appColumns + ` FROM apps p WHERE p.environment_id = $1 AND p.name = $2`
	listAppsSQL   = `SELECT ` + appColumns + ` FROM apps p WHERE p.environment_id = $1 ORDER BY p.name`
	appSecretsSQL = `SELECT secrets_key_id, secrets_sealed FROM apps WHERE id = $1`
	updateAppSQL  = `
UPDATE apps SET provider = $2, settings = $3, secret_names = $4, secrets_key_id = $5, secrets_sealed = $6, secret_digests = $7,
                updated_at = coalesce($8::timestamptz, now())
WHERE id = $1 RETURNING updated_at`
	deleteAppSQL = `DELETE FROM apps WHERE id = $1`
)

// Attach attaches app name of provider to environment env, after the
// provider validated its settings and secrets, and schedules the
// provisioning of every active account of env into it.
// Errors: EINVALID naming the field, ENOTFOUND, ECONFLICT.
func (s *Service) Attach(ctx context.Context, env, name string, c Change) (App, error) {
	a := App{Environment: env, Name: name, Settings: c.Settings}
	if c.Provider != nil {
		a.Provider = *c.Provider
	}
	if err := s.validateApp(ctx, &a, c.Secrets); err != nil {
		return App{}, err
	}
	sealed, keyID := s.sealSecrets(c.Secrets)
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		e, err := s.accounts.GetEnvironmentTx(ctx, tx, env)
		if err != nil {
			return err
		}
		a.SecretDigests = s.keyring.DigestMap(c.Secrets, SecretPurpose)
		row := tx.QueryRow(ctx, insertAppSQL, e.ID, a.Name, a.Provider, a.Settings, a.SecretNames, keyID, sealed, a.SecretDigests, s.dbNow())
		if err := row.Scan(&a.ID, &a.CreatedAt, &a.UpdatedAt); err != nil {
			return pgdb.Translate(err, "", "app "+name+" is already attached to environment "+env)
		}
		if err := access.Record(ctx, tx, access.Event{Action: "app.attach", TargetType: "app", TargetID: a.ID,
			Details: map[string]any{"environment": env, "name": name, "provider": a.Provider, "settings": a.Settings, "secret_names": a.SecretNames}}); err != nil {
			return err
		}
		return s.provisioning.ScheduleEnvironmentTx(ctx, tx, e.ID)
	})
	return a, pgdb.Translate(err, "", "")
}

// SecretPurpose is the purpose of an app secret's digest
// (secret.Keyring.DigestMap).
const SecretPurpose = "app-secret"

// Check validates app a with secrets as Attach would, building its
// provider and checking its settings against the app, and stores nothing.
// Errors: EINVALID naming the field, EUNAVAILABLE.
func (s *Service) Check(ctx context.Context, a App, secrets map[string]string) error {
	return s.validateApp(ctx, &a, secrets)
}

// validateApp normalises a and builds its provider once, so a bad
// provider, setting or secret is refused before anything is stored.
func (s *Service) validateApp(ctx context.Context, a *App, secrets map[string]string) error {
	var fields []understudy.FieldError
	if !slugRE.MatchString(a.Name) {
		fields = append(fields, understudy.FieldError{Field: "name", Detail: "must be 1-63 lower-case letters, digits or '-', starting with a letter"})
	}
	if len(a.Settings) == 0 || string(a.Settings) == "null" {
		a.Settings = json.RawMessage("{}")
	}
	a.SecretNames = sortedKeys(secrets)
	if s.registry == nil {
		return understudy.Errorf(understudy.EINVALID, "this server has no app providers")
	}
	inst, err := s.registry.New(ctx, a.Provider, providers.Config{App: a.Name, Settings: a.Settings, Secrets: secrets, Logger: s.logger})
	if ce, ok := errors.AsType[*providers.ConfigError](err); ok {
		fields = append(fields, understudy.FieldError{Field: ce.Field, Detail: ce.Detail})
	} else if err != nil {
		return fmt.Errorf("building app %s: %w", a.Name, err)
	} else {
		defer closeApp(inst) // built only to validate
		if len(fields) == 0 {
			if err := s.checkAgainstApp(ctx, a.Name, inst); err != nil {
				return err
			}
		}
	}
	if len(fields) > 0 {
		return understudy.Invalid("invalid app", fields...)
	}
	return nil
}

// checkAgainstApp runs the provider's check of its settings against the
// app itself (its schema), when it has one: a setting that cannot work is
// refused with 422 naming it, before it is stored or used. An app that
// cannot be reached is 503: a setting that cannot be checked is not
// accepted.
func (s *Service) checkAgainstApp(ctx context.Context, name string, inst providers.App) error {
	cc, ok := inst.(providers.ConfigChecker)
	if !ok {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.appTimeout)
	defer cancel()
	err := cc.CheckConfig(cctx)
	if ce, ok := errors.AsType[*providers.ConfigError](err); ok {
		return understudy.Invalid("app "+name+" cannot work with these settings", understudy.FieldError{Field: ce.Field, Detail: ce.Detail})
	}
	if err != nil {
		return understudy.Errorf(understudy.EUNAVAILABLE, "app %s: its settings could not be checked against the app: %v", name, err)
	}
	return nil
}

func (s *Service) sealSecrets(secrets map[string]string) ([]byte, string) {
	sealed := s.keyring.SealMap(secrets, "app-secrets")
	return sealed.Data, sealed.KeyID
}

func (s *Service) openSecrets(ctx context.Context, appID string) (map[string]string, error) {
	var sealed secret.Sealed
	if err := s.db.QueryRow(ctx, appSecretsSQL, appID).Scan(&sealed.KeyID, &sealed.Data); err != nil {
		return nil, pgdb.Translate(err, "no app has id "+appID, "")
	}
	out, err := s.keyring.OpenMap(sealed, "app-secrets")
	if err != nil {
		return nil, s.openError(err)
	}
	return out, nil
}

// Get returns app name of environment env. Errors: ENOTFOUND.
func (s *Service) Get(ctx context.Context, env, name string) (App, error) {
	e, err := s.accounts.GetEnvironment(ctx, env)
	if err != nil {
		return App{}, err
	}
	a, found, err := pgdb.QueryMaybe(ctx, s.db, inEnvironment(env), pgdb.Conflict{}, getAppSQL, e.ID, name)
	if err == nil && !found {
		return App{}, understudy.Errorf(understudy.ENOTFOUND, "app %s is not attached to environment %s", name, env)
	}
	return a, err
}

// List returns the apps of environment env, by name. Errors: ENOTFOUND.
func (s *Service) List(ctx context.Context, env string) ([]App, error) {
	e, err := s.accounts.GetEnvironment(ctx, env)
	if err != nil {
		return nil, err
	}
	return pgdb.QueryAll(ctx, s.db, inEnvironment(env), listAppsSQL, e.ID)
}

// Update changes an app's provider, settings or secrets, validated as
// on attach. Errors: EINVALID, ENOTFOUND.
func (s *Service) Update(ctx context.Context, env, name string, c Change) (App, error) {
	a, err := s.Get(ctx, env, name)
	if err != nil {
		return App{}, err
	}
	secrets := c.Secrets
	if secrets == nil {
		if secrets, err = s.openSecrets(ctx, a.ID); err != nil {
			return App{}, err
		}
	}
	if c.Provider != nil {
		a.Provider = *c.Provider
	}
	if c.Settings != nil {
		a.Settings = c.Settings
	}
	if err := s.validateApp(ctx, &a, secrets); err != nil {
		return App{}, err
	}
	sealed, keyID := s.sealSecrets(secrets)
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		a.SecretDigests = s.keyring.DigestMap(secrets, SecretPurpose)
		if err := tx.QueryRow(ctx, updateAppSQL, a.ID, a.Provider, a.Settings, a.SecretNames, keyID, sealed, a.SecretDigests, s.dbNow()).Scan(&a.UpdatedAt); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "app.update", TargetType: "app", TargetID: a.ID,
			Details: map[string]any{"environment": env, "name": name, "provider": a.Provider, "settings": a.Settings, "secret_names": a.SecretNames}})
	})
	s.forgetApp(a.ID)
	return a, pgdb.Translate(err, "", "")
}

// Detach detaches an app: the account refs and snapshots of that app
// go with it; the users it holds stay in the app. Errors: ENOTFOUND.
func (s *Service) Detach(ctx context.Context, env, name string) error {
	a, err := s.Get(ctx, env, name)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, deleteAppSQL, a.ID); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "app.detach", TargetType: "app", TargetID: a.ID,
			Details: map[string]any{"environment": env, "name": name}})
	})
	s.forgetApp(a.ID)
	return pgdb.Translate(err, "", "")
}

// TestResult is the outcome of testing an app's connection and contract.
type TestResult struct {
	App     string `json:"app"`
	OK      bool   `json:"ok"`
	Detail  string `json:"detail"`
	Elapsed string `json:"elapsed"`
}

// Test checks that an app is reachable and speaks its provider's
// contract: the provider's own test when it has one, otherwise a Verify of
// a ref that cannot exist, which must answer "not found".
func (s *Service) Test(ctx context.Context, env, name string) (TestResult, error) {
	a, err := s.Get(ctx, env, name)
	if err != nil {
		return TestResult{}, err
	}
	inst, err := s.appInstance(ctx, a)
	if err != nil {
		return TestResult{}, err
	}
	if err := s.checkAgainstApp(ctx, name, inst); err != nil {
		return TestResult{}, err
	}
	start := s.now()
	ctx, cancel := context.WithTimeout(ctx, s.appTimeout)
	defer cancel()
	if t, ok := inst.(providers.Tester); ok {
		err = t.Test(ctx)
	} else if err = inst.Verify(ctx, providers.Target{Ref: "understudy-connectivity-check", AccountID: "none"}); errors.Is(err, providers.ErrNotFound) {
		err = nil
	}
	check := TestResult{App: name, OK: err == nil, Detail: "the app answered as the contract says", Elapsed: s.now().Sub(start).Round(time.Millisecond).String()}
	if err != nil {
		check.Detail = err.Error()
	}
	return check, nil
}
