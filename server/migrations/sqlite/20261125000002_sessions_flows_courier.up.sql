CREATE TABLE sessions (
    id BLOB PRIMARY KEY,
    identity_id BLOB NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    logout_token_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    aal TEXT NOT NULL,
    authentication_methods TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    authenticated_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX sessions_token_hash_uq ON sessions (token_hash);
CREATE UNIQUE INDEX sessions_logout_token_hash_uq ON sessions (logout_token_hash);
CREATE INDEX sessions_identity_idx ON sessions (identity_id, created_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE session_devices (
    id BLOB PRIMARY KEY,
    session_id BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    ip_address TEXT NULL,
    user_agent TEXT NULL,
    location TEXT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX session_devices_session_idx ON session_devices (session_id);

CREATE TABLE selfservice_flows (
    id BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    type TEXT NOT NULL,
    state TEXT NOT NULL,
    identity_id BLOB NULL REFERENCES identities (id) ON DELETE CASCADE,
    session_id BLOB NULL,
    csrf_token TEXT NOT NULL,
    request_url TEXT NOT NULL,
    return_to TEXT NULL,
    data TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX selfservice_flows_expires_at_idx ON selfservice_flows (expires_at);
CREATE INDEX selfservice_flows_identity_idx ON selfservice_flows (identity_id);

CREATE TABLE selfservice_errors (
    id BLOB PRIMARY KEY,
    error TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    seen_at TEXT NULL,
    was_seen INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE courier_messages (
    id BLOB PRIMARY KEY,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    template_type TEXT NOT NULL,
    template_data TEXT NOT NULL,
    send_count INTEGER NOT NULL DEFAULT 0,
    claimed_until TEXT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX courier_messages_status_idx ON courier_messages (status, created_at);
CREATE INDEX courier_messages_recipient_idx ON courier_messages (recipient);

CREATE TABLE courier_message_dispatches (
    id BLOB PRIMARY KEY,
    message_id BLOB NOT NULL REFERENCES courier_messages (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    error TEXT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX courier_message_dispatches_message_idx ON courier_message_dispatches (message_id, created_at);
