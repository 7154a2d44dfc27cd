-- 0005: the table of migrations/sqlite/0005_key_changes.sql (read it for
-- what it holds and why), for PostgreSQL: times in BIGINT, id an identity.
CREATE TABLE key_changes (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    changed_at    BIGINT NOT NULL,
    changed_rank  INTEGER NOT NULL,
    status        TEXT NOT NULL
);
CREATE INDEX key_changes_key ON key_changes (account_id, credential_id, changed_at);

INSERT INTO key_changes (account_id, credential_id, changed_at, changed_rank, status)
    SELECT account_id, credential_id, created_at, 0, 'active' FROM key_inventory
    WHERE created_at <> 0 AND created_at <= changed_at;
INSERT INTO key_changes (account_id, credential_id, changed_at, changed_rank, status)
    SELECT account_id, credential_id, changed_at, changed_rank, status FROM key_inventory;
