-- Sluice metadata, version 2: SCRAM credentials of API keys for the MongoDB wire protocol
-- (RFC 5802 / 7677). Only the salt, the iteration count, StoredKey and ServerKey are kept, never
-- the key. Keys created before this migration have none and cannot use the wire protocol.
CREATE TABLE api_key_scram (
    public_key  TEXT NOT NULL REFERENCES api_keys(public_key) ON DELETE CASCADE,
    mechanism   TEXT NOT NULL,
    salt        BLOB NOT NULL,
    iterations  INTEGER NOT NULL,
    stored_key  BLOB NOT NULL,
    server_key  BLOB NOT NULL,
    PRIMARY KEY (public_key, mechanism)
);
