package accounts

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// MaxSearch is the most accounts a search returns.
const MaxSearch = 50

// maxSearchText bounds what a search may be given.
const maxSearchText = 200

// searchSQL finds the accounts whose email or username starts with $1
// (lower case), at most $2 of each, through the expression indexes
// accounts_email_lower and accounts_username_lower (migration 18): the
// prefix is a range of the "C" collation, so the plan is an index range
// scan whatever the parameter, never a scan of the table. Active accounts
// come first, then by environment, role, slot and generation.
const searchSQL = `
WITH hits AS (
    (SELECT id FROM accounts WHERE lower(email) COLLATE "C" >= $1 AND lower(email) COLLATE "C" < $1 || chr(1114111)
     ORDER BY lower(email) COLLATE "C" LIMIT $2)
    UNION
    (SELECT id FROM accounts WHERE lower(username) COLLATE "C" >= $1 AND lower(username) COLLATE "C" < $1 || chr(1114111)
     ORDER BY lower(username) COLLATE "C" LIMIT $2)
)
SELECT ` + accountColumns + ` FROM hits h JOIN ` + accountJoins + ` ON a.id = h.id
ORDER BY a.status = 'retired', e.name, r.name, a.slot, a.generation LIMIT $2`

// Search returns the accounts, retired ones too, whose id is text, or whose
// email or username starts with text, case-insensitively: at most
// MaxSearch of them, active ones first. Errors: EINVALID (empty or longer
// than 200 characters).
func (s *Service) Search(ctx context.Context, text string) ([]Account, error) {
	text = strings.TrimSpace(text)
	if text == "" || len([]rune(text)) > maxSearchText {
		return nil, understudy.Invalid("invalid search", understudy.FieldError{Field: "q",
			Detail: "must be an account id, or the start of an email or username, of 1 to 200 characters"})
	}
	if _, err := uuid.Parse(text); err == nil {
		a, err := s.GetAccount(ctx, text)
		if understudy.ErrorCode(err) == understudy.ENOTFOUND {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return []Account{a}, nil
	}
	return pgdb.QueryAll(ctx, s.db, scanAccount, searchSQL, strings.ToLower(text), MaxSearch)
}

// replacementSQL reads the active account of a retired account's slot:
// the same role and slot, not retired (the accounts_active_slot index, on retired_at).
const replacementSQL = `SELECT ` + accountColumns + accountFrom + `
WHERE (a.role_id, a.slot) = (SELECT role_id, slot FROM accounts WHERE id = $1) AND a.status <> 'retired' AND a.id <> $1`

// Replacement returns the account that holds the slot of the account with
// id now (same environment, role and slot, not retired), and false when
// there is none (the account is the slot's active one, or the slot is
// empty since its role shrank). Errors: none beyond the database's.
func (s *Service) Replacement(ctx context.Context, id string) (Account, bool, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return Account{}, false, nil
	}
	return pgdb.QueryMaybe(ctx, s.db, scanAccount, pgdb.Conflict{}, replacementSQL, uid)
}
