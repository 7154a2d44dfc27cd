-- 0001: the first schema of bks serve. Times are Unix milliseconds (an
-- INTEGER here, a BIGINT in PostgreSQL) so that both dialects compare them
-- the same way.

-- One row per GitHub delivery, keyed by X-GitHub-Delivery: the primary key
-- is what refuses a replay. body is kept only until the delivery is
-- processed (a payload may quote a secret in a commit message).
CREATE TABLE deliveries (
    id           TEXT PRIMARY KEY,
    event        TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    body         BLOB,
    status       TEXT NOT NULL DEFAULT 'queued', -- queued | processed | failed
    processed_at INTEGER
);

-- The job queue: one job per accepted delivery. A running job holds a lease
-- (locked_by, locked_until); a job whose lease ran out (its worker died) is
-- claimed again. A queued job with locked_until in the future waits for a
-- retry.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id  TEXT NOT NULL UNIQUE REFERENCES deliveries(id),
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'queued', -- queued | running | done | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    locked_by    TEXT,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_claim ON jobs (state, locked_until, id);

-- One incident per leaked key, by fingerprint. Never the raw secret: the
-- fingerprint, the redacted form and the fields decoded from the key.
CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL UNIQUE,
    redacted    TEXT NOT NULL,
    key_kind    TEXT NOT NULL DEFAULT '',
    account_id  TEXT NOT NULL DEFAULT '',
    principal   TEXT NOT NULL DEFAULT '',
    region      TEXT NOT NULL DEFAULT '',
    expires_at  INTEGER,
    severity    TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'open', -- open | revoked | resolved
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);

-- Where an incident's key was seen.
CREATE TABLE findings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    delivery_id TEXT REFERENCES deliveries(id),
    repository  TEXT NOT NULL DEFAULT '',
    commit_sha  TEXT NOT NULL DEFAULT '',
    path        TEXT NOT NULL DEFAULT '',
    line        INTEGER NOT NULL DEFAULT 0,
    found_at    INTEGER NOT NULL,
    UNIQUE (incident_id, repository, commit_sha, path, line)
);

-- What the service did about an incident. idempotency_key makes an effect
-- happen once even when a job runs twice (at-least-once processing).
CREATE TABLE actions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id     INTEGER REFERENCES incidents(id),
    kind            TEXT NOT NULL, -- revoke | timeline | report | notify | check_run | comment
    idempotency_key TEXT NOT NULL UNIQUE,
    result          TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '',
    at              INTEGER NOT NULL
);
