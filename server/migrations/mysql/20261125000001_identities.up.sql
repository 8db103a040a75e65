CREATE TABLE identities (
    id BINARY(16) PRIMARY KEY,
    schema_id VARCHAR(2048) NOT NULL,
    traits LONGTEXT NOT NULL,
    state VARCHAR(32) NOT NULL DEFAULT 'active',
    state_changed_at DATETIME(6) NULL,
    metadata_public LONGTEXT NULL,
    metadata_admin LONGTEXT NULL,
    external_id VARCHAR(255) NULL,
    organization_id BINARY(16) NULL,
    available_aal VARCHAR(16) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX identities_external_id_uq ON identities (external_id);

CREATE TABLE identity_credentials (
    id BINARY(16) PRIMARY KEY,
    identity_id BINARY(16) NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    type VARCHAR(32) NOT NULL,
    config LONGTEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX identity_credentials_identity_type_uq ON identity_credentials (identity_id, type);

CREATE TABLE identity_credential_identifiers (
    id BINARY(16) PRIMARY KEY,
    identity_credential_id BINARY(16) NOT NULL REFERENCES identity_credentials (id) ON DELETE CASCADE,
    identity_id BINARY(16) NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    type VARCHAR(32) NOT NULL,
    identifier VARCHAR(255) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX identity_credential_identifiers_type_identifier_uq ON identity_credential_identifiers (type, identifier);
CREATE INDEX identity_credential_identifiers_identity_idx ON identity_credential_identifiers (identity_id);
CREATE INDEX identity_credential_identifiers_identifier_idx ON identity_credential_identifiers (identifier);

CREATE TABLE identity_verifiable_addresses (
    id BINARY(16) PRIMARY KEY,
    identity_id BINARY(16) NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    via VARCHAR(16) NOT NULL,
    value VARCHAR(400) NOT NULL,
    verified BOOLEAN NOT NULL DEFAULT FALSE,
    verified_at DATETIME(6) NULL,
    status VARCHAR(16) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX identity_verifiable_addresses_via_value_uq ON identity_verifiable_addresses (via, value);
CREATE INDEX identity_verifiable_addresses_identity_idx ON identity_verifiable_addresses (identity_id);

CREATE TABLE identity_recovery_addresses (
    id BINARY(16) PRIMARY KEY,
    identity_id BINARY(16) NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    via VARCHAR(16) NOT NULL,
    value VARCHAR(400) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX identity_recovery_addresses_via_value_uq ON identity_recovery_addresses (via, value);
CREATE INDEX identity_recovery_addresses_identity_idx ON identity_recovery_addresses (identity_id);
