-- 0001: the first schema of bks serve, for PostgreSQL: the same tables as
-- migrations/sqlite/0001_init.sql (read it for what each holds). Times are
-- Unix milliseconds in BIGINT, ids are identity columns, bodies BYTEA.

CREATE TABLE deliveries (
    id           TEXT PRIMARY KEY,
    event        TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    body         BYTEA,
    status       TEXT NOT NULL DEFAULT 'queued', -- queued | processed | failed
    processed_at BIGINT
);

CREATE TABLE jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  TEXT NOT NULL UNIQUE REFERENCES deliveries(id),
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'queued', -- queued | running | done | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    locked_by    TEXT,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_claim ON jobs (state, locked_until, id);

CREATE TABLE incidents (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    redacted    TEXT NOT NULL,
    key_kind    TEXT NOT NULL DEFAULT '',
    account_id  TEXT NOT NULL DEFAULT '',
    principal   TEXT NOT NULL DEFAULT '',
    region      TEXT NOT NULL DEFAULT '',
    expires_at  BIGINT,
    severity    TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'open', -- open | revoked | resolved
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL
);

CREATE TABLE findings (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents(id),
    delivery_id TEXT REFERENCES deliveries(id),
    repository  TEXT NOT NULL DEFAULT '',
    commit_sha  TEXT NOT NULL DEFAULT '',
    path        TEXT NOT NULL DEFAULT '',
    line        INTEGER NOT NULL DEFAULT 0,
    found_at    BIGINT NOT NULL,
    UNIQUE (incident_id, repository, commit_sha, path, line)
);

CREATE TABLE actions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id     BIGINT REFERENCES incidents(id),
    kind            TEXT NOT NULL, -- revoke | timeline | report | notify | check_run | comment
    idempotency_key TEXT NOT NULL UNIQUE,
    result          TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '',
    at              BIGINT NOT NULL
);
