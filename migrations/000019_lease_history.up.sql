-- Lease history: the console lists ended leases, newest first, paged by
-- (ended_at, id), for every role or one; and each lease's page says when
-- it was last renewed.
ALTER TABLE leases ADD COLUMN renewed_at timestamptz;
CREATE INDEX leases_history ON leases (ended_at DESC, id DESC) WHERE ended_at IS NOT NULL;
CREATE INDEX leases_role_history ON leases (role_id, ended_at DESC, id DESC) WHERE ended_at IS NOT NULL;
