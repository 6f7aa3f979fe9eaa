-- Sluice metadata on PostgreSQL, version 3: which node runs each processor.
--
-- A processor has a lease row once a node has run it: the node holding it, its epoch and when it
-- expires (milliseconds, the database's clock). Every acquisition bumps the epoch, and a released
-- lease keeps it (node_id '' and expires_at 0), so epochs only grow: a node that lost a lease can be
-- told its writes are stale.
CREATE TABLE leases (
    processor_id TEXT PRIMARY KEY REFERENCES processors(id) ON DELETE CASCADE,
    node_id      TEXT NOT NULL,
    epoch        BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX leases_by_node ON leases (node_id);

-- A node that is handing its processors over before it stops takes no new work.
ALTER TABLE nodes ADD COLUMN draining BOOLEAN NOT NULL DEFAULT FALSE;

-- The live statistics of each running processor, as its owner last published them (JSON), so
-- that every node can show them.
CREATE TABLE processor_stats (
    processor_id TEXT PRIMARY KEY REFERENCES processors(id) ON DELETE CASCADE,
    node_id      TEXT NOT NULL,
    at           BIGINT NOT NULL,
    stats        TEXT NOT NULL
);
