-- Spend per agent and calendar month (UTC), from the runs closed so far:
-- priced cost, tokens, tokens without a price, runs. Derived from the run
-- records (each an audit event) as they close; budgets read it.
CREATE TABLE spend (
    workspace_id    BIGINT NOT NULL REFERENCES workspaces (id),
    month           TEXT COLLATE "C" NOT NULL,
    agent_id        TEXT COLLATE "C" NOT NULL,
    usd             DOUBLE PRECISION NOT NULL,
    tokens          BIGINT NOT NULL,
    unpriced_tokens BIGINT NOT NULL,
    runs            BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, month, agent_id)
);
