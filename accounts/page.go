package accounts

import (
	"context"
	"encoding/base64"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// The read models of lists of many accounts at once (the console's
// accounts table and overview): each answers in one statement on the
// tables this package owns. What a list shows of other owners' tables (an
// account's open lease, its last reset) the caller asks their owners for,
// by the ids of the page.

// Pages reads pages and counts of accounts. It holds no state but the
// database, so it may be made wherever it is needed.
type Pages struct {
	db pgdb.DB
}

// NewPages returns the account pages of db.
func NewPages(db pgdb.DB) *Pages { return &Pages{db: db} }

// PageRow is one account as a list of accounts shows it.
type PageRow struct {
	ID          string
	Environment string
	Role        string
	Slot        int
	Generation  int
	Status      Status
	Reason      string
	Email       string
	// Name is the identity's display name.
	Name string
}

// PageCursor is the position after which a page of accounts starts: the
// ordering key of the last row of the page before (keyset pagination).
type PageCursor struct {
	Environment, Role string
	Slot, Generation  int
}

// Encode is the cursor as it travels in a URL (?after=).
func (c PageCursor) Encode() string {
	b, _ := json.Marshal([]any{c.Environment, c.Role, c.Slot, c.Generation})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParsePageCursor reads a cursor of Encode; "" is the first page.
// Errors: EINVALID (field after).
func ParsePageCursor(s string) (PageCursor, error) {
	c := PageCursor{Slot: -1, Generation: -1}
	if s == "" {
		return c, nil
	}
	bad := understudy.Invalid("invalid page", understudy.FieldError{Field: "after", Detail: "is not a page of this list: start from the first page"})
	b, err := base64.RawURLEncoding.DecodeString(s)
	var parts []any
	if err == nil {
		err = json.Unmarshal(b, &parts)
	}
	if err != nil || len(parts) != 4 {
		return c, bad
	}
	env, ok1 := parts[0].(string)
	role, ok2 := parts[1].(string)
	slot, ok3 := parts[2].(float64)
	gen, ok4 := parts[3].(float64)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return c, bad
	}
	return PageCursor{Environment: env, Role: role, Slot: int(slot), Generation: int(gen)}, nil
}

// PageFilter narrows a page of accounts; zero fields match everything,
// and retired accounts show only when Status asks for them.
type PageFilter struct {
	Environment, Role string
	Status            Status
	After             PageCursor
	// Limit is the page size. Defaults to 50.
	Limit int
}

// pageSQL reads a page of accounts in (environment, role, slot,
// generation) order after a cursor. It starts at the cursor instead of
// counting past an offset, and never sorts the whole table: roles are
// taken in name order from the cursor's, each role's accounts through the
// (role_id, slot, generation) index, at most a page of them, and an
// incremental sort on the roles' order stops as soon as the page is full
// (EXPLAIN in page_test.go).
const pageSQL = `
SELECT a.id::text, er.ename, er.rname, a.slot, a.generation, a.status, a.status_reason, a.email, a.display_name FROM (
    SELECT e.name AS ename, r.name AS rname, r.id AS rid FROM roles r JOIN environments e ON e.id = r.environment_id
    WHERE (@environment = '' OR e.name = @environment) AND (@role = '' OR r.name = @role) AND (e.name, r.name) >= (@after_environment, @after_role)
    ORDER BY e.name, r.name
) er
CROSS JOIN LATERAL (
    SELECT a.id, a.slot, a.generation, a.status, a.status_reason, a.email, a.identity->>'display_name' AS display_name
    FROM accounts a
    WHERE a.role_id = er.rid AND (CASE WHEN @status <> '' THEN a.status = @status ELSE a.status <> 'retired' END)
      AND ((er.ename, er.rname) > (@after_environment, @after_role) OR (a.slot, a.generation) > (@after_slot, @after_generation))
    ORDER BY a.slot, a.generation LIMIT @limit
) a
ORDER BY er.ename, er.rname, a.slot, a.generation LIMIT @limit`

// pageArgs are pageSQL's arguments for f, asking for limit rows.
func pageArgs(f PageFilter, limit int) pgx.NamedArgs {
	return pgx.NamedArgs{"environment": f.Environment, "role": f.Role, "status": string(f.Status),
		"after_environment": f.After.Environment, "after_role": f.After.Role,
		"after_slot": f.After.Slot, "after_generation": f.After.Generation, "limit": limit}
}

func scanPageRow(r pgx.Row, x *PageRow) error {
	return r.Scan(&x.ID, &x.Environment, &x.Role, &x.Slot, &x.Generation, &x.Status, &x.Reason, &x.Email, &x.Name)
}

// Page returns a page of accounts and the cursor of the next page (""
// on the last page).
func (p *Pages) Page(ctx context.Context, f PageFilter) ([]PageRow, string, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	list, err := pgdb.QueryAll(ctx, p.db, scanPageRow, pageSQL, pageArgs(f, f.Limit+1))
	if err != nil || len(list) <= f.Limit {
		return list, "", err
	}
	last := list[f.Limit-1]
	return list[:f.Limit], PageCursor{last.Environment, last.Role, last.Slot, last.Generation}.Encode(), nil
}

// countsSQL counts the accounts of every environment by status.
const countsSQL = `
SELECT e.name, a.status, count(*) FROM accounts a JOIN environments e ON e.id = a.environment_id
GROUP BY 1, 2`

// StatusCounts counts accounts by environment and status.
func (p *Pages) StatusCounts(ctx context.Context) (map[string]map[Status]int, error) {
	type count struct {
		env string
		st  Status
		n   int
	}
	list, err := pgdb.QueryAll(ctx, p.db, func(r pgx.Row, x *count) error { return r.Scan(&x.env, &x.st, &x.n) }, countsSQL)
	out := map[string]map[Status]int{}
	for _, x := range list {
		if out[x.env] == nil {
			out[x.env] = map[Status]int{}
		}
		out[x.env][x.st] = x.n
	}
	return out, err
}

// InStatus is an account's id and environment, as WithStatus lists it.
type InStatus struct {
	ID, Environment string
}

const withStatusSQL = `
SELECT a.id::text, e.name FROM accounts a JOIN environments e ON e.id = a.environment_id WHERE a.status = $1`

// WithStatus lists the accounts in status st (failed ones, for the
// overview's health of each app), each with its environment.
func (p *Pages) WithStatus(ctx context.Context, st Status) ([]InStatus, error) {
	return pgdb.QueryAll(ctx, p.db, func(r pgx.Row, x *InStatus) error { return r.Scan(&x.ID, &x.Environment) }, withStatusSQL, string(st))
}
