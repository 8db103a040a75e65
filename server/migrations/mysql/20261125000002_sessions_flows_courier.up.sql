CREATE TABLE sessions (
    id BINARY(16) PRIMARY KEY,
    identity_id BINARY(16) NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    token_hash VARCHAR(64) NOT NULL,
    logout_token_hash VARCHAR(64) NOT NULL,
    active BOOLEAN NOT NULL DEFAULT FALSE,
    aal VARCHAR(16) NOT NULL,
    authentication_methods LONGTEXT NOT NULL,
    issued_at DATETIME(6) NOT NULL,
    authenticated_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX sessions_token_hash_uq ON sessions (token_hash);
CREATE UNIQUE INDEX sessions_logout_token_hash_uq ON sessions (logout_token_hash);
CREATE INDEX sessions_identity_idx ON sessions (identity_id, created_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE session_devices (
    id BINARY(16) PRIMARY KEY,
    session_id BINARY(16) NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    ip_address VARCHAR(64) NULL,
    user_agent VARCHAR(512) NULL,
    location VARCHAR(512) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX session_devices_session_idx ON session_devices (session_id);

CREATE TABLE selfservice_flows (
    id BINARY(16) PRIMARY KEY,
    kind VARCHAR(32) NOT NULL,
    type VARCHAR(16) NOT NULL,
    state VARCHAR(64) NOT NULL,
    identity_id BINARY(16) NULL REFERENCES identities (id) ON DELETE CASCADE,
    session_id BINARY(16) NULL,
    csrf_token VARCHAR(255) NOT NULL,
    request_url LONGTEXT NOT NULL,
    return_to LONGTEXT NULL,
    data LONGTEXT NOT NULL,
    issued_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX selfservice_flows_expires_at_idx ON selfservice_flows (expires_at);
CREATE INDEX selfservice_flows_identity_idx ON selfservice_flows (identity_id);

CREATE TABLE selfservice_errors (
    id BINARY(16) PRIMARY KEY,
    error LONGTEXT NOT NULL,
    csrf_token VARCHAR(255) NOT NULL,
    seen_at DATETIME(6) NULL,
    was_seen BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE courier_messages (
    id BINARY(16) PRIMARY KEY,
    type VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    channel VARCHAR(64) NULL,
    recipient VARCHAR(400) NOT NULL,
    subject LONGTEXT NOT NULL,
    body LONGTEXT NOT NULL,
    template_type VARCHAR(64) NOT NULL,
    template_data LONGTEXT NOT NULL,
    send_count INTEGER NOT NULL DEFAULT 0,
    claimed_until DATETIME(6) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX courier_messages_status_idx ON courier_messages (status, created_at);
CREATE INDEX courier_messages_recipient_idx ON courier_messages (recipient);

CREATE TABLE courier_message_dispatches (
    id BINARY(16) PRIMARY KEY,
    message_id BINARY(16) NOT NULL REFERENCES courier_messages (id) ON DELETE CASCADE,
    status VARCHAR(16) NOT NULL,
    error LONGTEXT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX courier_message_dispatches_message_idx ON courier_message_dispatches (message_id, created_at);
