package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/identity"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

// Status is where an account is in its lifecycle:
// pending → provisioning → ready ⇄ leased, failed, retired; a lease whose
// run failed leaves its account capturing (package run keeps its state as
// the run's evidence), then ready again.
type Status string

// Account statuses.
const (
	StatusPending      Status = "pending"
	StatusProvisioning Status = "provisioning"
	StatusReady        Status = "ready"
	StatusLeased       Status = "leased"
	StatusCapturing    Status = "capturing"
	StatusFailed       Status = "failed"
	StatusRetired      Status = "retired"
)

// Statuses lists every status.
func Statuses() []Status {
	return []Status{StatusPending, StatusProvisioning, StatusReady, StatusLeased, StatusCapturing, StatusFailed, StatusRetired}
}

// Account is one synthetic identity for (environment, role, slot). A slot
// whose account is retired gets a new account of the next generation.
type Account struct {
	ID                string            `json:"id"`
	Environment       string            `json:"environment"`
	Role              string            `json:"role"`
	Slot              int               `json:"slot"`
	Generation        int               `json:"generation"`
	Status            Status            `json:"status"`
	StatusReason      string            `json:"status_reason"`
	Identity          identity.Identity `json:"identity"`
	PasswordRotatedAt time.Time         `json:"password_rotated_at"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
	RetiredAt         *time.Time        `json:"retired_at,omitempty"`
	// Tags mark the account as synthetic wherever it appears:
	// is_synthetic=true, synthetic_role, synthetic_environment and
	// understudy_account_id.
	Tags map[string]string `json:"tags"`
}

// Credentials are what a test run signs in with. They are returned only to
// callers whose scope allows it, and never logged.
type Credentials struct {
	AccountID string    `json:"account_id"`
	Email     string    `json:"email"`
	Username  string    `json:"username"`
	Password  string    `json:"password"`
	RotatedAt time.Time `json:"rotated_at"`
}

// AccountFilter narrows ListAccounts. Zero fields match everything; a
// filter without Status leaves out retired accounts unless IncludeRetired.
type AccountFilter struct {
	Environment    string
	Role           string
	Status         Status
	IncludeRetired bool
	// Offset and Limit page through the list. Limit defaults to 100, at
	// most MaxPage+1: one row past a full page tells a caller whether
	// a next page exists.
	Offset, Limit int
}

const accountColumns = `a.id, e.name, r.name, a.slot, a.generation, a.status, a.status_reason, a.identity,
a.password_rotated_at, a.created_at, a.updated_at, a.retired_at`

// accountJoins joins accounts a to their environment e and role r.
const accountJoins = `accounts a JOIN environments e ON e.id = a.environment_id JOIN roles r ON r.id = a.role_id`

const accountFrom = ` FROM ` + accountJoins

// credentialsOfSQL reads an account and its sealed password.
const credentialsOfSQL = `SELECT ` + accountColumns + `, a.password_key_id, a.password_sealed` + accountFrom + ` WHERE a.id = $1`

// WithCredentials returns the account with id and its credentials, for a
// lease that hands them out (the lease's own event audits that).
// Errors: ENOTFOUND.
func (s *Service) WithCredentials(ctx context.Context, id string) (Account, Credentials, error) {
	b := &pgx.Batch{}
	result := s.QueueWithCredentials(b, id)
	if err := pgdb.SendBatch(ctx, s.db, b); err != nil {
		return Account{}, Credentials{}, err
	}
	return result()
}

// QueueWithCredentials queues in b the read that WithCredentials makes, so
// that a lease reads its account in the round trip that activates it (a
// batch sent outside a transaction runs as one); once b has been sent,
// result returns what WithCredentials would.
func (s *Service) QueueWithCredentials(b *pgx.Batch, id string) (result func() (Account, Credentials, error)) {
	var a Account
	var c Credentials
	var err error = understudy.Errorf(understudy.ENOTFOUND, "no account has id %s", id)
	b.Queue(credentialsOfSQL, id).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		if rows.Next() {
			a, c, err = scanWithCredentials(s.keyring, rows) // an unopenable password is the read's error, not the batch's
		}
		rows.Close()
		return rows.Err()
	})
	return func() (Account, Credentials, error) { return a, c, err }
}

// scanWithCredentials scans an account and its sealed password, and opens
// the password.
func scanWithCredentials(kr *secret.Keyring, row pgx.Row) (Account, Credentials, error) {
	var a Account
	var sealed secret.Sealed
	if err := row.Scan(&a.ID, &a.Environment, &a.Role, &a.Slot, &a.Generation, &a.Status, &a.StatusReason,
		&a.Identity, &a.PasswordRotatedAt, &a.CreatedAt, &a.UpdatedAt, &a.RetiredAt, &sealed.KeyID, &sealed.Data); err != nil {
		return Account{}, Credentials{}, err
	}
	a.Tags = tagsOf(&a)
	plain, err := kr.Open(sealed, []byte(a.ID))
	if err != nil {
		return Account{}, Credentials{}, openError(kr, err)
	}
	return a, Credentials{AccountID: a.ID, Email: a.Identity.Email, Username: a.Identity.Username,
		Password: string(plain), RotatedAt: a.PasswordRotatedAt}, nil
}

func scanAccount(row pgx.Row, a *Account) error {
	// The status is scanned as the string it is: for a *Status, pgx plans
	// the scan through reflection on every row.
	err := row.Scan(&a.ID, &a.Environment, &a.Role, &a.Slot, &a.Generation, (*string)(&a.Status), &a.StatusReason, &a.Identity,
		&a.PasswordRotatedAt, &a.CreatedAt, &a.UpdatedAt, &a.RetiredAt)
	a.Tags = tagsOf(a)
	return err
}

const getAccountSQL = `SELECT ` + accountColumns + accountFrom + ` WHERE a.id = $1`

// GetAccount returns the account with id. Errors: ENOTFOUND.
func (s *Service) GetAccount(ctx context.Context, id string) (Account, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return Account{}, understudy.Errorf(understudy.ENOTFOUND, "no account has id %s", id)
	}
	var a Account
	// A pgtype.UUID is sent in binary as it is; a uuid.UUID goes through
	// its driver.Valuer (a string, and an encode error built and dropped
	// on the way): 4-5% of a GET /v1/accounts/{id} in the server's profile.
	err = scanAccount(s.db.QueryRow(ctx, getAccountSQL, pgtype.UUID{Bytes: uid, Valid: true}), &a)
	return a, pgdb.Translate(err, "no account has id "+id, "")
}

// QueueGetAccount queues in b the read that GetAccount makes, so that a
// caller reads the account in a round trip with reads of its own; once b
// has been sent, result returns what GetAccount would.
func (s *Service) QueueGetAccount(b *pgx.Batch, id string) (result func() (Account, error)) {
	var a Account
	var err error = understudy.Errorf(understudy.ENOTFOUND, "no account has id %s", id)
	uid, perr := uuid.Parse(id)
	if perr != nil {
		return func() (Account, error) { return Account{}, err }
	}
	b.Queue(getAccountSQL, uid).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		if rows.Next() {
			err = scanAccount(rows, &a)
		}
		rows.Close()
		return rows.Err()
	})
	return func() (Account, error) { return a, pgdb.Translate(err, "", "") }
}

// byEmailSQL finds the active account of an address, case-insensitively,
// through the index on lower(email).
const byEmailSQL = `SELECT ` + accountColumns + accountFrom + `
WHERE lower(a.email) COLLATE "C" = lower($1) COLLATE "C" AND a.status <> 'retired'`

// ByEmail returns the account that is not retired whose email is email,
// compared case-insensitively (a plus-tag is part of the address here: the
// caller strips it). Errors: ENOTFOUND.
func (s *Service) ByEmail(ctx context.Context, email string) (Account, error) {
	if len(email) > 254 {
		return Account{}, understudy.Errorf(understudy.ENOTFOUND, "no account has that address: it is longer than 254 characters")
	}
	return pgdb.QueryOne(ctx, s.db, scanAccount, fmt.Sprintf("no account has the address %q", email), byEmailSQL, email)
}

const listAccountsSQL = `SELECT ` + accountColumns + accountFrom + `
WHERE ($1 = '' OR e.name = $1) AND ($2 = '' OR r.name = $2)
  AND (CASE WHEN $3 <> '' THEN a.status = $3 ELSE ($4 OR a.status <> 'retired') END)
ORDER BY e.name, r.name, a.slot, a.generation
OFFSET $5 LIMIT $6`

// MaxPage is the largest page of accounts a client may ask for.
const MaxPage = 1000

// ListAccounts returns the accounts matching f, by environment, role, slot.
// Errors: EINVALID (status), ENOTFOUND (a named environment or role).
func (s *Service) ListAccounts(ctx context.Context, f AccountFilter) ([]Account, error) {
	if f.Status != "" && !validStatus(f.Status) {
		return nil, understudy.Invalid("invalid filter", understudy.FieldError{Field: "status", Detail: fmt.Sprintf("must be one of %v", Statuses())})
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit, f.Offset = min(f.Limit, MaxPage+1), max(f.Offset, 0)
	switch {
	case f.Role != "" && f.Environment != "":
		if _, err := s.GetRole(ctx, f.Environment, f.Role); err != nil {
			return nil, err
		}
	case f.Environment != "":
		if _, err := s.GetEnvironment(ctx, f.Environment); err != nil {
			return nil, err
		}
	}
	return pgdb.QueryAll(ctx, s.db, scanAccount, listAccountsSQL, f.Environment, f.Role, string(f.Status), f.IncludeRetired, f.Offset, f.Limit)
}

func validStatus(st Status) bool {
	for _, x := range Statuses() {
		if x == st {
			return true
		}
	}
	return false
}

const (
	lockAccountSQL  = `SELECT ` + accountColumns + accountFrom + ` WHERE a.id = $1 FOR UPDATE OF a`
	roleOfSQL       = `SELECT role_id FROM accounts WHERE id = $1`
	lockRoleByIDSQL = `SELECT 1 FROM roles WHERE id = $1 FOR NO KEY UPDATE`
)

// RetireAccount retires the account with id and, in the same transaction,
// fills its slot with a new account of the next generation so the role keeps
// its pool size. Retiring a retired account is not an error.
// Errors: ENOTFOUND.
func (s *Service) RetireAccount(ctx context.Context, id string) (Account, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return Account{}, understudy.Errorf(understudy.ENOTFOUND, "no account has id %s", id)
	}
	var a Account
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		// Lock the role first, as ensurePool does, so the two never deadlock.
		var roleID string
		if err := tx.QueryRow(ctx, roleOfSQL, uid).Scan(&roleID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, lockRoleByIDSQL, roleID); err != nil {
			return err
		}
		if err := scanAccount(tx.QueryRow(ctx, lockAccountSQL, uid), &a); err != nil {
			return err
		}
		if a.Status == StatusRetired {
			return nil
		}
		if _, err := tx.Exec(ctx, retireAccountSQL, uid, "retired by "+access.CallerFrom(ctx).Actor, s.clock.db()); err != nil {
			return err
		}
		if err := access.Record(ctx, tx, access.Event{Action: "account.retire", TargetType: "account", TargetID: id,
			Details: map[string]any{"environment": a.Environment, "role": a.Role, "slot": a.Slot}}); err != nil {
			return err
		}
		r, err := roleTx(ctx, tx, a.Environment, a.Role)
		if err != nil {
			return err
		}
		e, err := s.GetEnvironmentTx(ctx, tx, a.Environment)
		if err != nil {
			return err
		}
		if err := s.ensurePool(ctx, tx, e, r); err != nil {
			return err
		}
		return scanAccount(tx.QueryRow(ctx, getAccountSQL, uid), &a)
	})
	return a, pgdb.Translate(err, "no account has id "+id, "")
}

func roleTx(ctx context.Context, tx pgx.Tx, env, name string) (Role, error) {
	var r Role
	err := scanRole(tx.QueryRow(ctx, getRoleSQL, env, name), &r)
	return r, err
}

const (
	credentialsSQL    = `SELECT email, username, password_key_id, password_sealed, password_rotated_at FROM accounts WHERE id = $1`
	rotatePasswordSQL = `
UPDATE accounts SET password_key_id = $2, password_sealed = $3, password_rotated_at = $4, updated_at = coalesce($5::timestamptz, now())
WHERE id = $1 AND status <> 'retired' RETURNING email, username`
)

// Credentials opens the stored password of the account with id for the
// caller, and audits the read (account.read_credentials): a password is
// never handed out without a record of who read it. Errors: ENOTFOUND;
// EINTERNAL with a safe message naming the key id when the server's key
// cannot open it (nothing is changed). It does not ask whether the caller
// may read them: doors (REST, the console) call lease.Service.Credentials,
// which lets a runner read only what its token holds a lease on.
func (s *Service) Credentials(ctx context.Context, id string) (Credentials, error) {
	c, err := s.credentials(ctx, id)
	if err != nil {
		return Credentials{}, err
	}
	err = access.Record(ctx, s.db, access.Event{Action: "account.read_credentials", TargetType: "account", TargetID: c.AccountID,
		Details: map[string]any{"email": c.Email}})
	if err != nil {
		return Credentials{}, pgdb.Translate(err, "", "")
	}
	return c, nil
}

// credentials opens the stored password of the account with id, for the
// server's own use (provisioning passes it to apps).
func (s *Service) credentials(ctx context.Context, id string) (Credentials, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return Credentials{}, understudy.Errorf(understudy.ENOTFOUND, "no account has id %s", id)
	}
	c := Credentials{AccountID: uid.String()}
	var sealed secret.Sealed
	err = s.db.QueryRow(ctx, credentialsSQL, uid).Scan(&c.Email, &c.Username, &sealed.KeyID, &sealed.Data, &c.RotatedAt)
	if err != nil {
		return Credentials{}, pgdb.Translate(err, "no account has id "+id, "")
	}
	plain, err := s.keyring.Open(sealed, []byte(c.AccountID))
	if err != nil {
		return Credentials{}, openError(s.keyring, err)
	}
	c.Password = string(plain)
	return c, nil
}

func openError(kr *secret.Keyring, err error) error {
	if uk, ok := errors.AsType[*secret.UnknownKeyError](err); ok {
		return understudy.Errorf(understudy.EINTERNAL, "cannot decrypt the stored credentials: they were sealed with key id %s, but this server's UNDERSTUDY_SECRET_KEY has id %s (set it to the key that sealed them, or list that key in UNDERSTUDY_OLD_SECRET_KEYS); nothing was changed", uk.KeyID, kr.PrimaryKeyID())
	}
	return understudy.Errorf(understudy.EINTERNAL, "cannot decrypt the stored credentials: the sealed value failed authentication; nothing was changed")
}

// RotatePassword replaces the password of the account with id with a new
// random one and returns the new credentials. It does not tell the apps:
// doors call snapshot.Service.RotatePassword, which does.
// Errors: ENOTFOUND, ECONFLICT (retired).
func (s *Service) RotatePassword(ctx context.Context, id string) (Credentials, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return Credentials{}, understudy.Errorf(understudy.ENOTFOUND, "no account has id %s", id)
	}
	c := Credentials{AccountID: uid.String(), Password: identity.NewPassword(), RotatedAt: s.now().UTC()}
	sealed := s.keyring.Seal([]byte(c.Password), []byte(c.AccountID))
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var a Account
		if err := scanAccount(tx.QueryRow(ctx, lockAccountSQL, uid), &a); err != nil {
			return err
		}
		if a.Status == StatusRetired {
			return understudy.Errorf(understudy.ECONFLICT, "account %s is retired; its password is not rotated", id)
		}
		if err := tx.QueryRow(ctx, rotatePasswordSQL, uid, sealed.KeyID, sealed.Data, c.RotatedAt, s.clock.db()).Scan(&c.Email, &c.Username); err != nil {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "account.rotate_password", TargetType: "account", TargetID: c.AccountID,
			Details: map[string]any{"key_id": sealed.KeyID}})
	})
	if err != nil {
		return Credentials{}, pgdb.Translate(err, "no account has id "+id, "")
	}
	return c, nil
}

const countByStatusSQL = `SELECT status, count(*) FROM accounts GROUP BY status`

// CountByStatus returns how many accounts are in each status; every status
// is present, with 0 when no account has it.
func (s *Service) CountByStatus(ctx context.Context) (map[Status]int, error) {
	out := map[Status]int{}
	for _, st := range Statuses() {
		out[st] = 0
	}
	rows, err := s.db.Query(ctx, countByStatusSQL)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	defer rows.Close()
	for rows.Next() {
		var st Status
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, pgdb.Translate(err, "", "")
		}
		out[st] = n
	}
	return out, pgdb.Translate(rows.Err(), "", "")
}
