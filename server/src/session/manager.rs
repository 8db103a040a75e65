//! Issuing, finding and revoking sessions; the session cookie and token formats.
//!
//! Tokens (`ory_st_…`) and logout tokens (`ory_lo_…`) are 32 random alphanumerics; only their
//! SHA-256 is stored. The session cookie carries the token with an HMAC under the cookie secret,
//! so forged cookies are refused without touching the database.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use rand::RngExt;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::cache::CachedSession;
use super::model::{Aal, AuthenticationMethod, Device, Session, assurance_level};
use crate::app::App;
use crate::config::RequiredAal;
use crate::error::{ApiError, Result};
use crate::http::Request;
use crate::http::cookie::{Cookie, SameSite};
use crate::identity::{CredentialsType, Identity};
use crate::persistence::identities::{self, Expand};
use crate::persistence::sessions;

pub const SESSION_TOKEN_PREFIX: &str = "ory_st_";
pub const LOGOUT_TOKEN_PREFIX: &str = "ory_lo_";

/// A session just created, with the secrets that exist only now (they are stored hashed).
pub struct IssuedSession {
    pub session: Session,
    pub token: String,
    pub logout_token: String,
}

pub fn random_token(prefix: &str) -> String {
    let suffix: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("{prefix}{suffix}")
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The logout token of a session: derived from its id with the default secret, so it can be shown
/// again (`/self-service/logout/browser`) without being stored anywhere in plaintext.
pub fn logout_token(app: &App, session_id: Uuid) -> String {
    let cfg = app.config();
    let secret = cfg
        .secrets
        .default
        .first()
        .map(String::as_str)
        .unwrap_or("");
    logout_token_with(secret, session_id)
}

fn logout_token_with(secret: &str, session_id: Uuid) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mac = cookie_mac(secret, &format!("logout:{session_id}")).unwrap_or_default();
    let suffix: String = mac
        .iter()
        .take(32)
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    format!("{LOGOUT_TOKEN_PREFIX}{suffix}")
}

/// Whether `token` is the logout token of the session, under any configured secret (rotation).
pub fn verify_logout_token(app: &App, session_id: Uuid, token: &str) -> bool {
    let cfg = app.config();
    cfg.secrets.default.iter().any(|secret| {
        let expected = logout_token_with(secret, session_id);
        subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), token.as_bytes()).into()
    })
}

/// The error whoami and every authenticated endpoint return without a valid session.
pub fn no_active_session() -> ApiError {
    ApiError::unauthorized()
        .with_id("session_inactive")
        .with_reason("No active session was found in this request.")
        .with_message("request does not have a valid authentication session")
}

/// Creates and stores an active session for `identity` after the given authentication methods,
/// and, for the flow it `completes`, that flow as it stands, in the same write.
pub async fn issue(
    app: &App,
    identity: &Identity,
    methods: Vec<AuthenticationMethod>,
    req: &Request,
    completes: Option<&crate::selfservice::flow::Flow>,
) -> Result<IssuedSession> {
    let cfg = app.config();
    let now = crate::persistence::now();
    let lifespan =
        chrono::Duration::from_std(cfg.session.lifespan).unwrap_or(chrono::Duration::days(1));
    let mut session = Session {
        id: Uuid::new_v4(),
        active: true,
        expires_at: now + lifespan,
        authenticated_at: now,
        authenticator_assurance_level: assurance_level(&methods),
        authentication_methods: methods,
        issued_at: now,
        identity: Some(identity.clone()),
        devices: vec![device_of(req)],
        identity_id: identity.id,
    };
    let token = random_token(SESSION_TOKEN_PREFIX);
    let logout_token = logout_token(app, session.id);
    sessions::insert(
        &app.db,
        &session,
        &hash_token(&token),
        &hash_token(&logout_token),
        completes,
    )
    .await?;
    session.authenticator_assurance_level = assurance_level(&session.authentication_methods);
    Ok(IssuedSession {
        session,
        token,
        logout_token,
    })
}

/// The device a request comes from (IP, user agent, and Cloudflare's location headers).
pub fn device_of(req: &Request) -> Device {
    let location = [req.header("cf-ipcity"), req.header("cf-ipcountry")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    Device {
        id: Uuid::new_v4(),
        ip_address: req.client_ip(),
        user_agent: req.user_agent().map(str::to_string),
        location: Some(location),
    }
}

fn cookie_mac(secret: &str, token: &str) -> Option<Vec<u8>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(token.as_bytes());
    Some(mac.finalize().into_bytes().to_vec())
}

/// How a request presents its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `X-Session-Token` or `Authorization: Bearer`.
    Token(String),
    /// The session cookie, with the session expiry it was issued for (unix microseconds; `None`
    /// in cookies that do not carry one).
    Cookie {
        token: String,
        expires_at: Option<i64>,
    },
}

impl Credential {
    pub fn token(&self) -> &str {
        match self {
            Credential::Token(token) | Credential::Cookie { token, .. } => token,
        }
    }

    /// Whether the session cookie must be issued again for a session expiring at `expires_at`:
    /// like Kratos, only when the cookie was issued for an earlier expiry (an extended session)
    /// or does not say, never for a token.
    pub fn cookie_outdated(&self, expires_at: chrono::DateTime<chrono::Utc>) -> bool {
        match self {
            Credential::Token(_) => false,
            Credential::Cookie { expires_at: at, .. } => {
                at.is_none_or(|at| at < cookie_expiry(expires_at))
            }
        }
    }
}

/// Where the request carries a session token: `X-Session-Token`, the session cookie, or
/// `Authorization: Bearer`, in Kratos's order.
pub fn credential_from_request(app: &App, req: &Request) -> Option<Credential> {
    if let Some(token) = req.header("x-session-token").filter(|t| !t.is_empty()) {
        return Some(Credential::Token(token.to_string()));
    }
    let cfg = app.config();
    if let Some(value) = req.cookie(&cfg.session.cookie.name)
        && let Some(credential) = verify_cookie_value(cfg.cookie_secrets(), value)
    {
        return Some(credential);
    }
    bearer_token(req).map(Credential::Token)
}

/// The session token of the request, however it is carried.
pub fn token_from_request(app: &App, req: &Request) -> Option<String> {
    credential_from_request(app, req).map(|c| c.token().to_string())
}

pub fn bearer_token(req: &Request) -> Option<String> {
    let auth = req.header("authorization")?;
    let (scheme, token) = auth.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_string())
}

/// A session expiry as the cookie carries it: unix microseconds (the databases' precision),
/// rounded up so that the cookie of a session never looks older than the session read back.
fn cookie_expiry(expires_at: chrono::DateTime<chrono::Utc>) -> i64 {
    let below_a_micro = !expires_at.timestamp_subsec_nanos().is_multiple_of(1000);
    expires_at.timestamp_micros() + i64::from(below_a_micro)
}

/// Checks a cookie value `<token>.<expiry>.<mac>` (or `<token>.<mac>`, without the expiry) against
/// every cookie secret (rotation); the MAC covers everything before it.
fn verify_cookie_value(secrets: &[String], value: &str) -> Option<Credential> {
    let (signed, sig) = value.rsplit_once('.')?;
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    let authentic = secrets.iter().any(|secret| {
        cookie_mac(secret, signed).is_some_and(|expected| {
            subtle::ConstantTimeEq::ct_eq(expected.as_slice(), sig.as_slice()).into()
        })
    });
    if !authentic {
        return None;
    }
    // Tokens never contain a dot.
    match signed.split_once('.') {
        None => Some(Credential::Cookie {
            token: signed.to_string(),
            expires_at: None,
        }),
        Some((token, expiry)) => Some(Credential::Cookie {
            token: token.to_string(),
            expires_at: Some(expiry.parse().ok()?),
        }),
    }
}

/// The session cookie for `token`, with the configured attributes; it carries the session's
/// expiry so that whoami knows when it must be issued again.
pub fn session_cookie(app: &App, token: &str, expires_at: chrono::DateTime<chrono::Utc>) -> Cookie {
    let cfg = app.config();
    let secret = cfg
        .cookie_secrets()
        .first()
        .map(String::as_str)
        .unwrap_or("");
    let value = if token.is_empty() {
        String::new()
    } else {
        let signed = format!("{token}.{}", cookie_expiry(expires_at));
        let sig = cookie_mac(secret, &signed)
            .map(|m| URL_SAFE_NO_PAD.encode(m))
            .unwrap_or_default();
        format!("{signed}.{sig}")
    };
    let mut cookie = Cookie::new(cfg.session.cookie.name.clone(), value);
    cookie.path = cfg.session_cookie_path().to_string();
    cookie.domain = cfg.session_cookie_domain().map(str::to_string);
    cookie.secure = cfg.session_cookie_secure();
    cookie.same_site = Some(cfg.session_cookie_same_site());
    if cookie.same_site == Some(SameSite::None) && !cookie.secure {
        // Browsers refuse SameSite=None without Secure; fall back as Kratos does in dev mode.
        cookie.same_site = Some(SameSite::Lax);
    }
    if cfg.session.cookie.persistent {
        cookie.max_age = Some((expires_at - chrono::Utc::now()).num_seconds().max(1));
    }
    cookie
}

/// A cookie that deletes the session cookie.
pub fn removal_cookie(app: &App) -> Cookie {
    session_cookie(app, "", chrono::Utc::now()).removal()
}

/// The active session of the request with its identity, or 401 `session_inactive`.
pub async fn from_request(app: &App, req: &Request) -> Result<Session> {
    let token = token_from_request(app, req).ok_or_else(no_active_session)?;
    from_token(app, &token)
        .await?
        .ok_or_else(|| no_active_session().into())
}

/// The request's active session, or `None` without one (no credentials, or inactive ones).
/// Database errors propagate.
pub async fn optional_from_request(app: &App, req: &Request) -> Result<Option<Session>> {
    match token_from_request(app, req) {
        Some(token) => from_token(app, &token).await,
        None => Ok(None),
    }
}

/// Revokes every session of an identity but `except`, and drops them from this replica's
/// session cache (other replicas are told by the database, or expire them by TTL). Returns how
/// many were revoked.
pub async fn revoke_all_of_identity(
    app: &App,
    identity_id: Uuid,
    except: Option<Uuid>,
) -> Result<u64> {
    let mut c = app.db.conn().await?;
    let count = sessions::revoke_all_of_identity(c.conn(), identity_id, except).await?;
    app.session_cache.invalidate_identity(identity_id);
    Ok(count)
}

/// The active session for a token, with its identity (addresses and credentials loaded).
pub async fn from_token(app: &App, token: &str) -> Result<Option<Session>> {
    let mut c = app.db.conn().await?;
    let Some(mut session) = sessions::find_by_token_hash(c.conn(), &hash_token(token)).await?
    else {
        return Ok(None);
    };
    session.identity = identities::find(c.conn(), session.identity_id, Expand::EVERYTHING).await?;
    Ok(session.is_active().then_some(session))
}

/// The active session of a token for whoami: from the session cache when fresh there, else read
/// from the database (two round trips; a third only for identities stored without their available
/// AAL) and cached with its serialised response. A hit past half its lifetime is reloaded in the
/// background.
pub async fn whoami_session(app: &App, token: &str) -> Result<Option<Arc<CachedSession>>> {
    let hash = hash_token(token);
    let cfg = app.config();
    let settings = &cfg.kratos_rs.session_cache;
    if settings.enabled
        && let Some(hit) = app.session_cache.get(&hash, settings)
    {
        if app.session_cache.due_for_refresh(&hit, settings) {
            let app = app.clone();
            tokio::spawn(async move {
                match load_whoami_session(&app, hash.clone()).await {
                    // Revoked or expired meanwhile: refused from now on.
                    Ok(None) => app.session_cache.invalidate_token_hash(&hash),
                    Ok(Some(_)) => {}
                    // The entry expires as usual; the next miss reports the error.
                    Err(err) => tracing::debug!(error = %err, "session cache: reload failed"),
                }
            });
        }
        return Ok(Some(hit));
    }
    load_whoami_session(app, hash).await
}

/// Reads the active session of a token hash for whoami and caches it.
async fn load_whoami_session(app: &App, hash: String) -> Result<Option<Arc<CachedSession>>> {
    let cfg = app.config();
    let settings = &cfg.kratos_rs.session_cache;
    let read = app.session_cache.read_mark();
    let mut c = app.db.conn().await?;
    let Some(mut session) = sessions::find_for_whoami(c.conn(), &hash).await? else {
        return Ok(None);
    };
    if !session.is_active() {
        return Ok(None);
    }
    if let Some(identity) = session.identity.as_mut()
        && identity.available_aal.is_none()
    {
        // The AAL check then looks at the credentials themselves.
        identities::load_credentials(c.conn(), identity).await?;
    }
    drop(c);
    let body = Bytes::from(serde_json::to_vec(&session.clone().for_client())?);
    let entry = Arc::new(CachedSession::new(session, body, read));
    if settings.enabled {
        app.session_cache
            .insert(hash, entry.clone(), read, settings);
    }
    Ok(Some(entry))
}

/// Whether the identity has a second factor: its stored available AAL (kept current on every
/// save, as Kratos's), or its credentials where that is unknown.
fn identity_has_second_factor(identity: &Identity) -> bool {
    match identity.available_aal.as_deref() {
        Some(aal) if identity.credentials.is_empty() => aal == Aal::Aal2.as_str(),
        _ => has_second_factor(identity),
    }
}

/// Credentials that count as a second factor when Kratos computes the highest available AAL.
fn has_second_factor(identity: &Identity) -> bool {
    identity.credentials.iter().any(|(kind, cred)| match kind {
        CredentialsType::Totp | CredentialsType::LookupSecret => true,
        CredentialsType::Webauthn => {
            // WebAuthn keys registered for passwordless login are first factors.
            cred.config
                .as_ref()
                .and_then(|c| c.get("credentials"))
                .and_then(|c| c.as_array())
                .is_some_and(|keys| {
                    keys.iter().any(|k| {
                        !k.get("is_passwordless")
                            .and_then(|p| p.as_bool())
                            .unwrap_or(false)
                    })
                })
        }
        _ => false,
    })
}

/// Checks the session against a required AAL (`aal1` or `highest_available`); on failure a 403
/// `session_aal2_required` with the login URL to step up.
pub fn check_aal(
    app: &App,
    session: &Session,
    required: RequiredAal,
    return_to: Option<&str>,
) -> Result<()> {
    if session.authenticator_assurance_level >= Aal::Aal2 {
        return Ok(());
    }
    let satisfied = match required {
        RequiredAal::Aal1 => session.authenticator_assurance_level >= Aal::Aal1,
        RequiredAal::HighestAvailable => session
            .identity
            .as_ref()
            .is_none_or(|i| !identity_has_second_factor(i)),
    };
    if satisfied {
        return Ok(());
    }
    let mut login = app.config().public_base_url();
    login.set_path(&format!(
        "{}self-service/login/browser",
        app.config().public_base_url().path()
    ));
    login.query_pairs_mut().append_pair("aal", "aal2");
    if let Some(rt) = return_to {
        login.query_pairs_mut().append_pair("return_to", rt);
    }
    Err(ApiError::forbidden()
        .with_id("session_aal2_required")
        .with_reason("An active session was found but it does not fulfill the Authenticator Assurance Level, implying that the session must first be upgraded to a higher Authenticator Assurance Level using the login flow.")
        .with_message("Session does not fulfill the requested Authenticator Assurance Level")
        .with_envelope("redirect_browser_to", login.to_string())
        .into())
}

/// Revokes the session the request carries (logout); returns whether one was revoked.
pub async fn revoke_token(app: &App, token: &str) -> Result<bool> {
    let hash = hash_token(token);
    let mut c = app.db.conn().await?;
    let revoked = sessions::revoke_by_token_hash(c.conn(), &hash).await?;
    app.session_cache.invalidate_token_hash(&hash);
    Ok(revoked)
}

/// Whether `earliest_possible_extend` allows extending now.
pub fn can_be_extended(app: &App, session: &Session) -> bool {
    let window = chrono::Duration::from_std(app.config().session_earliest_possible_extend())
        .unwrap_or(chrono::Duration::zero());
    session.expires_at - window <= chrono::Utc::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_kratos_prefixes_and_entropy() {
        let a = random_token(SESSION_TOKEN_PREFIX);
        let b = random_token(SESSION_TOKEN_PREFIX);
        assert!(a.starts_with("ory_st_") && a.len() == 39);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a).len(), 64);
    }

    #[test]
    fn cookie_values_are_signed() {
        let secrets = vec!["s3cr3t-s3cr3t-s3cr3t".to_string()];
        let token = random_token(SESSION_TOKEN_PREFIX);
        let sign = |signed: &str| URL_SAFE_NO_PAD.encode(cookie_mac(&secrets[0], signed).unwrap());
        let cookie = |token: &str, expires_at| Credential::Cookie {
            token: token.to_string(),
            expires_at,
        };

        let sig = sign(&token);
        assert_eq!(
            verify_cookie_value(&secrets, &format!("{token}.{sig}")),
            Some(cookie(&token, None))
        );
        let signed = format!("{token}.1700000000");
        assert_eq!(
            verify_cookie_value(&secrets, &format!("{signed}.{}", sign(&signed))),
            Some(cookie(&token, Some(1_700_000_000)))
        );
        // Changing the token or the expiry breaks the MAC.
        assert_eq!(
            verify_cookie_value(&secrets, &format!("{token}x.{sig}")),
            None
        );
        assert_eq!(
            verify_cookie_value(&secrets, &format!("{token}.1800000000.{}", sign(&signed))),
            None
        );
        let unparsable = format!("{token}.soon");
        assert_eq!(
            verify_cookie_value(&secrets, &format!("{unparsable}.{}", sign(&unparsable))),
            None
        );
        assert_eq!(verify_cookie_value(&secrets, &token), None);
        assert_eq!(
            verify_cookie_value(&["other-secret-entirely".into()], &format!("{token}.{sig}")),
            None
        );
    }

    #[test]
    fn only_outdated_cookies_are_issued_again() {
        // 1.7e9 s and 500 ns: the cookie says 1.7e9 s and 1 µs.
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 500).unwrap();
        let cookie = |expires_at| Credential::Cookie {
            token: "t".into(),
            expires_at,
        };
        assert!(!Credential::Token("t".into()).cookie_outdated(at));
        assert!(cookie(None).cookie_outdated(at));
        assert!(cookie(Some(1_700_000_000_000_000)).cookie_outdated(at));
        assert!(!cookie(Some(1_700_000_000_000_001)).cookie_outdated(at));
        assert!(
            !cookie(Some(1_700_000_000_000_001)).cookie_outdated(at - chrono::Duration::hours(1))
        );
    }
}
