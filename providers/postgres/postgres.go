// Package postgres is the app provider that drives an app's own PostgreSQL
// tables, for apps that cannot (or need not) implement the webhook
// contract.
//
// # Configuration
//
// Settings name the users table, its key column, its synthetic-marker
// column and (recommended) an owner column, the users columns that receive
// the account's fields, and the tables that hold per-user rows, each with
// the column that references the user, in foreign-key order. The secret
// "dsn" is the connection string; it is never logged nor put in an error.
// Every setting is checked when the provider is built (Factory, New), and
// CheckConfig (providers.ConfigChecker, also run by Test) checks them
// against the app database's catalog, in the settings' schema: every table
// and column exists, each per-user table has a primary key and comes after
// the tables it references, and each user column has a FOREIGN KEY to the
// users table's key column. A table whose
// app has no such foreign key is refused unless its settings say
// "unchecked_user_column": true, by which the admin vouches for the column
// in settings that are audited when the app is attached.
//
// # What it does
//
// A user's ref is its key as text. Provision inserts a user row marked
// synthetic (and owned, idempotently by the owner column). Snapshot reads
// the user row and its rows in every per-user table in one statement, as
//
//	{"user": {…the whole users row…}, "tables": {"profiles": [{…}], "posts": […], …}}
//
// with tables in settings order and rows in a stable order. Restore, in one
// transaction sent as one round trip, locks the user row first (concurrent
// restores of one user queue instead of failing), checks it (in SQL, so
// that no write sent with the check runs for a user that fails it), then
// writes only what differs,
// matching rows by each table's primary key: it deletes the user's rows
// that the state lacks, in reverse settings order (children first), then
// updates the rows whose columns differ and inserts the rows the app
// lacks, in settings order (parents first), and updates the user row's
// other columns if they differ. Rows that are the same are not written at
// all, so other users' rows that reference them (a real user's like of the
// synthetic user's baseline post) are left alone. Any error rolls
// everything back. Deprovision locks and checks the same way, then deletes
// the rows and the user.
//
// The catalog (columns, primary keys, foreign keys) is read once per
// provider instance, by CheckConfig or by the first call that needs it,
// and read again when a state names a column the provider has not seen or
// a write fails because the schema changed.
//
// # Correlation
//
// The transaction of a Restore or Deprovision names itself, with SET LOCAL
// (set_config(…, true)), so it shows in the app database's
// pg_stat_activity and in its server's log (log_line_prefix %a):
// application_name is the W3C traceparent of the work (the span of the
// app's part of a lease's reset, 55 bytes, within PostgreSQL's 63), or
// "understudy <request id>" outside a trace; understudy.request_id is the
// request id, which the app's triggers may read with
// current_setting('understudy.request_id', true). During a restore the
// transaction also holds understudy.restore, the restore's own decision of
// what to write (see guardTemplate), which is not for the app.
//
// # Safety
//
// Nothing is written to a user unless, in the same transaction and under
// the row lock, the marker column says it is synthetic and the owner
// column names the target's account. Snapshot, Restore and Deprovision
// refuse to run (ErrProtocol, wrapping the *providers.ConfigError) while
// the catalog says a setting cannot work, whether or not CheckConfig was
// called. Identifiers from the settings or the catalog are quoted with
// pgx.Identifier; values are always parameters. A state's rows must
// reference the target user (a row that names another user is refused, so
// a crafted state cannot write into someone else's data), and the key,
// marker and owner columns are never restored.
//
// # Limits
//
// A row that the restore deletes takes with it whatever the app deletes in
// cascade, and that is not restored: a row the synthetic user created
// after the baseline (a new post) is deleted, and so are other users' rows
// that reference it (a real user's like of that post). A state taken
// before a column was added to a per-user table restores NULL into it.
// Provision writes the users row only: rows the app creates beside a new
// user (a profile) come from the app's triggers, or from the restore of a
// baseline that has them.
package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/providers"
)

// Compile-time guards: a postgres app answers the contract, and the
// optional capabilities Tester, ConfigChecker, Surfaces, Closer and
// RestoreSnapshotter; Factory is a providers.Factory.
var (
	_ providers.App                = (*App)(nil)
	_ providers.RestoreSnapshotter = (*App)(nil)
	_ providers.Tester             = (*App)(nil)
	_ providers.ConfigChecker      = (*App)(nil)
	_ providers.Surfaces           = (*App)(nil)
	_ providers.Closer             = (*App)(nil)
	_ providers.Factory            = Factory
)

// Config configures New.
type Config struct {
	// Name names the app in messages and logs. Defaults to "postgres".
	Name string
	// Settings say which tables and columns to drive. Required.
	Settings Settings
	// DSN is the connection string of the app's database: a secret.
	// Required.
	DSN string
	// MaxConns bounds the provider's own pool. Defaults to 8.
	MaxConns int32
	// ConnectTimeout bounds a connection attempt, unless the DSN sets
	// connect_timeout. Defaults to 5s.
	ConnectTimeout time.Duration
	// Logger receives the provider's logs. Defaults to discarding.
	Logger *slog.Logger
}

// App drives one app's tables. It is safe for concurrent use.
type App struct {
	name string
	s    settings
	sql  statements
	pool *pgxpool.Pool
	log  *slog.Logger
	// layout is read from the catalog on first use (see loadLayout).
	layout atomic.Pointer[layout]
	// states are the states decodeState decoded, by user and content.
	states *lru.Cache[stateKey, state]
}

// Factory builds an App from a registry config: the settings document and
// the secret "dsn". Errors are *providers.ConfigError naming the field.
func Factory(ctx context.Context, cfg providers.Config) (providers.App, error) {
	var s Settings
	if err := providers.DecodeSettings(cfg.Settings, &s); err != nil {
		return nil, err
	}
	return New(ctx, Config{Name: cfg.App, Settings: s, DSN: cfg.Secrets["dsn"], Logger: cfg.Logger})
}

// New validates cfg and opens a pool on the app's database. It does not
// connect: a database that is down is not an error here, only a bad
// setting or a DSN that cannot be parsed (*providers.ConfigError).
func New(_ context.Context, cfg Config) (*App, error) {
	s, err := cfg.Settings.validate()
	if err != nil {
		return nil, err
	}
	pc, err := poolConfig(cfg)
	if err != nil {
		return nil, err
	}
	// The pool outlives the caller's context, so it is not given it.
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, &providers.ConfigError{Field: "secrets.dsn", Detail: "cannot be used to open a pool"}
	}
	states, err := lru.New[stateKey, state](cachedStates)
	if err != nil {
		return nil, err // only for a size below 1
	}
	return &App{
		name:   cmp.Or(cfg.Name, "postgres"),
		s:      s,
		sql:    buildStatements(s),
		pool:   pool,
		log:    cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		states: states,
	}, nil
}

func poolConfig(cfg Config) (*pgxpool.Config, error) {
	if cfg.DSN == "" {
		return nil, &providers.ConfigError{Field: "secrets.dsn", Detail: "is required"}
	}
	pc, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx's message may quote the DSN, password and all: not shown.
		return nil, &providers.ConfigError{Field: "secrets.dsn", Detail: "is not a valid PostgreSQL connection string"}
	}
	pc.MaxConns = cmp.Or(max(cfg.MaxConns, 0), 8)
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = cmp.Or(max(cfg.ConnectTimeout, 0), 5*time.Second)
	}
	params := pc.ConnConfig.RuntimeParams
	// A snapshot renders timestamps in the session's time zone; UTC makes
	// the same state give the same document whatever the server's default.
	params["timezone"] = "UTC"
	if params["application_name"] == "" {
		params["application_name"] = "understudy"
	}
	return pc, nil
}

// Close closes the pool. It may be called more than once.
func (a *App) Close() error {
	a.pool.Close()
	return nil
}

// Provision inserts a synthetic user, or finds the one provisioned for the
// same account when an owner column is set. The app's tables hold no
// authenticator secret that this provider hands back.
func (a *App) Provision(ctx context.Context, acct providers.Account) (providers.Provisioned, error) {
	ref, err := a.provision(ctx, acct)
	return providers.Provisioned{Ref: ref}, err
}

func (a *App) provision(ctx context.Context, acct providers.Account) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, a.s.statementTimeout)
	defer cancel()
	args := make([]any, 0, len(a.s.fields)+1)
	for _, field := range a.s.fields {
		if v := accountFields[field](acct); v != "" {
			args = append(args, v)
		} else {
			args = append(args, nil)
		}
	}
	if a.s.OwnerColumn != "" {
		if acct.ID == "" {
			return "", fmt.Errorf("provisioning in %s: %w: the account has no id", a.name, providers.ErrRefused)
		}
		args = append(args, acct.ID)
	}
	var ref string
	var synthetic bool
	if err := a.pool.QueryRow(ctx, a.sql.provision, args...).Scan(&ref, &synthetic); err != nil {
		return "", a.fail("provisioning account "+acct.ID, err)
	}
	if !synthetic {
		// The app unmarked the user provisioned before: refuse to hand it out.
		return "", fmt.Errorf("provisioning account %s in %s: user %s: %w: %w", acct.ID, a.name, ref, providers.ErrRefused, providers.ErrNotSynthetic)
	}
	return ref, nil
}

// Verify checks that the target exists, is marked synthetic and, with an
// owner column, belongs to the target's account.
func (a *App) Verify(ctx context.Context, t providers.Target) error {
	ctx, cancel := context.WithTimeout(ctx, a.s.statementTimeout)
	defer cancel()
	if err := a.check(t, a.pool.QueryRow(ctx, a.sql.verify, t.Ref)); err != nil {
		return a.fail("verifying", err)
	}
	return nil
}

// Snapshot checks the target and captures its row and its per-user rows.
func (a *App) Snapshot(ctx context.Context, t providers.Target) (providers.State, error) {
	ctx, cancel := context.WithTimeout(ctx, a.s.statementTimeout)
	defer cancel()
	// A user column that does not name the user would capture other
	// users' rows: only once the catalog has vouched for them.
	if _, _, err := a.loadLayout(ctx, false); err != nil {
		return nil, a.fail("snapshotting", err)
	}
	args := append([]any{t.Ref}, a.sql.tableNames...)
	var doc []byte
	var synthetic bool
	var owner *string
	err := a.pool.QueryRow(ctx, a.sql.snapshot, args...).Scan(&synthetic, &owner, &doc)
	if err := a.checked(t, synthetic, owner, err); err != nil {
		return nil, a.fail("snapshotting", err)
	}
	return doc, nil
}

// check scans a row of verifyTemplate (or lockTemplate) and checks it.
func (a *App) check(t providers.Target, row pgx.Row) error {
	var synthetic bool
	var owner *string
	err := row.Scan(&synthetic, &owner)
	return a.checked(t, synthetic, owner, err)
}

// checked turns the outcome of reading a user's marker and owner into the
// contract's errors. A ref that the key column's type cannot hold names no
// user: ErrNotFound.
func (a *App) checked(t providers.Target, synthetic bool, owner *string, err error) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows), isCode(err, "22P02", "22003"):
		return fmt.Errorf("user %q: %w", t.Ref, providers.ErrNotFound)
	case err != nil:
		return classify("reading user "+t.Ref, err)
	case !synthetic:
		return fmt.Errorf("user %q: %w", t.Ref, providers.ErrNotSynthetic)
	case a.s.OwnerColumn != "" && (owner == nil || *owner != t.AccountID):
		return fmt.Errorf("user %q, account %s: %w", t.Ref, t.AccountID, providers.ErrNotOwned)
	}
	return nil
}
