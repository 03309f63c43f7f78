-- Workspaces, registry records, the audit trail, per-workspace counters and API tokens.
-- Times are microseconds since the Unix epoch (UTC).

CREATE TABLE workspaces (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- One row per registry record. Its current value is the `value` of the audit
-- event that last set it (`event_seq`): the registry is an index over the
-- audit trail, so the two cannot disagree.
CREATE TABLE records (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    kind         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    event_seq    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, kind, id)
) WITHOUT ROWID;

-- The audit trail: `body` is the event's canonical encoding, the bytes the
-- ledger hashes; the other columns repeat parts of it for querying. (Rows of
-- several hundred bytes: a rowid table with a unique index fills faster than
-- a WITHOUT ROWID table.)
CREATE TABLE audit_events (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    UNIQUE (workspace_id, seq)
);

-- Sequences allocated per workspace: the audit sequence, RAIDA numbers,
-- and per-day numbers of CHG-/OPS- ids.
CREATE TABLE counters (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    name         TEXT    NOT NULL,
    value        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, name)
) WITHOUT ROWID;

-- Bearer tokens, stored only as the SHA-256 of the secret.
CREATE TABLE api_tokens (
    id           TEXT    PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    role         TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
