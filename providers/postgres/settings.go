package postgres

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/providers"
)

// Settings is the provider's JSON settings document (providers.Config.Settings).
// The connection string is a secret, "dsn", never a setting.
//
//	{
//	  "users_table": "users",
//	  "key_column": "id",
//	  "synthetic_column": "is_synthetic",
//	  "owner_column": "understudy_account_id",
//	  "columns": {"email": "email", "username": "username", "display_name": "display_name"},
//	  "tables": [
//	    {"table": "profiles", "user_column": "user_id"},
//	    {"table": "posts", "user_column": "user_id"},
//	    {"table": "drafts", "user_column": "author_id", "unchecked_user_column": true}
//	  ],
//	  "lock_timeout": "5s",
//	  "statement_timeout": "30s",
//	  "surfaces": {"leaderboards": "SELECT user_id FROM scores ORDER BY points DESC LIMIT 100"},
//	  "surface_timeout": "10s"
//	}
type Settings struct {
	// Schema holds every table named here. Defaults to "public".
	Schema string `json:"schema"`
	// UsersTable is the app's table of users. Required.
	UsersTable string `json:"users_table"`
	// KeyColumn is the users table's key; a user's ref is its value as
	// text. Required.
	KeyColumn string `json:"key_column"`
	// SyntheticColumn is the boolean column of the users table that marks
	// a user as synthetic. Provision sets it; nothing is written to a user
	// unless it is true. Required.
	SyntheticColumn string `json:"synthetic_column"`
	// OwnerColumn is a text column of the users table, with a unique index
	// of its own, that records the Understudy account a user was
	// provisioned for. When set, Provision is idempotent by it and Verify
	// returns ErrNotOwned for a user of another account. Without it,
	// Provision cannot find the user it created before (a second call is
	// refused by the app's unique constraints, if any) and ownership is not
	// checked. Optional, strongly recommended.
	OwnerColumn string `json:"owner_column"`
	// Columns says which column of the users table receives which field of
	// providers.Account on Provision: keys are the fields' JSON names
	// (email, username, display_name, given_name, family_name, phone,
	// locale, time_zone, environment, role), values are column names. An
	// empty field is written as NULL. Optional.
	Columns map[string]string `json:"columns"`
	// Tables are the tables that hold per-user rows, in foreign-key order
	// (parents first): Restore deletes the rows a state lacks in reverse
	// order, and updates and inserts in this order. Each must have a
	// primary key, by which a restore matches rows. At most MaxTables.
	Tables []Table `json:"tables"`
	// LockTimeout bounds the wait for a lock (a concurrent restore of the
	// same user queues this long at most), as a Go duration. Defaults to
	// "5s".
	LockTimeout string `json:"lock_timeout"`
	// StatementTimeout bounds each statement, as a Go duration. Defaults
	// to "30s".
	StatementTimeout string `json:"statement_timeout"`
	// Surfaces maps a surface name (leaderboards, social_feed, …) to a
	// query that returns, in one column, the keys of the users a real
	// viewer sees on it now, for the isolation audit (providers.Surfaces).
	// Each runs alone in a read-only transaction bounded by
	// SurfaceTimeout: a query that writes is refused by PostgreSQL, one
	// that runs long is cancelled. Optional.
	Surfaces map[string]string `json:"surfaces"`
	// SurfaceTimeout bounds each surface query, as a Go duration.
	// Defaults to "10s".
	SurfaceTimeout string `json:"surface_timeout"`
}

// Table is one table of per-user rows.
type Table struct {
	// Table is the table's name, in Settings.Schema. Required.
	Table string `json:"table"`
	// UserColumn is the column that references the user's key. Required.
	// It must have a foreign key to the users table's key column (checked
	// against the catalog), unless UncheckedUserColumn is set.
	UserColumn string `json:"user_column"`
	// UncheckedUserColumn declares that the app has no foreign key from
	// UserColumn to the users table's key, and that the admin vouches that
	// the column names the user all the same. Without a foreign key a
	// wrong column (one that holds a post's id, say) would make a restore
	// delete other users' rows, so the check is skipped only on this
	// explicit, audited setting. Defaults to false.
	UncheckedUserColumn bool `json:"unchecked_user_column"`
}

// MaxTables is the most per-user tables a provider drives: a snapshot is
// one json_build_object call, whose arguments PostgreSQL limits to 100.
const MaxTables = 48

// Defaults of the optional settings.
const (
	DefaultSchema           = "public"
	DefaultLockTimeout      = 5 * time.Second
	DefaultStatementTimeout = 30 * time.Second
	DefaultSurfaceTimeout   = 10 * time.Second
)

// MaxSurfaceRefs is the most refs one surface query may return.
const MaxSurfaceRefs = 100_000

// maxIdentifier is PostgreSQL's limit (NAMEDATALEN-1); a longer name would
// be truncated silently and name another object.
const maxIdentifier = 63

// accountFields maps the keys allowed in Settings.Columns to the Account
// field each one carries.
var accountFields = map[string]func(providers.Account) string{
	"email":        func(a providers.Account) string { return a.Email },
	"username":     func(a providers.Account) string { return a.Username },
	"display_name": func(a providers.Account) string { return a.DisplayName },
	"given_name":   func(a providers.Account) string { return a.GivenName },
	"family_name":  func(a providers.Account) string { return a.FamilyName },
	"phone":        func(a providers.Account) string { return a.Phone },
	"locale":       func(a providers.Account) string { return a.Locale },
	"time_zone":    func(a providers.Account) string { return a.TimeZone },
	"environment":  func(a providers.Account) string { return a.Environment },
	"role":         func(a providers.Account) string { return a.Role },
}

// settings is Settings validated, with its defaults filled in.
type settings struct {
	Settings
	lockTimeout, statementTimeout, surfaceTimeout time.Duration
	fields                                        []string // keys of Columns, sorted
}

// Validate checks every field and names the first bad one in a
// *providers.ConfigError ("settings.tables[2].user_column"). It reads no
// database: CheckConfig checks the settings against the catalog.
func (s Settings) Validate() error {
	_, err := s.validate()
	return err
}

func (s Settings) validate() (settings, error) {
	v := settings{Settings: s}
	if v.Schema == "" {
		v.Schema = DefaultSchema
	}
	checks := []struct{ field, name string }{
		{"schema", v.Schema},
		{"users_table", v.UsersTable},
		{"key_column", v.KeyColumn},
		{"synthetic_column", v.SyntheticColumn},
	}
	for _, c := range checks {
		if err := checkIdentifier(c.field, c.name, true); err != nil {
			return v, err
		}
	}
	if err := checkIdentifier("owner_column", v.OwnerColumn, false); err != nil {
		return v, err
	}
	if err := v.validateColumns(); err != nil {
		return v, err
	}
	if err := v.validateTables(); err != nil {
		return v, err
	}
	var err error
	if v.lockTimeout, err = duration("lock_timeout", v.LockTimeout, DefaultLockTimeout); err != nil {
		return v, err
	}
	if v.statementTimeout, err = duration("statement_timeout", v.StatementTimeout, DefaultStatementTimeout); err != nil {
		return v, err
	}
	if v.surfaceTimeout, err = duration("surface_timeout", v.SurfaceTimeout, DefaultSurfaceTimeout); err != nil {
		return v, err
	}
	return v, validateSurfaces(v.Surfaces)
}

func (v *settings) validateColumns() error {
	if v.SyntheticColumn == v.KeyColumn {
		return &providers.ConfigError{Field: "settings.synthetic_column", Detail: "is the same column as key_column"}
	}
	// reserved are the users columns that Provision writes itself.
	reserved := map[string]string{v.KeyColumn: "key_column", v.SyntheticColumn: "synthetic_column"}
	if v.OwnerColumn != "" {
		if other, dup := reserved[v.OwnerColumn]; dup {
			return &providers.ConfigError{Field: "settings.owner_column", Detail: "is the same column as " + other}
		}
		reserved[v.OwnerColumn] = "owner_column"
	}
	for field := range v.Columns {
		v.fields = append(v.fields, field)
	}
	slices.Sort(v.fields)
	for _, field := range v.fields {
		name := "columns." + field
		if accountFields[field] == nil {
			return &providers.ConfigError{Field: "settings." + name, Detail: "is not an account field (known: " + strings.Join(knownFields(), ", ") + ")"}
		}
		col := v.Columns[field]
		if err := checkIdentifier(name, col, true); err != nil {
			return err
		}
		if other, dup := reserved[col]; dup {
			return &providers.ConfigError{Field: "settings." + name, Detail: fmt.Sprintf("column %q is already written as %s", col, other)}
		}
		reserved[col] = name
	}
	return nil
}

func (v *settings) validateTables() error {
	if len(v.Tables) > MaxTables {
		return &providers.ConfigError{Field: "settings.tables", Detail: fmt.Sprintf("lists %d tables; at most %d are supported", len(v.Tables), MaxTables)}
	}
	seen := map[string]bool{v.UsersTable: true}
	for i, t := range v.Tables {
		field := fmt.Sprintf("tables[%d]", i)
		if err := checkIdentifier(field+".table", t.Table, true); err != nil {
			return err
		}
		if err := checkIdentifier(field+".user_column", t.UserColumn, true); err != nil {
			return err
		}
		if seen[t.Table] {
			return &providers.ConfigError{Field: "settings." + field + ".table", Detail: fmt.Sprintf("table %q is listed twice (or is the users table)", t.Table)}
		}
		seen[t.Table] = true
	}
	return nil
}

func checkIdentifier(field, name string, required bool) error {
	switch {
	case name == "" && required:
		return &providers.ConfigError{Field: "settings." + field, Detail: "is required"}
	case len(name) > maxIdentifier:
		return &providers.ConfigError{Field: "settings." + field, Detail: fmt.Sprintf("is longer than PostgreSQL's %d bytes", maxIdentifier)}
	case strings.ContainsRune(name, 0):
		return &providers.ConfigError{Field: "settings." + field, Detail: "contains a NUL byte"}
	}
	return nil
}

func duration(field, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Millisecond {
		return 0, &providers.ConfigError{Field: "settings." + field, Detail: fmt.Sprintf("%q is not a duration of at least 1ms, like \"5s\"", s)}
	}
	return d, nil
}

func knownFields() []string {
	names := make([]string, 0, len(accountFields))
	for k := range accountFields {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// validateSurfaces checks the surfaces' names and that each has a query.
func validateSurfaces(surfaces map[string]string) error {
	names := make([]string, 0, len(surfaces))
	for name := range surfaces {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		field := "settings.surfaces." + name
		switch q := strings.TrimSpace(surfaces[name]); {
		case name == "" || len(name) > 63 || strings.ContainsFunc(name, func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_'
		}):
			return &providers.ConfigError{Field: field, Detail: "is not a surface name (lower case letters, digits and _, at most 63)"}
		case q == "":
			return &providers.ConfigError{Field: field, Detail: "has no query"}
		case strings.ContainsRune(q, 0):
			return &providers.ConfigError{Field: field, Detail: "contains a NUL byte"}
		}
	}
	return nil
}
