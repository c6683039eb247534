package tagging

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

// Sync interval bounds and default of a destination.
const (
	DefaultSyncInterval = 15 * time.Minute
	MinSyncInterval     = time.Minute
	MaxSyncInterval     = 24 * time.Hour
)

// Health statuses of a destination.
const (
	HealthUnknown   = "unknown"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Destination is one analytics project of an environment that its
// exclusion list is published to. Its secrets are sealed at rest and never
// returned: only their names are.
type Destination struct {
	ID          string          `json:"id"`
	Environment string          `json:"environment"`
	Name        string          `json:"name"`
	Kind        string          `json:"kind"`
	Settings    json.RawMessage `json:"settings"`
	SecretNames []string        `json:"secret_names"`
	// DistinctID is the rule that maps an account to the id the
	// destination knows it by (see ParseDistinctID).
	DistinctID string `json:"distinct_id"`
	// SecretDigests holds a keyed digest of each secret (secret.Keyring's
	// Digest), so a spec's plan can tell a changed secret without opening
	// it. Never sent to clients.
	SecretDigests map[string]string `json:"-"`
	// SyncInterval is how often the destination is synced, as a Go duration.
	SyncInterval string `json:"sync_interval"`
	Health       Health `json:"health"`
	// ManualSteps are what the last test said a person must do in the
	// vendor's UI.
	ManualSteps []string  `json:"manual_steps"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// revision counts the destination's changes: a run records what it
	// reached only while the revision is still the one it read.
	revision int64
}

// Health is the outcome of a destination's last test or sync run.
type Health struct {
	// Status is unknown (never tested nor synced), healthy or unhealthy.
	Status string     `json:"status"`
	Detail string     `json:"detail,omitempty"`
	At     *time.Time `json:"at,omitempty"`
}

// DestinationChange attaches or updates a destination. On update, nil
// fields are kept; a non-nil Secrets replaces every secret.
type DestinationChange struct {
	Kind         *string
	Settings     json.RawMessage
	Secrets      map[string]string
	DistinctID   *string
	SyncInterval *string
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	// DB holds destinations, acknowledgements and runs. Required.
	DB pgdb.DB
	// Keyring seals secrets at rest. Required.
	Keyring *secret.Keyring
	// Registry builds publishers by kind. Required.
	Registry *Registry
	// HTTPClient sends the publishers' requests. Defaults to a client with
	// a 30s timeout.
	HTTPClient *http.Client
	// Logger receives the publishers' logs. Defaults to discarding.
	Logger *slog.Logger
	// Now tells the time of runs. Defaults to time.Now.
	Now func() time.Time
}

// Service attaches, tests and syncs the destinations of environments.
type Service struct {
	db       pgdb.DB
	keyring  *secret.Keyring
	registry *Registry
	client   *http.Client
	logger   *slog.Logger
	now      func() time.Time
}

// New returns the destinations service, or an error naming the
// missing field of cfg.
func New(cfg ServiceConfig) (*Service, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("tagging: ServiceConfig.DB is required")
	case cfg.Keyring == nil:
		return nil, errors.New("tagging: ServiceConfig.Keyring is required")
	case cfg.Registry == nil:
		return nil, errors.New("tagging: ServiceConfig.Registry is required")
	}
	d := &Service{db: cfg.DB, keyring: cfg.Keyring, registry: cfg.Registry, client: cfg.HTTPClient,
		logger: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)), now: cfg.Now}
	if d.client == nil {
		d.client = &http.Client{Timeout: 30 * time.Second}
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d, nil
}

// destinationColumns are a destination's columns but its environment's
// name, which Get and List know and SyncByID reads first.
const destinationColumns = `d.id, d.name, d.kind, d.settings, d.secret_names, d.secret_digests, d.distinct_id, d.sync_interval_seconds,
d.health, d.health_detail, d.health_at, d.manual_steps, d.created_at, d.updated_at, d.revision`

// scanDestination scans destinationColumns after the columns lead.
func scanDestination(row pgx.Row, d *Destination, lead ...any) error {
	var secs int
	if err := row.Scan(append(lead, &d.ID, &d.Name, &d.Kind, &d.Settings, &d.SecretNames, &d.SecretDigests, &d.DistinctID, &secs,
		&d.Health.Status, &d.Health.Detail, &d.Health.At, &d.ManualSteps, &d.CreatedAt, &d.UpdatedAt, &d.revision)...); err != nil {
		return err
	}
	d.SyncInterval = (time.Duration(secs) * time.Second).String()
	return nil
}

const (
	insertDestinationSQL = `
INSERT INTO destinations (environment_id, name, kind, settings, secret_names, secrets_key_id, secrets_sealed, distinct_id, sync_interval_seconds, secret_digests,
    created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, coalesce($11::timestamptz, now()), coalesce($11::timestamptz, now()))
RETURNING id, created_at, updated_at`
	// namedDestinationsSQL reads the destinations named $1 of every
	// environment (at most one each), sent with the environment's id.
	namedDestinationsSQL  = `SELECT d.environment_id::text, ` + destinationColumns + ` FROM destinations d WHERE d.name = $1`
	listDestinationsSQL   = `SELECT ` + destinationColumns + ` FROM destinations d WHERE d.environment_id = $1 ORDER BY d.name`
	destinationSecretsSQL = `SELECT secrets_key_id, secrets_sealed FROM destinations WHERE id = $1`
	// updateDestinationSQL moves the destination's revision and forgets
	// what it was known to hold: its next run compares the whole list.
	updateDestinationSQL = `
UPDATE destinations SET kind = $2, settings = $3, secret_names = $4, secrets_key_id = $5, secrets_sealed = $6,
    distinct_id = $7, sync_interval_seconds = $8, secret_digests = $9, updated_at = coalesce($10::timestamptz, now()),
    revision = revision + 1, synced_list_version = NULL
WHERE id = $1 RETURNING updated_at, revision`
	deleteDestinationSQL = `DELETE FROM destinations WHERE id = $1`
	setHealthSQL         = `UPDATE destinations SET health = $2, health_detail = $3, health_at = $4 WHERE id = $1`
	setTestedSQL         = `UPDATE destinations SET health = $2, health_detail = $3, health_at = $4, manual_steps = $5 WHERE id = $1`
)

var slugRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// Attach attaches destination name of a kind to environment env, after its
// publisher validated the settings and secrets and the distinct id rule
// and sync interval were checked. Errors: EINVALID naming every bad field,
// ENOTFOUND (env), ECONFLICT (the name is taken).
func (s *Service) Attach(ctx context.Context, env, name string, c DestinationChange) (Destination, error) {
	d := Destination{Environment: env, Name: name, Settings: c.Settings, DistinctID: DistinctEmail,
		SyncInterval: DefaultSyncInterval.String(), Health: Health{Status: HealthUnknown}, ManualSteps: []string{}}
	if c.Kind != nil {
		d.Kind = *c.Kind
	}
	d.DistinctID = cmp.Or(deref(c.DistinctID), d.DistinctID)
	d.SyncInterval = cmp.Or(deref(c.SyncInterval), d.SyncInterval)
	interval, err := s.validate(&d, c.Secrets)
	if err != nil {
		return Destination{}, err
	}
	sealed, keyID := s.seal(c.Secrets)
	err = pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		h, err := ReadHead(ctx, tx, env)
		if err != nil {
			return err
		}
		envID := h.EnvironmentID
		d.SecretDigests = s.keyring.DigestMap(c.Secrets, DestinationSecretPurpose)
		row := tx.QueryRow(ctx, insertDestinationSQL, envID, d.Name, d.Kind, d.Settings, d.SecretNames, keyID, sealed, d.DistinctID, int(interval/time.Second), d.SecretDigests, s.now())
		if err := row.Scan(&d.ID, &d.CreatedAt, &d.UpdatedAt); err != nil {
			return pgdb.Translate(err, "", "destination "+name+" is already attached to environment "+env)
		}
		if err := s.listDistinctIDs(ctx, tx, d); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "destination.attach", TargetType: "destination", TargetID: d.ID,
			Details: destinationDetails(d)})
	})
	return d, err
}

func destinationDetails(d Destination) map[string]any {
	return map[string]any{"environment": d.Environment, "name": d.Name, "kind": d.Kind, "secret_names": d.SecretNames,
		"distinct_id": d.DistinctID, "sync_interval": d.SyncInterval}
}

// DestinationSecretPurpose is the purpose of a destination secret's digest
// (secret.Keyring.DigestMap).
const DestinationSecretPurpose = "destination-secret"

// Check validates destination name of env as Attach would (with its
// defaults for a nil DistinctID or SyncInterval) and stores nothing.
// Errors: EINVALID naming every bad field.
func (s *Service) Check(env, name string, c DestinationChange) error {
	d := Destination{Environment: env, Name: name, Settings: c.Settings, Kind: deref(c.Kind),
		DistinctID: cmp.Or(deref(c.DistinctID), DistinctEmail), SyncInterval: cmp.Or(deref(c.SyncInterval), DefaultSyncInterval.String())}
	_, err := s.validate(&d, c.Secrets)
	return err
}

// validate normalises d and builds its publisher once, so a bad kind,
// setting, secret, distinct id or interval is refused before anything is
// stored. It returns the interval.
func (s *Service) validate(d *Destination, secrets map[string]string) (time.Duration, error) {
	var fields []understudy.FieldError
	if !slugRE.MatchString(d.Name) {
		fields = append(fields, understudy.FieldError{Field: "name", Detail: "must be 1-63 lower-case letters, digits or '-', starting with a letter"})
	}
	if len(d.Settings) == 0 || string(d.Settings) == "null" {
		d.Settings = json.RawMessage("{}")
	}
	d.SecretNames = slices.Sorted(maps.Keys(secrets))
	if d.SecretNames == nil {
		d.SecretNames = []string{}
	}
	if _, err := ParseDistinctID(d.DistinctID); err != nil {
		fields = append(fields, understudy.FieldError{Field: "distinct_id", Detail: err.Error()})
	}
	interval, err := time.ParseDuration(d.SyncInterval)
	if err != nil || interval < MinSyncInterval || interval > MaxSyncInterval || interval%time.Second != 0 {
		fields = append(fields, understudy.FieldError{Field: "sync_interval",
			Detail: fmt.Sprintf("must be a Go duration in whole seconds from 1m to 24h, not %q", d.SyncInterval)})
	} else {
		d.SyncInterval = interval.String()
	}
	_, err = s.registry.New(d.Kind, Config{Destination: d.Name, Settings: d.Settings, Secrets: secrets, HTTPClient: s.client, Logger: s.logger})
	if ces := configErrors(err); len(ces) > 0 {
		fields = append(fields, ces...)
	} else if err != nil {
		return 0, fmt.Errorf("building destination %s: %w", d.Name, err)
	}
	if len(fields) > 0 {
		return 0, understudy.Invalid("invalid destination", fields...)
	}
	return interval, nil
}

// configErrors returns every *ConfigError in err's tree, as field errors.
func configErrors(err error) []understudy.FieldError {
	if err == nil {
		return nil
	}
	if ce, ok := err.(*ConfigError); ok {
		return []understudy.FieldError{{Field: ce.Field, Detail: ce.Detail}}
	}
	var out []understudy.FieldError
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, configErrors(e)...)
		}
	case interface{ Unwrap() error }:
		out = configErrors(u.Unwrap())
	}
	return out
}

func (s *Service) seal(secrets map[string]string) ([]byte, string) {
	sealed := s.keyring.SealMap(secrets, "destination-secrets")
	return sealed.Data, sealed.KeyID
}

func (s *Service) openSecrets(ctx context.Context, id string) (map[string]string, error) {
	var sealed secret.Sealed
	if err := s.db.QueryRow(ctx, destinationSecretsSQL, id).Scan(&sealed.KeyID, &sealed.Data); err != nil {
		return nil, pgdb.Translate(err, "no destination has id "+id, "")
	}
	out, err := s.keyring.OpenMap(sealed, "destination-secrets")
	if uk, ok := errors.AsType[*secret.UnknownKeyError](err); ok {
		return nil, understudy.Errorf(understudy.EINTERNAL, "cannot decrypt the destination's secrets: they were sealed with key id %s, which this server does not hold", uk.KeyID)
	} else if err != nil {
		return nil, understudy.Errorf(understudy.EINTERNAL, "cannot decrypt the destination's secrets: the sealed value failed authentication")
	}
	return out, nil
}

// Get returns destination name of environment env. It reads the
// environment's id (through accounts) and the destinations so named in
// one round trip. Errors: ENOTFOUND.
func (s *Service) Get(ctx context.Context, env, name string) (Destination, error) {
	var envID string
	var envFound bool
	var named []Destination
	var namedEnv []string
	b := &pgx.Batch{}
	accounts.QueueEnvironmentID(b, env, &envID, &envFound)
	b.Queue(namedDestinationsSQL, name).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var d Destination
			var id string
			if err := scanDestination(rows, &d, &id); err != nil {
				return err
			}
			named, namedEnv = append(named, d), append(namedEnv, id)
		}
		return rows.Err()
	})
	if err := pgdb.SendBatch(ctx, s.db, b); err != nil {
		return Destination{}, err
	}
	if envFound {
		if i := slices.Index(namedEnv, envID); i >= 0 {
			d := named[i]
			d.Environment = env
			return d, nil
		}
	}
	if _, err := ReadHead(ctx, s.db, env); err != nil {
		return Destination{}, err
	}
	return Destination{}, understudy.Errorf(understudy.ENOTFOUND, "destination %s is not attached to environment %s", name, env)
}

// List returns the destinations of environment env, by name. Errors: ENOTFOUND.
func (s *Service) List(ctx context.Context, env string) ([]Destination, error) {
	h, err := ReadHead(ctx, s.db, env)
	if err != nil {
		return nil, err
	}
	list, err := pgdb.QueryAll(ctx, s.db, func(row pgx.Row, d *Destination) error { return scanDestination(row, d) },
		listDestinationsSQL, h.EnvironmentID)
	for i := range list {
		list[i].Environment = h.Environment
	}
	return list, err
}

// Update changes a destination's kind, settings, secrets, distinct id rule
// or interval, validated as on attach. Whatever it changes, the next run
// compares the whole list with what the destination acknowledged, and
// ensures its filter again. Errors: EINVALID, ENOTFOUND.
func (s *Service) Update(ctx context.Context, env, name string, c DestinationChange) (Destination, error) {
	d, err := s.Get(ctx, env, name)
	if err != nil {
		return Destination{}, err
	}
	secrets := c.Secrets
	if secrets == nil {
		if secrets, err = s.openSecrets(ctx, d.ID); err != nil {
			return Destination{}, err
		}
	}
	d.Kind = cmp.Or(deref(c.Kind), d.Kind)
	if c.Settings != nil {
		d.Settings = c.Settings
	}
	if c.DistinctID != nil {
		d.DistinctID = *c.DistinctID
	}
	if c.SyncInterval != nil {
		d.SyncInterval = *c.SyncInterval
	}
	interval, err := s.validate(&d, secrets)
	if err != nil {
		return Destination{}, err
	}
	sealed, keyID := s.seal(secrets)
	err = pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		d.SecretDigests = s.keyring.DigestMap(secrets, DestinationSecretPurpose)
		if err := tx.QueryRow(ctx, updateDestinationSQL, d.ID, d.Kind, d.Settings, d.SecretNames, keyID, sealed,
			d.DistinctID, int(interval/time.Second), d.SecretDigests, s.now()).Scan(&d.UpdatedAt, &d.revision); err != nil {
			return err
		}
		if err := s.listDistinctIDs(ctx, tx, d); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "destination.update", TargetType: "destination", TargetID: d.ID,
			Details: destinationDetails(d)})
	})
	return d, err
}

// Detach detaches a destination; its acknowledgements and runs go with it.
// What the vendor holds stays there. Errors: ENOTFOUND.
func (s *Service) Detach(ctx context.Context, env, name string) error {
	d, err := s.Get(ctx, env, name)
	if err != nil {
		return err
	}
	return pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, deleteDestinationSQL, d.ID); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "destination.detach", TargetType: "destination", TargetID: d.ID,
			Details: map[string]any{"environment": env, "name": name, "kind": d.Kind}})
	})
}

// DestinationCheck is the outcome of testing a destination.
type DestinationCheck struct {
	Destination string   `json:"destination"`
	OK          bool     `json:"ok"`
	Detail      string   `json:"detail"`
	ManualSteps []string `json:"manual_steps"`
	Elapsed     string   `json:"elapsed"`
}

// Test makes the publisher's read-only check of its credentials and
// stores its outcome (the destination's health) and its manual steps on
// the destination. A failed check is a check with OK false, not an error.
// Errors: ENOTFOUND, ETIMEOUT (vendor-timeout: the vendor did not answer
// before ctx's deadline; the outcome is stored all the same).
func (s *Service) Test(ctx context.Context, env, name string) (DestinationCheck, error) {
	d, err := s.Get(ctx, env, name)
	if err != nil {
		return DestinationCheck{}, err
	}
	pub, scrub, err := s.publisher(ctx, d, s.client)
	if err != nil {
		return DestinationCheck{}, err
	}
	start := s.now()
	check, err := pub.Test(ctx)
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
	if timedOut {
		err = fmt.Errorf("%s did not answer within the request's time limit (%s)", d.Kind, s.now().Sub(start).Round(time.Millisecond))
	}
	out := DestinationCheck{Destination: name, OK: err == nil && check.OK, Detail: check.Detail, ManualSteps: pub.ManualSteps(),
		Elapsed: s.now().Sub(start).Round(time.Millisecond).String()}
	if err != nil {
		out.Detail = err.Error()
	}
	out.Detail = scrub.Scrub(out.Detail)
	if out.ManualSteps == nil {
		out.ManualSteps = []string{}
	}
	health := HealthHealthy
	if !out.OK {
		health = HealthUnhealthy
	}
	if timedOut {
		// The vendor spent the request's time: its outcome is still
		// stored, in a time of its own.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		defer cancel()
	}
	err = pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, setTestedSQL, d.ID, health, "test: "+out.Detail, s.now(), out.ManualSteps); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "destination.test", TargetType: "destination", TargetID: d.ID,
			Details: map[string]any{"environment": env, "name": name, "ok": out.OK, "detail": out.Detail}})
	})
	if err == nil && timedOut {
		return out, &understudy.Error{Code: understudy.ETIMEOUT, Type: ProblemVendorTimeout,
			Message: fmt.Sprintf("the %s vendor of destination %s did not answer within the request's time limit; try again later", d.Kind, name)}
	}
	return out, err
}

// ProblemVendorTimeout is the problem type of a vendor that did not answer
// in time (urn:understudy:problem:vendor-timeout).
const ProblemVendorTimeout = "vendor-timeout"

// recordTimeout bounds the recording of an outcome after the caller's
// time ran out.
const recordTimeout = 5 * time.Second

// publisher builds d's publisher with its secrets, sending through client,
// and the Scrubber of those secrets: every text a publisher returns passes
// through it before it is stored, answered or logged, whatever the
// publisher did itself.
func (s *Service) publisher(ctx context.Context, d Destination, client *http.Client) (Publisher, *Scrubber, error) {
	secrets, err := s.openSecrets(ctx, d.ID)
	if err != nil {
		return nil, nil, err
	}
	pub, err := s.registry.New(d.Kind, Config{Destination: d.Name, Settings: d.Settings, Secrets: secrets, HTTPClient: client, Logger: s.logger})
	if err != nil {
		return nil, nil, understudy.Errorf(understudy.EINVALID, "destination %s no longer builds (%s): update its settings or secrets", d.Name, safeConfigError(err))
	}
	return pub, NewScrubber(slices.Collect(maps.Values(secrets))...), nil
}

// safeConfigError says which fields are wrong, or that the build failed.
func safeConfigError(err error) string {
	ces := configErrors(err)
	if len(ces) == 0 {
		return "its publisher could not be built"
	}
	return understudy.Invalid("invalid", ces...).Error()
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// addDistinctIDsSQL puts the ids a destination knows accounts by on the
// environment's exclusion list (exclusion_add leaves one that is there).
const addDistinctIDsSQL = `
SELECT count(exclusion_add(d.environment_id, x.account_id, x.identifier, 'distinct_id', d.name))
FROM destinations d, unnest($2::uuid[], $3::text[]) AS x (account_id, identifier) WHERE d.id = $1`

// listDistinctIDs puts on the exclusion list the id destination d knows
// each account by, when that id is not on it already: a bare app ref
// (app_ref:<app>) or one a template makes. Ids by email or account id are
// on the list anyway. Attach, update and every sync call it, so the list
// holds every identifier a synthetic account appears under.
func (s *Service) listDistinctIDs(ctx context.Context, db pgdb.DB, d Destination) error {
	if !ownDistinctIDs(d) {
		return nil
	}
	ws, err := s.wants(ctx, d)
	if err != nil {
		return err
	}
	return s.addDistinctIDs(ctx, db, d, ws)
}

// ownDistinctIDs reports whether d knows accounts by ids that are not on
// the list anyway (by email or account id they are).
func ownDistinctIDs(d Destination) bool {
	rule, err := ParseDistinctID(d.DistinctID)
	return err == nil && rule.String() != DistinctEmail && rule.String() != DistinctAccountID
}

// addDistinctIDs is listDistinctIDs once the destination's identities
// (ws) have been read: a sync passes those it diffs.
func (s *Service) addDistinctIDs(ctx context.Context, db pgdb.DB, d Destination, ws []wanted) error {
	if !ownDistinctIDs(d) || len(ws) == 0 {
		return nil
	}
	accounts, identifiers := make([]string, len(ws)), make([]string, len(ws))
	for i, w := range ws {
		accounts[i], identifiers[i] = w.accountID, w.distinctID
	}
	_, err := pgdb.QueryOne(ctx, db, pgdb.Scalar[int64], "", addDistinctIDsSQL, d.ID, accounts, identifiers)
	return err
}
