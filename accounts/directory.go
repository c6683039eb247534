package accounts

// This package's interface to other packages' SQL: the views (migration
// 000022) through which a statement of another package reads
// environments, roles or accounts together with its own tables, in one
// round trip. A reader names the view through these constants and uses
// only the columns listed here; the tables behind them are this
// package's alone. Each view is expanded into the reader's statement, so
// it is planned as if it named the tables.
const (
	// EnvironmentDirectory is the view of every environment: id, name,
	// email_domains, custom_surfaces, capture_retention_seconds (migration
	// 000036).
	EnvironmentDirectory = "environment_directory"
	// RoleDirectory is the view of every role, deleted ones too: id, name,
	// environment_id, environment (its environment's name), deleted_at.
	RoleDirectory = "role_directory"
	// AccountDirectory is the view of every account, retired ones too:
	// id, environment_id, role_id, status, email, username, created_at,
	// role (its role's name) and isolation_policy (its role's). The role's
	// columns come from a join the planner drops when a reader uses
	// neither.
	AccountDirectory = "account_directory"
)
