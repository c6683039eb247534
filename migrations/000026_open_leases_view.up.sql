-- Package lease: leases (see migration 000022 on the owners' views).

-- open_leases is the open lease (acquiring or active) of each account that
-- has one: account_id, lease_id. An account has at most one, by the unique
-- index leases_one_per_account, through which a reader's join finds it.
CREATE VIEW open_leases AS
SELECT l.account_id, l.id AS lease_id
FROM leases l
WHERE l.status IN ('acquiring', 'active');
