-- 0004: what EventBridge delivers (POST /events/aws): CloudTrail events,
-- the key inventory they keep current, and the Bedrock calls they count.
-- Nothing of an event is kept but what is named here: never its body
-- (CreateServiceSpecificCredential's responseElements hold the new key).

-- One row per EventBridge event id: the primary key makes a redelivery
-- change nothing.
CREATE TABLE aws_events (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    region      TEXT NOT NULL DEFAULT '',
    event_name  TEXT NOT NULL,
    event_time  INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);

-- The long-term credentials of each account, by id: Bedrock API keys
-- (service-specific credentials) and access keys of BedrockAPIKey-* users.
-- status is active | inactive | deleted; changed_at is the CloudTrail
-- eventTime of the change the status comes from, so that an older event
-- arriving late does not undo a newer one (CloudTrail times are to the
-- second: at the same second an update comes after the creation), and
-- deleted is final (ids are never reused), so that no event resurrects a
-- deleted key.
CREATE TABLE key_inventory (
    account_id    TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    kind          TEXT NOT NULL, -- service_specific | access_key
    user_name     TEXT NOT NULL DEFAULT '',
    service_name  TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL DEFAULT 0,
    expires_at    INTEGER NOT NULL DEFAULT 0, -- 0: never
    changed_at    INTEGER NOT NULL,
    changed_rank  INTEGER NOT NULL DEFAULT 0, -- ties of changed_at: create 0 < update 1 < delete 2
    PRIMARY KEY (account_id, credential_id)
);

-- Bedrock calls per account, UTC day, caller (api_key | role | user |
-- other) and API-key type (LONG_TERM | SHORT_TERM | '').
CREATE TABLE bedrock_calls (
    account_id TEXT NOT NULL,
    day        INTEGER NOT NULL, -- the day's first millisecond
    caller     TEXT NOT NULL,
    token_type TEXT NOT NULL DEFAULT '',
    calls      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day, caller, token_type)
);
