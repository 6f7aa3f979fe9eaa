-- Sluice metadata on PostgreSQL, version 1: the tables of the SQLite store (its migrations 1 and
-- 2) in PostgreSQL's types. Ids are 24 lowercase hex digits; times are milliseconds since the
-- epoch; JSON is kept as text, exactly as written.
CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    org_id      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Only what Digest verification needs: HA1 = H(user:realm:password) per algorithm, never the key.
CREATE TABLE api_keys (
    public_key  TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    roles       TEXT NOT NULL,
    ha1_md5     TEXT NOT NULL,
    ha1_sha256  TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- SCRAM credentials of API keys for the MongoDB wire protocol: salt, iterations, StoredKey and
-- ServerKey only, never the key.
CREATE TABLE api_key_scram (
    public_key  TEXT NOT NULL REFERENCES api_keys(public_key) ON DELETE CASCADE,
    mechanism   TEXT NOT NULL,
    salt        BYTEA NOT NULL,
    iterations  BIGINT NOT NULL,
    stored_key  BYTEA NOT NULL,
    server_key  BYTEA NOT NULL,
    PRIMARY KEY (public_key, mechanism)
);

-- Service accounts: the client secret is kept as a salted SHA-256 only.
CREATE TABLE service_accounts (
    client_id   TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    roles       TEXT NOT NULL,
    secret_salt TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE workspaces (
    id             TEXT PRIMARY KEY,
    group_id       TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    cloud_provider TEXT NOT NULL,
    region         TEXT NOT NULL,
    tier           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    UNIQUE (group_id, name)
);

-- `config` holds the type-specific fields as JSON, secrets sealed; the API redacts them.
CREATE TABLE connections (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    type         TEXT NOT NULL,
    config       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE processors (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    pipeline     TEXT NOT NULL,
    options      TEXT NOT NULL,
    tier         TEXT,
    state        TEXT NOT NULL,
    error_msg    TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, name)
);
CREATE INDEX processors_by_state ON processors (state);

-- Private link and VPC peering records: self-hosted Sluice keeps them as declared network resources.
CREATE TABLE network_resources (
    id         TEXT PRIMARY KEY,
    group_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    state      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Audit (who changed what) and operational (what processors did) log lines of a workspace.
CREATE TABLE log_events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    at_ms        BIGINT NOT NULL,
    line         TEXT NOT NULL
);
CREATE INDEX log_events_by_workspace ON log_events (workspace_id, kind, at_ms);
