-- Seals of ledger segments: what one full reading of the entries
-- 65,536·segment .. 65,536·(segment+1) established (their subtree hash,
-- and per day what their decisions show), signed with the ledger key.
-- A cache certification keeps so that it reads each sealed segment again
-- only when its seal is old: deleting a seal costs time, never evidence.
CREATE TABLE ledger_seals (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    segment      INTEGER NOT NULL,
    body         TEXT   NOT NULL,
    PRIMARY KEY (workspace_id, segment)
);
