-- Pages to deliver, written in the same transaction as the alert or the
-- incident they are about, so none is lost and none sent for a change that
-- did not commit. Delivered in order per receiver (by id), retried with
-- backoff; `dedup_key` is the same for every page about one alert, so a
-- page sent again after a crash is one page at the receiver.
CREATE TABLE outbox (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    id           BIGINT NOT NULL,
    receiver     TEXT COLLATE "C" NOT NULL,
    url          TEXT NOT NULL,
    dedup_key    TEXT COLLATE "C" NOT NULL,
    action       TEXT COLLATE "C" NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    attempts     BIGINT NOT NULL,
    next_at      BIGINT NOT NULL,
    delivered_at BIGINT,
    last_error   TEXT,
    PRIMARY KEY (workspace_id, id)
);

CREATE INDEX outbox_pending ON outbox (delivered_at, workspace_id, receiver, id);

-- Every delivery attempt and its outcome.
CREATE TABLE outbox_attempts (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    outbox_id    BIGINT NOT NULL,
    attempt      BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    outcome      TEXT NOT NULL,
    PRIMARY KEY (workspace_id, outbox_id, attempt)
);

-- Spans refused at ingest, counted per day and reason (never dropped
-- silently), with the tokens they carried: spend no registered agent
-- explains.
CREATE TABLE span_rejections (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    day          TEXT COLLATE "C" NOT NULL,
    reason       TEXT COLLATE "C" NOT NULL,
    spans        BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, day, reason)
);
