-- The ledger: each workspace's audit events are the leaves of an RFC 6962
-- Merkle tree. Its hashes are stored in tiles (see charter-ledger): a tile of
-- tile-level `level` holds up to 256 node hashes (32 bytes each) of tree level
-- 8 x level, from node 256 x idx on.
CREATE TABLE ledger_tiles (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    level        INTEGER NOT NULL,
    idx          INTEGER NOT NULL,
    hashes       BLOB    NOT NULL,
    PRIMARY KEY (workspace_id, level, idx)
) WITHOUT ROWID;

-- Signed checkpoints (C2SP tlog-checkpoint bodies in signed notes), kept.
CREATE TABLE ledger_checkpoints (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    size         INTEGER NOT NULL,
    root         BLOB    NOT NULL,
    note         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, size)
) WITHOUT ROWID;
