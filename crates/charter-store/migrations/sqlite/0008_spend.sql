-- Spend per agent and calendar month (UTC), from the runs closed so far:
-- priced cost, tokens, tokens without a price, runs. Derived from the run
-- records (each an audit event) as they close; budgets read it.
CREATE TABLE spend (
    workspace_id    INTEGER NOT NULL REFERENCES workspaces (id),
    month           TEXT    NOT NULL,
    agent_id        TEXT    NOT NULL,
    usd             REAL    NOT NULL,
    tokens          INTEGER NOT NULL,
    unpriced_tokens INTEGER NOT NULL,
    runs            INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, month, agent_id)
) WITHOUT ROWID;
