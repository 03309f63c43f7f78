-- Sessions of the web console: a token's holder signs in once and gets an
-- opaque session id in a cookie; stored only as the SHA-256 of that id,
-- like tokens. A session lives no longer than its token (revoking or
-- expiring the token ends it), and ends when it expires or is revoked.
CREATE TABLE console_sessions (
    id           TEXT   PRIMARY KEY,
    secret_hash  TEXT   NOT NULL UNIQUE,
    token_id     TEXT   NOT NULL REFERENCES api_tokens (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
