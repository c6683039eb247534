package chirp

// PostgresProviderSettings are the settings with which Understudy's
// postgres provider drives chirp's tables: the users table and its marker
// and owner columns, and the per-user tables in foreign-key order.
const PostgresProviderSettings = `{
	"users_table": "users",
	"key_column": "id",
	"synthetic_column": "is_synthetic",
	"owner_column": "understudy_account_id",
	"columns": {"email": "email", "username": "username", "display_name": "display_name"},
	"tables": [
		{"table": "profiles", "user_column": "user_id"},
		{"table": "posts", "user_column": "user_id"},
		{"table": "follows", "user_column": "follower_id"},
		{"table": "likes", "user_column": "user_id"},
		{"table": "scores", "user_column": "user_id"},
		{"table": "notifications", "user_column": "user_id"},
		{"table": "cart_items", "user_column": "user_id"}
	],
	"lock_timeout": "5s",
	"statement_timeout": "10s"
}`
