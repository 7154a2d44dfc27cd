-- 0005: the history of each long-term key's status, so that the number of
-- live keys at a past time is known (the dashboard's weekly trend).
-- key_inventory keeps only a key's latest status: a key deactivated on
-- Monday and deleted on Friday shows only the deletion, and would count
-- as live all week.
--
-- One row per key event (the event's id in aws_events makes a redelivery
-- add none): the CloudTrail eventTime, the rank of the change at the same
-- second (create 0 < update 1 < delete 2), and the status it set. id
-- orders two changes of one rank in the same second as key_inventory does:
-- the first recorded wins.
CREATE TABLE key_changes (
    id            INTEGER PRIMARY KEY,
    account_id    TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    changed_at    INTEGER NOT NULL,
    changed_rank  INTEGER NOT NULL,
    status        TEXT NOT NULL
);
CREATE INDEX key_changes_key ON key_changes (account_id, credential_id, changed_at);

-- The keys recorded before this migration: their creation (when its event
-- was received: a creation sets the key active) and their latest status.
-- What happened in between was not kept and is not invented.
INSERT INTO key_changes (account_id, credential_id, changed_at, changed_rank, status)
    SELECT account_id, credential_id, created_at, 0, 'active' FROM key_inventory
    WHERE created_at <> 0 AND created_at <= changed_at;
INSERT INTO key_changes (account_id, credential_id, changed_at, changed_rank, status)
    SELECT account_id, credential_id, changed_at, changed_rank, status FROM key_inventory;
