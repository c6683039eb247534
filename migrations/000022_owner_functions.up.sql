-- The owners' interfaces: views through which a package reads, inside one
-- of its own statements, a table that another package owns. Each view
-- belongs to the package that owns its tables and is named there (a Go
-- constant beside its store); a reader depends on the view's columns only,
-- so the owner may change its tables behind it (and must then recreate the
-- view in the same migration). A view is expanded into the statement that
-- names it, so that statement is planned as if it named the tables: no
-- extra round trip, and no different plan. A LEFT JOIN on a primary key is
-- dropped by the planner when the reader uses none of its columns, so a
-- view may carry a name or a policy that only some readers need.

-- Package accounts: environments, roles, accounts.

-- environment_directory is every environment: its id, name, controlled
-- email domains and custom isolation surfaces.
CREATE VIEW environment_directory AS
SELECT e.id, e.name, e.email_domains, e.custom_surfaces
FROM environments e;

-- role_directory is every role, deleted ones too (their leases and
-- accounts outlive them), with its environment's name.
CREATE VIEW role_directory AS
SELECT r.id, r.name, r.environment_id, e.name AS environment, r.deleted_at
FROM roles r JOIN environments e ON e.id = r.environment_id;

-- account_directory is every account, retired ones too, with its role's
-- name and isolation policy.
CREATE VIEW account_directory AS
SELECT a.id, a.environment_id, a.role_id, a.status, a.email, a.username, a.created_at,
       r.name AS role, r.isolation_policy
FROM accounts a LEFT JOIN roles r ON r.id = a.role_id;

-- Package isolation: isolation_violations.

-- quarantining_violations are the open violations on a hidden surface:
-- each holds its account back from leases when its role quarantines on
-- violations (roles.quarantine_on_violation, package accounts' to decide).
CREATE VIEW quarantining_violations AS
SELECT v.id, v.environment_id, v.app_id, v.surface, v.account_id, v.first_seen_at
FROM isolation_violations v
WHERE v.closed_at IS NULL AND v.visibility = 'hidden';
