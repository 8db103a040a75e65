CREATE TABLE sessions (
    id UUID PRIMARY KEY,
    identity_id UUID NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    token_hash VARCHAR(64) NOT NULL,
    logout_token_hash VARCHAR(64) NOT NULL,
    active BOOLEAN NOT NULL DEFAULT FALSE,
    aal VARCHAR(16) NOT NULL,
    authentication_methods TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    authenticated_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX sessions_token_hash_uq ON sessions (token_hash);
CREATE UNIQUE INDEX sessions_logout_token_hash_uq ON sessions (logout_token_hash);
CREATE INDEX sessions_identity_idx ON sessions (identity_id, created_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE session_devices (
    id UUID PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    ip_address VARCHAR(64) NULL,
    user_agent VARCHAR(512) NULL,
    location VARCHAR(512) NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX session_devices_session_idx ON session_devices (session_id);

CREATE TABLE selfservice_flows (
    id UUID PRIMARY KEY,
    kind VARCHAR(32) NOT NULL,
    type VARCHAR(16) NOT NULL,
    state VARCHAR(64) NOT NULL,
    identity_id UUID NULL REFERENCES identities (id) ON DELETE CASCADE,
    session_id UUID NULL,
    csrf_token VARCHAR(255) NOT NULL,
    request_url TEXT NOT NULL,
    return_to TEXT NULL,
    data TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX selfservice_flows_expires_at_idx ON selfservice_flows (expires_at);
CREATE INDEX selfservice_flows_identity_idx ON selfservice_flows (identity_id);

CREATE TABLE selfservice_errors (
    id UUID PRIMARY KEY,
    error TEXT NOT NULL,
    csrf_token VARCHAR(255) NOT NULL,
    seen_at TIMESTAMPTZ NULL,
    was_seen BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE courier_messages (
    id UUID PRIMARY KEY,
    type VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    channel VARCHAR(64) NULL,
    recipient VARCHAR(400) NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    template_type VARCHAR(64) NOT NULL,
    template_data TEXT NOT NULL,
    send_count INTEGER NOT NULL DEFAULT 0,
    claimed_until TIMESTAMPTZ NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX courier_messages_status_idx ON courier_messages (status, created_at);
CREATE INDEX courier_messages_recipient_idx ON courier_messages (recipient);

CREATE TABLE courier_message_dispatches (
    id UUID PRIMARY KEY,
    message_id UUID NOT NULL REFERENCES courier_messages (id) ON DELETE CASCADE,
    status VARCHAR(16) NOT NULL,
    error TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX courier_message_dispatches_message_idx ON courier_message_dispatches (message_id, created_at);
