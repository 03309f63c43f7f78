-- The ledger: each workspace's audit events are the leaves of an RFC 6962
-- Merkle tree. Its hashes are stored in tiles (see charter-ledger): a tile of
-- tile-level `level` holds up to 256 node hashes (32 bytes each) of tree level
-- 8 x level, from node 256 x idx on.
CREATE TABLE ledger_tiles (
    workspace_id BIGINT  NOT NULL REFERENCES workspaces (id),
    level        BIGINT  NOT NULL,
    idx          BIGINT  NOT NULL,
    hashes       BYTEA   NOT NULL,
    PRIMARY KEY (workspace_id, level, idx)
);

-- Signed checkpoints (C2SP tlog-checkpoint bodies in signed notes), kept.
CREATE TABLE ledger_checkpoints (
    workspace_id BIGINT  NOT NULL REFERENCES workspaces (id),
    size         BIGINT  NOT NULL,
    root         BYTEA   NOT NULL,
    note         TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (workspace_id, size)
);
