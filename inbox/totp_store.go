package inbox

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

// The totp_secrets table is this file's alone.

const (
	// upsertTOTPSQL creates or replaces a secret; inserted tells which
	// (a row just inserted has no xmax), and created_at survives a
	// replacement.
	upsertTOTPSQL = `
INSERT INTO totp_secrets (account_id, app, issuer, account_name, digits, period, algorithm, secret_key_id, secret_sealed, created_at, rotated_at, app_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10::timestamptz, now()), coalesce($10::timestamptz, now()), $11)
ON CONFLICT (account_id, app) DO UPDATE SET app_id = EXCLUDED.app_id, issuer = EXCLUDED.issuer, account_name = EXCLUDED.account_name, digits = EXCLUDED.digits,
  period = EXCLUDED.period, algorithm = EXCLUDED.algorithm, secret_key_id = EXCLUDED.secret_key_id, secret_sealed = EXCLUDED.secret_sealed,
  rotated_at = EXCLUDED.rotated_at
RETURNING created_at, rotated_at, (xmax = 0) AS inserted`
	deleteTOTPSQL = `DELETE FROM totp_secrets WHERE account_id = $1 AND app = $2 RETURNING app`
	listTOTPSQL   = `SELECT app, issuer, account_name, digits, period, algorithm, created_at, rotated_at
FROM totp_secrets WHERE account_id = $1 ORDER BY app`
	openTOTPSQL = `SELECT issuer, account_name, digits, period, algorithm, secret_key_id, secret_sealed
FROM totp_secrets WHERE account_id = $1 AND app = $2`
)

// totpAAD binds a sealed secret to its account, its app and its purpose,
// so that it opens nowhere else.
func totpAAD(accountID, app string) []byte {
	return []byte("totp\x00" + accountID + "\x00" + app)
}

// store seals k as the account's secret for app (appID, its attachment to
// the account's environment, whose detaching deletes the secret), inside
// tx, and audits it (totp.set or totp.rotate, with source saying who gave
// it).
func (t *TOTP) store(ctx context.Context, tx pgx.Tx, accountID, app, appID string, k totpKey, source string) (TOTPInfo, error) {
	uid, err := uuid.Parse(accountID)
	if err != nil {
		return TOTPInfo{}, notFound(accountID, app)
	}
	id := uid.String()
	sealed := t.keyring.Seal([]byte(k.secret), totpAAD(id, app))
	info := TOTPInfo{App: app, Issuer: k.issuer, AccountName: k.accountName, Digits: k.digits, Period: k.period, Algorithm: k.algorithm}
	var inserted bool
	err = tx.QueryRow(ctx, upsertTOTPSQL, id, app, k.issuer, k.accountName, k.digits, k.period, k.algorithm,
		sealed.KeyID, sealed.Data, pgdb.Now(t.now), appID).Scan(&info.CreatedAt, &info.RotatedAt, &inserted)
	if err != nil {
		return TOTPInfo{}, pgdb.Translate(err, "", "")
	}
	info.Replaced = !inserted
	action := "totp.set"
	if info.Replaced {
		action = "totp.rotate"
	}
	err = access.Record(ctx, tx, access.Event{Action: action, TargetType: "account", TargetID: id, Details: map[string]any{
		"app": app, "issuer": k.issuer, "digits": k.digits, "period": k.period, "algorithm": k.algorithm,
		"key_id": sealed.KeyID, "source": source}})
	return info, pgdb.Translate(err, "", "")
}

// Remove deletes the account's secret for app, audited (totp.remove).
// Errors: ENOTFOUND when it has none.
func (t *TOTP) Remove(ctx context.Context, accountID, app string) error {
	uid, err := uuid.Parse(accountID)
	if err != nil {
		return notFound(accountID, app)
	}
	return pgdb.InTx(ctx, t.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, deleteTOTPSQL, uid, app)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound(uid.String(), app)
		}
		return access.Record(ctx, tx, access.Event{Action: "totp.remove", TargetType: "account", TargetID: uid.String(),
			Details: map[string]any{"app": app}})
	})
}

// List returns what the account's secrets are, by app, never the secrets.
// Errors: ENOTFOUND (the account).
func (t *TOTP) List(ctx context.Context, accountID string) ([]TOTPInfo, error) {
	a, err := t.accounts.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return pgdb.QueryAll(ctx, t.db, func(row pgx.Row, i *TOTPInfo) error {
		return row.Scan(&i.App, &i.Issuer, &i.AccountName, &i.Digits, &i.Period, &i.Algorithm, &i.CreatedAt, &i.RotatedAt)
	}, listTOTPSQL, a.ID)
}

// open reads and opens the account's secret for app.
func (t *TOTP) open(ctx context.Context, accountID, app string) (totpKey, error) {
	return t.openOn(ctx, t.db, accountID, app)
}

// openOn is open, read on db (the pool, or the caller's transaction).
func (t *TOTP) openOn(ctx context.Context, db pgdb.DB, accountID, app string) (totpKey, error) {
	var k totpKey
	var sealed secret.Sealed
	err := db.QueryRow(ctx, openTOTPSQL, accountID, app).Scan(&k.issuer, &k.accountName, &k.digits, &k.period, &k.algorithm, &sealed.KeyID, &sealed.Data)
	if err != nil {
		return totpKey{}, pgdb.Translate(err, notFound(accountID, app).Error(), "")
	}
	plain, err := t.keyring.Open(sealed, totpAAD(accountID, app))
	if err != nil {
		return totpKey{}, t.openError(err)
	}
	k.secret = string(plain)
	return k, nil
}

// recordRead audits a code handed out (totp.read_code); the code is not
// recorded. A code is never handed out without its record.
func (t *TOTP) recordRead(ctx context.Context, accountID, app string) error {
	err := access.Record(ctx, t.db, access.Event{Action: "totp.read_code", TargetType: "account", TargetID: accountID,
		Details: map[string]any{"app": app}})
	return pgdb.Translate(err, "", "")
}
