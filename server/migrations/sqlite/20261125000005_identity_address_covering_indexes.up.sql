-- The addresses of a page of identities in one index range: SQLite's tables are ordered by
-- rowid (insertion), so with random identity ids every identity's addresses sat on a page of
-- their own, and listing identities slowed down as the table grew (1M vs 10k: about 20%). The
-- indexes hold every column the identity loads read, and replace the identity_id indexes.
CREATE INDEX identity_verifiable_addresses_identity_covering_idx ON identity_verifiable_addresses
    (identity_id, id, via, value, verified, verified_at, status, created_at, updated_at);
DROP INDEX identity_verifiable_addresses_identity_idx;
CREATE INDEX identity_recovery_addresses_identity_covering_idx ON identity_recovery_addresses
    (identity_id, id, via, value, created_at, updated_at);
DROP INDEX identity_recovery_addresses_identity_idx;
