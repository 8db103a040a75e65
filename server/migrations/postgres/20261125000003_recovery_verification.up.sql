-- One-time secrets of recovery and verification: codes and link tokens, stored as HMACs.
CREATE TABLE selfservice_one_time_secrets (
    id UUID PRIMARY KEY,
    purpose VARCHAR(32) NOT NULL,
    flow_id UUID NOT NULL REFERENCES selfservice_flows (id) ON DELETE CASCADE,
    identity_id UUID NULL REFERENCES identities (id) ON DELETE CASCADE,
    address_via VARCHAR(16) NULL,
    address_value VARCHAR(400) NULL,
    issued_by_admin BOOLEAN NOT NULL DEFAULT FALSE,
    hmac VARCHAR(128) NOT NULL,
    used_at TIMESTAMPTZ NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX selfservice_one_time_secrets_flow_idx ON selfservice_one_time_secrets (flow_id, purpose);
CREATE INDEX selfservice_one_time_secrets_identity_idx ON selfservice_one_time_secrets (identity_id);

-- Wrong codes submitted to a flow, counted apart from the flow's JSON so concurrent
-- submissions cannot overwrite each other's increments.
ALTER TABLE selfservice_flows ADD COLUMN submit_count INTEGER NOT NULL DEFAULT 0;
