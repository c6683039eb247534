package console

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/snapshot"
)

// The console's own reads: what a page shows of many accounts at once
// (each with its open lease and last reset), in one statement, where the
// domain services answer one question at a time.

// row is one account as the accounts table shows it.
type row struct {
	ID          string
	Environment string
	Role        string
	Slot        int
	Generation  int
	Status      accounts.Status
	Reason      string
	Email       string
	Name        string
	// LeaseID, Holder and Expires describe the open lease, if any.
	LeaseID, Holder string
	Expires         *time.Time
	// Reset is the last reset; Reset.StartedAt is zero when there was none.
	Reset snapshot.Reset
}

// cursor is the position after which a page of accounts starts: the
// ordering key of the last row of the page before (keyset pagination).
type cursor struct {
	Environment, Role string
	Slot, Generation  int
}

// encode is the cursor as it travels in ?after=.
func (c cursor) encode() string {
	b, _ := json.Marshal([]any{c.Environment, c.Role, c.Slot, c.Generation})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads ?after=; "" is the first page.
func decodeCursor(s string) (cursor, error) {
	c := cursor{Slot: -1, Generation: -1}
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var parts []any
	if err == nil {
		err = json.Unmarshal(b, &parts)
	}
	if err != nil || len(parts) != 4 {
		return c, understudy.Invalid("invalid page", understudy.FieldError{Field: "after", Detail: "is not a page of this list: start from the first page"})
	}
	env, ok1 := parts[0].(string)
	role, ok2 := parts[1].(string)
	slot, ok3 := parts[2].(float64)
	gen, ok4 := parts[3].(float64)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return c, understudy.Invalid("invalid page", understudy.FieldError{Field: "after", Detail: "is not a page of this list: start from the first page"})
	}
	return cursor{Environment: env, Role: role, Slot: int(slot), Generation: int(gen)}, nil
}

// rowFilter narrows the accounts table; zero fields match everything, and
// retired accounts show only when Status asks for them.
type rowFilter struct {
	Environment, Role string
	Status            accounts.Status
	After             cursor
	Limit             int
}

// rowsSQL reads a page of accounts in (environment, role, slot,
// generation) order after a cursor, each with its open lease and its last
// reset. It starts at the cursor instead of counting past an offset, and
// never sorts the whole table: roles are taken in name order from the
// cursor's, each role's accounts through the (role_id, slot, generation)
// index, at most a page of them, and an incremental sort on the roles'
// order stops as soon as the page is full (EXPLAIN in pages_test.go).
const rowsSQL = `
WITH page AS (
    SELECT er.ename, er.rname, a.* FROM (
        SELECT e.name AS ename, r.name AS rname, r.id AS rid FROM roles r JOIN environments e ON e.id = r.environment_id
        WHERE ($1 = '' OR e.name = $1) AND ($2 = '' OR r.name = $2) AND (e.name, r.name) >= ($4, $5)
        ORDER BY e.name, r.name
    ) er
    CROSS JOIN LATERAL (
        SELECT a.id, a.slot, a.generation, a.status, a.status_reason, a.email, a.identity->>'display_name' AS display_name
        FROM accounts a
        WHERE a.role_id = er.rid AND (CASE WHEN $3 <> '' THEN a.status = $3 ELSE a.status <> 'retired' END)
          AND ((er.ename, er.rname) > ($4, $5) OR (a.slot, a.generation) > ($6, $7))
        ORDER BY a.slot, a.generation LIMIT $8
    ) a
    ORDER BY er.ename, er.rname, a.slot, a.generation LIMIT $8
)
SELECT p.id::text, p.ename, p.rname, p.slot, p.generation, p.status, p.status_reason, p.email, p.display_name,
       coalesce(l.id::text, ''), coalesce(l.holder, ''), l.expires_at,
       coalesce(x.account_id::text, ''), coalesce(x.state, ''), coalesce(x.started_at, 'epoch'), coalesce(x.duration_ms, 0),
       coalesce(x.ok, false), coalesce(x.verified, '{}'), coalesce(x.failed_app, ''), coalesce(x.reason, '')
FROM page p
LEFT JOIN leases l ON l.account_id = p.id AND l.status IN ('acquiring', 'active')
LEFT JOIN account_resets x ON x.account_id = p.id
ORDER BY p.ename, p.rname, p.slot, p.generation`

func scanRow(r pgx.Row, x *row) error {
	var ms int64
	err := r.Scan(&x.ID, &x.Environment, &x.Role, &x.Slot, &x.Generation, &x.Status, &x.Reason, &x.Email, &x.Name,
		&x.LeaseID, &x.Holder, &x.Expires,
		&x.Reset.AccountID, &x.Reset.State, &x.Reset.StartedAt, &ms, &x.Reset.OK, &x.Reset.Verified, &x.Reset.FailedApp, &x.Reset.Reason)
	x.Reset.Duration = time.Duration(ms) * time.Millisecond
	if x.Reset.AccountID == "" {
		x.Reset.StartedAt = time.Time{}
	}
	return err
}

// rows returns a page of the accounts table and the cursor of the next
// page ("" on the last page).
func (c *Console) rows(ctx context.Context, f rowFilter) ([]row, string, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	list, err := pgdb.QueryAll(ctx, c.cfg.DB, scanRow, rowsSQL, f.Environment, f.Role, string(f.Status),
		f.After.Environment, f.After.Role, f.After.Slot, f.After.Generation, f.Limit+1)
	if err != nil || len(list) <= f.Limit {
		return list, "", err
	}
	last := list[f.Limit-1]
	return list[:f.Limit], cursor{last.Environment, last.Role, last.Slot, last.Generation}.encode(), nil
}

// countsSQL counts the accounts of every environment by status.
const countsSQL = `
SELECT e.name, a.status, count(*) FROM accounts a JOIN environments e ON e.id = a.environment_id
GROUP BY 1, 2`

// statusCounts counts accounts by environment and status.
func (c *Console) statusCounts(ctx context.Context) (map[string]map[accounts.Status]int, error) {
	type count struct {
		env string
		st  accounts.Status
		n   int
	}
	list, err := pgdb.QueryAll(ctx, c.cfg.DB, func(r pgx.Row, x *count) error { return r.Scan(&x.env, &x.st, &x.n) }, countsSQL)
	out := map[string]map[accounts.Status]int{}
	for _, x := range list {
		if out[x.env] == nil {
			out[x.env] = map[accounts.Status]int{}
		}
		out[x.env][x.st] = x.n
	}
	return out, err
}

// failingSQL counts, per app, the failed accounts whose last reset failed
// in it: the app's health as the resets see it.
const failingSQL = `
SELECT e.name, x.failed_app, count(*) FROM account_resets x JOIN accounts a ON a.id = x.account_id
JOIN environments e ON e.id = a.environment_id
WHERE a.status = 'failed' AND NOT x.ok GROUP BY 1, 2`

// failingByApp maps "environment/app" to its count of failed accounts.
func (c *Console) failingByApp(ctx context.Context) (map[string]int, error) {
	type count struct {
		key string
		n   int
	}
	list, err := pgdb.QueryAll(ctx, c.cfg.DB, func(r pgx.Row, x *count) error {
		var env, app string
		err := r.Scan(&env, &app, &x.n)
		x.key = env + "/" + app
		return err
	}, failingSQL)
	out := map[string]int{}
	for _, x := range list {
		out[x.key] = x.n
	}
	return out, err
}
