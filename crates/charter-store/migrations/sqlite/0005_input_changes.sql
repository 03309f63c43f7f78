-- For each version of a workspace's policy inputs, the decision-point
-- entities its writes may have changed (`*` when a policy or grant
-- changed): a decision made on an older version is still logged when it
-- read none of them.
CREATE TABLE input_changes (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    version      INTEGER NOT NULL,
    entity_type  TEXT    NOT NULL,
    entity_id    TEXT    NOT NULL,
    PRIMARY KEY (workspace_id, version, entity_type, entity_id)
) WITHOUT ROWID;
