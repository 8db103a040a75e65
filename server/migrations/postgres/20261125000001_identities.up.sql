CREATE TABLE identities (
    id UUID PRIMARY KEY,
    schema_id VARCHAR(2048) NOT NULL,
    traits TEXT NOT NULL,
    state VARCHAR(32) NOT NULL DEFAULT 'active',
    state_changed_at TIMESTAMPTZ NULL,
    metadata_public TEXT NULL,
    metadata_admin TEXT NULL,
    external_id VARCHAR(255) NULL,
    organization_id UUID NULL,
    available_aal VARCHAR(16) NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX identities_external_id_uq ON identities (external_id);

CREATE TABLE identity_credentials (
    id UUID PRIMARY KEY,
    identity_id UUID NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    type VARCHAR(32) NOT NULL,
    config TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX identity_credentials_identity_type_uq ON identity_credentials (identity_id, type);

CREATE TABLE identity_credential_identifiers (
    id UUID PRIMARY KEY,
    identity_credential_id UUID NOT NULL REFERENCES identity_credentials (id) ON DELETE CASCADE,
    identity_id UUID NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    type VARCHAR(32) NOT NULL,
    identifier VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX identity_credential_identifiers_type_identifier_uq ON identity_credential_identifiers (type, identifier);
CREATE INDEX identity_credential_identifiers_identity_idx ON identity_credential_identifiers (identity_id);
CREATE INDEX identity_credential_identifiers_identifier_idx ON identity_credential_identifiers (identifier);

CREATE TABLE identity_verifiable_addresses (
    id UUID PRIMARY KEY,
    identity_id UUID NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    via VARCHAR(16) NOT NULL,
    value VARCHAR(400) NOT NULL,
    verified BOOLEAN NOT NULL DEFAULT FALSE,
    verified_at TIMESTAMPTZ NULL,
    status VARCHAR(16) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX identity_verifiable_addresses_via_value_uq ON identity_verifiable_addresses (via, value);
CREATE INDEX identity_verifiable_addresses_identity_idx ON identity_verifiable_addresses (identity_id);

CREATE TABLE identity_recovery_addresses (
    id UUID PRIMARY KEY,
    identity_id UUID NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    via VARCHAR(16) NOT NULL,
    value VARCHAR(400) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX identity_recovery_addresses_via_value_uq ON identity_recovery_addresses (via, value);
CREATE INDEX identity_recovery_addresses_identity_idx ON identity_recovery_addresses (identity_id);
