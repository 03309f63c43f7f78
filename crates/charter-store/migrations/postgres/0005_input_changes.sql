-- For each version of a workspace's policy inputs, the decision-point
-- entities its writes may have changed (`*` when a policy or grant
-- changed): a decision made on an older version is still logged when it
-- read none of them.
CREATE TABLE input_changes (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    version      BIGINT NOT NULL,
    entity_type  TEXT COLLATE "C" NOT NULL,
    entity_id    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, version, entity_type, entity_id)
);
