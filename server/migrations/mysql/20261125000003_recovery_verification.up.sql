-- One-time secrets of recovery and verification: codes and link tokens, stored as HMACs.
CREATE TABLE selfservice_one_time_secrets (
    id BINARY(16) PRIMARY KEY,
    purpose VARCHAR(32) NOT NULL,
    flow_id BINARY(16) NOT NULL REFERENCES selfservice_flows (id) ON DELETE CASCADE,
    identity_id BINARY(16) NULL REFERENCES identities (id) ON DELETE CASCADE,
    address_via VARCHAR(16) NULL,
    address_value VARCHAR(400) NULL,
    issued_by_admin BOOLEAN NOT NULL DEFAULT FALSE,
    hmac VARCHAR(128) NOT NULL,
    used_at DATETIME(6) NULL,
    issued_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX selfservice_one_time_secrets_flow_idx ON selfservice_one_time_secrets (flow_id, purpose);
CREATE INDEX selfservice_one_time_secrets_identity_idx ON selfservice_one_time_secrets (identity_id);

-- Wrong codes submitted to a flow, counted apart from the flow's JSON so concurrent
-- submissions cannot overwrite each other's increments.
ALTER TABLE selfservice_flows ADD COLUMN submit_count INTEGER NOT NULL DEFAULT 0;
