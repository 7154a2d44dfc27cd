-- 0002: what `bks triage` knows of a key and the first schema did not hold,
-- so that its JSON state file can be imported (bks serve import-state):
-- the rule that found it, whether it belongs to someone else's account, and
-- the credential's state when last checked (active, revoked, deleted…).
ALTER TABLE incidents ADD COLUMN rule_id TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN third_party INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN credential_state TEXT NOT NULL DEFAULT '';
