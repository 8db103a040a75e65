-- One-time secrets of recovery and verification: codes and link tokens, stored as HMACs.
CREATE TABLE selfservice_one_time_secrets (
    id BLOB PRIMARY KEY,
    purpose TEXT NOT NULL,
    flow_id BLOB NOT NULL REFERENCES selfservice_flows (id) ON DELETE CASCADE,
    identity_id BLOB NULL REFERENCES identities (id) ON DELETE CASCADE,
    address_via TEXT NULL,
    address_value TEXT NULL,
    issued_by_admin INTEGER NOT NULL DEFAULT 0,
    hmac TEXT NOT NULL,
    used_at TEXT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX selfservice_one_time_secrets_flow_idx ON selfservice_one_time_secrets (flow_id, purpose);
CREATE INDEX selfservice_one_time_secrets_identity_idx ON selfservice_one_time_secrets (identity_id);

-- Wrong codes submitted to a flow, counted apart from the flow's JSON so concurrent
-- submissions cannot overwrite each other's increments.
ALTER TABLE selfservice_flows ADD COLUMN submit_count INTEGER NOT NULL DEFAULT 0;
