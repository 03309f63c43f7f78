-- Workspaces, registry records, the audit trail, per-workspace counters and API tokens.
-- Times are microseconds since the Unix epoch (UTC).

CREATE TABLE workspaces (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL
);

-- One row per registry record. Its current value is the `value` of the audit
-- event that last set it (`event_seq`): the registry is an index over the
-- audit trail, so the two cannot disagree.
CREATE TABLE records (
    workspace_id BIGINT  NOT NULL REFERENCES workspaces (id),
    kind         TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    version      BIGINT  NOT NULL CHECK (version >= 1),
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    event_seq    BIGINT  NOT NULL,
    PRIMARY KEY (workspace_id, kind, id)
);

-- The audit trail: `body` is the event's canonical encoding, the bytes the
-- ledger hashes; the other columns repeat parts of it for querying.
CREATE TABLE audit_events (
    workspace_id BIGINT  NOT NULL REFERENCES workspaces (id),
    seq          BIGINT  NOT NULL CHECK (seq >= 1),
    at           BIGINT  NOT NULL,
    actor        TEXT COLLATE "C" NOT NULL,
    action       TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL,
    subject      TEXT COLLATE "C" NOT NULL,
    body         TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, seq)
);

-- Sequences allocated per workspace: the audit sequence, RAIDA numbers,
-- and per-day numbers of CHG-/OPS- ids.
CREATE TABLE counters (
    workspace_id BIGINT  NOT NULL REFERENCES workspaces (id),
    name         TEXT COLLATE "C" NOT NULL,
    value        BIGINT  NOT NULL,
    PRIMARY KEY (workspace_id, name)
);

-- Bearer tokens, stored only as the SHA-256 of the secret.
CREATE TABLE api_tokens (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id BIGINT  NOT NULL REFERENCES workspaces (id),
    role         TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    secret_hash  TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    revoked_at   BIGINT 
);
