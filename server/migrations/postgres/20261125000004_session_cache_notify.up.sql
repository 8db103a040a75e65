-- Change notifications for the whoami session caches of every replica (kratos_rs.session_cache):
-- a changed or deleted session sends `s:<session id>`, a changed or deleted identity (or one of its
-- addresses) sends `i:<identity id>` on the channel kratos_rs_session_cache.
CREATE FUNCTION kratos_rs_notify_session_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('kratos_rs_session_cache', 's:' || OLD.id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION kratos_rs_notify_identity_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('kratos_rs_session_cache', 'i:' || OLD.id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION kratos_rs_notify_address_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('kratos_rs_session_cache', 'i:' || NEW.identity_id::text);
    ELSE
        PERFORM pg_notify('kratos_rs_session_cache', 'i:' || OLD.identity_id::text);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_notify_session_cache AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION kratos_rs_notify_session_changed();
CREATE TRIGGER identities_notify_session_cache AFTER UPDATE OR DELETE ON identities
    FOR EACH ROW EXECUTE FUNCTION kratos_rs_notify_identity_changed();
CREATE TRIGGER verifiable_addresses_notify_session_cache
    AFTER INSERT OR UPDATE OR DELETE ON identity_verifiable_addresses
    FOR EACH ROW EXECUTE FUNCTION kratos_rs_notify_address_changed();
CREATE TRIGGER recovery_addresses_notify_session_cache
    AFTER INSERT OR UPDATE OR DELETE ON identity_recovery_addresses
    FOR EACH ROW EXECUTE FUNCTION kratos_rs_notify_address_changed();
