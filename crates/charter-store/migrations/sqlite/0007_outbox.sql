-- Pages to deliver, written in the same transaction as the alert or the
-- incident they are about, so none is lost and none sent for a change that
-- did not commit. Delivered in order per receiver (by id), retried with
-- backoff; `dedup_key` is the same for every page about one alert, so a
-- page sent again after a crash is one page at the receiver.
CREATE TABLE outbox (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    id           INTEGER NOT NULL,
    receiver     TEXT NOT NULL,
    url          TEXT NOT NULL,
    dedup_key    TEXT NOT NULL,
    action       TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    next_at      INTEGER NOT NULL,
    delivered_at INTEGER,
    last_error   TEXT,
    PRIMARY KEY (workspace_id, id)
);

CREATE INDEX outbox_pending ON outbox (delivered_at, workspace_id, receiver, id);

-- Every delivery attempt and its outcome.
CREATE TABLE outbox_attempts (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    outbox_id    INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    outcome      TEXT NOT NULL,
    PRIMARY KEY (workspace_id, outbox_id, attempt)
);

-- Spans refused at ingest, counted per day and reason (never dropped
-- silently), with the tokens they carried: spend no registered agent
-- explains.
CREATE TABLE span_rejections (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    day          TEXT NOT NULL,
    reason       TEXT NOT NULL,
    spans        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, reason)
);
