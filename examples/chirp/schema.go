package chirp

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrateLockKey serialises concurrent Migrate calls on one database
// (CREATE TABLE IF NOT EXISTS is not safe against itself in parallel).
const migrateLockKey = 0x63686972 // "chir"

// schemaSQL is chirp's whole schema. Table and column names are part of
// chirp's API: Understudy's postgres provider drives them directly.
//
// The per-user tables, in foreign-key order (parents first), with the
// column that references the user: profiles.user_id, posts.user_id,
// follows.follower_id, likes.user_id, scores.user_id,
// notifications.user_id, cart_items.user_id.
const schemaSQL = `
CREATE TABLE IF NOT EXISTS users (
	id                    bigserial PRIMARY KEY,
	username              text UNIQUE NOT NULL,
	email                 text UNIQUE NOT NULL,
	display_name          text NOT NULL,
	is_synthetic          boolean NOT NULL DEFAULT false,
	understudy_account_id text UNIQUE,
	created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS profiles (
	user_id    bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE,
	bio        text NOT NULL DEFAULT '',
	avatar_url text NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS posts (
	id         bigserial PRIMARY KEY,
	user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 280),
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS posts_user_id_created_at_idx ON posts (user_id, created_at DESC);

CREATE TABLE IF NOT EXISTS follows (
	follower_id bigint REFERENCES users ON DELETE CASCADE,
	followee_id bigint REFERENCES users ON DELETE CASCADE,
	created_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (follower_id, followee_id),
	CHECK (follower_id <> followee_id)
);
CREATE INDEX IF NOT EXISTS follows_followee_id_idx ON follows (followee_id);

CREATE TABLE IF NOT EXISTS likes (
	user_id bigint REFERENCES users ON DELETE CASCADE,
	post_id bigint REFERENCES posts ON DELETE CASCADE,
	PRIMARY KEY (user_id, post_id)
);
CREATE INDEX IF NOT EXISTS likes_post_id_idx ON likes (post_id);

CREATE TABLE IF NOT EXISTS scores (
	user_id bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE,
	points  bigint NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS notifications (
	id         bigserial PRIMARY KEY,
	user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	kind       text NOT NULL,
	body       text NOT NULL,
	read       boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notifications_user_id_idx ON notifications (user_id, id);
-- actor_id is the user whose action a notification tells of, for the
-- isolation client to check. It has no foreign key, so the per-user tables
-- keep their order and a deleted actor leaves the notification as it was.
ALTER TABLE notifications ADD COLUMN IF NOT EXISTS actor_id bigint;

CREATE TABLE IF NOT EXISTS cart_items (
	user_id  bigint REFERENCES users ON DELETE CASCADE,
	sku      text NOT NULL,
	quantity integer NOT NULL CHECK (quantity > 0),
	PRIMARY KEY (user_id, sku)
);

-- passwords and sessions serve the sign-in page (pages.go). Like the users
-- row, they are identity, not state: a snapshot neither captures nor
-- restores them, so a reset keeps the password and signs no one out. A user
-- without a passwords row (one who signed up through the API, or was
-- provisioned without a password) cannot sign in with a password.
CREATE TABLE IF NOT EXISTS passwords (
	user_id    bigint PRIMARY KEY REFERENCES users ON DELETE CASCADE,
	hash       text NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- A session is a signed-in browser: the SHA-256 of its cookie's token (the
-- token itself is never stored), whose it is, and until when.
CREATE TABLE IF NOT EXISTS sessions (
	token_hash bytea PRIMARY KEY,
	user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON sessions (user_id);

-- totp_secret is the user's authenticator secret (base32, as otpauth://
-- URIs carry it), NULL for a user without one. chirp is an example app and
-- keeps it plain, as many apps do; a real app would seal it. It is on the
-- users row, so it is identity: a reset keeps it.
ALTER TABLE users ADD COLUMN IF NOT EXISTS totp_secret text;

-- A sign-in is pending between the password and the last step (the mailed
-- code, the authenticator code): the SHA-256 of its cookie's token, whose
-- it is, the SHA-256 of the mailed code salted with that token (NULL once
-- entered, or when none was sent), the wrong tries so far, the SHA-256 of
-- the magic link's token (NULL once used), whether the authenticator code
-- is still due, and until when it may finish. Neither the code nor a token
-- is ever stored. Identity, not state, like sessions.
CREATE TABLE IF NOT EXISTS sign_ins (
	token_hash bytea PRIMARY KEY,
	user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
	code_hash  bytea,
	attempts   integer NOT NULL DEFAULT 0,
	link_hash  bytea UNIQUE,
	needs_totp boolean NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_ins_user_id_idx ON sign_ins (user_id);

-- visible_users is THE isolation rule of chirp, and the only place it is
-- written: every query that shows users to a viewer (leaderboard, feed,
-- notifications about someone's actions) selects them through it.
-- A real (or anonymous, or unknown) viewer sees real users only; a synthetic
-- viewer (a tester) sees synthetic users only, so testers get a leaderboard
-- of testers and real users never meet an understudy.
CREATE OR REPLACE FUNCTION visible_users(viewer_id bigint) RETURNS SETOF users
LANGUAGE sql STABLE AS $$
	SELECT u.* FROM users u
	WHERE u.is_synthetic = COALESCE((SELECT v.is_synthetic FROM users v WHERE v.id = viewer_id), false)
$$;
`

// Migrate creates chirp's schema in db if missing (idempotent; CREATE
// TABLE IF NOT EXISTS), in the current schema of that database. Concurrent
// calls queue on an advisory lock.
func Migrate(ctx context.Context, db *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schemaSQL)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrating chirp's schema: %w", err)
	}
	return nil
}
