-- Agent telemetry. A span is kept as Charter read it (`body`: the canonical
-- JSON of a `charter_observe::Span`); spans are evidence, not registry
-- records: the run they close into is an audit event that carries the
-- SHA-256 of its spans. `agent_id` is '' while no span of the trace has
-- named its agent yet (a child span exported before its root), and is the
-- column to trust over the body's. A trace's spans of one agent make its
-- run (`RUN-<trace>-<agent>`).
CREATE TABLE spans (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    trace_id     TEXT COLLATE "C" NOT NULL,
    span_id      TEXT COLLATE "C" NOT NULL,
    agent_id     TEXT COLLATE "C" NOT NULL,
    received_at  BIGINT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (workspace_id, trace_id, span_id)
);

-- Events of one kind over a time range: the runs closed in a window (health)
-- and the decisions made while a run lasted (its guardrail hits).
CREATE INDEX audit_events_kind_at ON audit_events (workspace_id, kind, at);
