-- 0002: see migrations/sqlite/0002_incident_triage_fields.sql.
ALTER TABLE incidents ADD COLUMN rule_id TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN third_party BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE incidents ADD COLUMN credential_state TEXT NOT NULL DEFAULT '';
