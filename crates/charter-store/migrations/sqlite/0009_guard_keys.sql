-- The key of each workspace's safety filter: keyed hashes of filtered
-- content and of redacted values are HMAC-SHA256 under it, so the ledger
-- can say "the same content" without saying what it was. Hexadecimal; it
-- never leaves the database and is never in an audit event.
CREATE TABLE guard_keys (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id),
    key_hex      TEXT    NOT NULL
);
