-- Sluice metadata on PostgreSQL, version 2: the servers sharing this database. Each writes its
-- row when it starts and refreshes `last_heartbeat` while it runs.
CREATE TABLE nodes (
    id             TEXT PRIMARY KEY,
    address        TEXT NOT NULL,
    started_at     BIGINT NOT NULL,
    last_heartbeat BIGINT NOT NULL
);
