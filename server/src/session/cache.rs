//! The whoami session cache: active sessions by token hash, with their serialised response.
//!
//! Whoami is called by every application on every request, so a hit answers without touching the
//! database. Coherence (`kratos_rs.session_cache`):
//! - writes made through this process drop the entries concerned right after they commit;
//! - on PostgreSQL, triggers (migration `session_cache_notify`) send `s:<session>` / `i:<identity>`
//!   on [`CHANNEL`] for every changed session, identity or address, and a listener task in every
//!   replica drops the entries concerned; while it listens, entries live up to `notified_ttl`;
//! - elsewhere, and while the listener is reconnecting, entries live at most `ttl`.
//!
//! A miss that raced with an invalidation is not cached: readers note the cache generation before
//! reading the database, and an insert is refused once any invalidation has happened since.
//! Expiry is checked on every hit, so an expired session is refused even while cached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderValue;
use uuid::Uuid;

use super::model::Session;
use crate::config::SessionCache as Settings;
use crate::persistence::{Persister, Pool};

/// The PostgreSQL notification channel of session and identity changes.
pub const CHANNEL: &str = "kratos_rs_session_cache";

/// A cached active session.
pub struct CachedSession {
    /// The session as loaded, its identity included (for the AAL check).
    pub session: Session,
    /// The whoami response body.
    pub body: Bytes,
    /// The `X-Kratos-Authenticated-Identity-Id` header of the response.
    pub identity_header: HeaderValue,
    cached_at: Instant,
    /// Whether a reload of this entry has been started (see [`SessionCache::due_for_refresh`]).
    refreshing: AtomicBool,
}

impl CachedSession {
    pub fn new(session: Session, body: Bytes) -> CachedSession {
        let identity_header = HeaderValue::from_str(&session.identity_id.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        CachedSession {
            session,
            body,
            identity_header,
            cached_at: Instant::now(),
            refreshing: AtomicBool::new(false),
        }
    }
}

/// Hit and miss counts since start (for tests and metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

/// The cache of one process. Cheap to share; the listener task stops when it is dropped.
#[derive(Default)]
pub struct SessionCache {
    entries: RwLock<HashMap<String, Arc<CachedSession>>>,
    /// Bumped (under the write lock) by every invalidation.
    generation: AtomicU64,
    /// Whether PostgreSQL notifications are being received right now.
    listening: AtomicBool,
    hits: AtomicU64,
    misses: AtomicU64,
    listener: Mutex<Option<tokio::task::AbortHandle>>,
}

impl SessionCache {
    pub fn new() -> Arc<SessionCache> {
        Arc::new(SessionCache::default())
    }

    /// How long an entry is trusted now.
    fn lifetime(&self, settings: &Settings) -> Duration {
        if self.listening.load(Ordering::Acquire) {
            settings.notified_ttl
        } else {
            settings.ttl
        }
    }

    /// The cached active session for a token hash, if fresh and not expired.
    pub fn get(&self, token_hash: &str, settings: &Settings) -> Option<Arc<CachedSession>> {
        let found = self
            .entries
            .read()
            .ok()
            .and_then(|map| map.get(token_hash).cloned())
            .filter(|e| {
                e.cached_at.elapsed() < self.lifetime(settings)
                    && e.session.expires_at > chrono::Utc::now()
            });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Whether a hit is past half its lifetime and nobody reloads it yet; `true` once per entry.
    /// Reloading it in the background keeps busy sessions from ever missing (a miss waits for the
    /// database) while an entry is still never served beyond its lifetime.
    pub fn due_for_refresh(&self, entry: &CachedSession, settings: &Settings) -> bool {
        entry.cached_at.elapsed() * 2 >= self.lifetime(settings)
            && !entry.refreshing.swap(true, Ordering::AcqRel)
    }

    /// The generation to pass to [`SessionCache::insert`]; read it before reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a session read from the database, unless anything was invalidated since
    /// `generation` was read (the read may predate that change).
    pub fn insert(
        &self,
        token_hash: String,
        entry: Arc<CachedSession>,
        generation: u64,
        settings: &Settings,
    ) {
        let Ok(mut map) = self.entries.write() else {
            return;
        };
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if map.len() >= settings.max_entries {
            let lifetime = self.lifetime(settings);
            map.retain(|_, e| e.cached_at.elapsed() < lifetime);
            if map.len() >= settings.max_entries {
                map.clear();
            }
        }
        map.insert(token_hash, entry);
    }

    fn invalidate(&self, keep: impl FnMut(&String, &mut Arc<CachedSession>) -> bool) {
        if let Ok(mut map) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.retain(keep);
        }
    }

    /// Drops the entry of one session.
    pub fn invalidate_session(&self, session_id: Uuid) {
        self.invalidate(|_, e| e.session.id != session_id);
    }

    /// Drops the entries of every session of an identity.
    pub fn invalidate_identity(&self, identity_id: Uuid) {
        self.invalidate(|_, e| e.session.identity_id != identity_id);
    }

    /// Drops the entry of a token hash.
    pub fn invalidate_token_hash(&self, token_hash: &str) {
        self.invalidate(|k, _| k != token_hash);
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.invalidate(|_, _| false);
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// Whether PostgreSQL change notifications are being received.
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// Applies one notification payload (`s:<uuid>`, `i:<uuid>`; anything else clears all).
    fn apply(&self, payload: &str) {
        let parsed = payload
            .split_once(':')
            .and_then(|(kind, id)| Some((kind, Uuid::parse_str(id).ok()?)));
        match parsed {
            Some(("s", id)) => self.invalidate_session(id),
            Some(("i", id)) => self.invalidate_identity(id),
            _ => self.clear(),
        }
    }

    /// On PostgreSQL, starts the task that receives change notifications. Elsewhere nothing: the
    /// TTL applies.
    pub fn start_listener(self: &Arc<Self>, db: &Persister) {
        let Pool::Postgres(pool) = db.pool() else {
            return;
        };
        let pool = pool.clone();
        let cache = Arc::downgrade(self);
        let handle = tokio::spawn(listen(cache, pool)).abort_handle();
        if let Ok(mut slot) = self.listener.lock() {
            *slot = Some(handle);
        }
    }
}

impl Drop for SessionCache {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.listener.lock()
            && let Some(handle) = slot.take()
        {
            handle.abort();
        }
    }
}

/// Receives notifications for as long as the cache lives. Whenever the connection is lost,
/// notifications may have been missed: the cache is cleared and falls back to the TTL until the
/// listener is back (and cleared again then, dropping what was cached in between).
async fn listen(cache: Weak<SessionCache>, pool: sqlx::PgPool) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let listener = async {
            let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
            l.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        }
        .await;
        let mut listener = match listener {
            Ok(l) => l,
            Err(err) => {
                tracing::warn!(error = %err, "session cache: cannot listen for changes; using the TTL");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        {
            let Some(c) = cache.upgrade() else { return };
            c.clear();
            c.listening.store(true, Ordering::Release);
        }
        loop {
            let received = listener.try_recv().await;
            let Some(c) = cache.upgrade() else { return };
            match received {
                Ok(Some(n)) => c.apply(n.payload()),
                Ok(None) | Err(_) => {
                    tracing::warn!("session cache: lost the change notifications; reconnecting");
                    c.listening.store(false, Ordering::Release);
                    c.clear();
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::model::Aal;

    fn session(identity: Uuid, expires_in: chrono::Duration) -> Session {
        let now = chrono::Utc::now();
        Session {
            id: Uuid::new_v4(),
            active: true,
            expires_at: now + expires_in,
            authenticated_at: now,
            authenticator_assurance_level: Aal::Aal1,
            authentication_methods: vec![],
            issued_at: now,
            identity: None,
            devices: vec![],
            identity_id: identity,
        }
    }

    fn entry(s: Session) -> Arc<CachedSession> {
        Arc::new(CachedSession::new(s, Bytes::from_static(b"{}")))
    }

    #[test]
    fn hits_until_invalidated() {
        let cache = SessionCache::new();
        let settings = Settings::default();
        let identity = Uuid::new_v4();
        let s = session(identity, chrono::Duration::hours(1));
        let id = s.id;
        cache.insert("a".into(), entry(s), cache.generation(), &settings);
        assert!(cache.get("a", &settings).is_some());
        cache.invalidate_session(Uuid::new_v4());
        assert!(cache.get("a", &settings).is_some());
        cache.invalidate_session(id);
        assert!(cache.get("a", &settings).is_none());

        cache.insert(
            "b".into(),
            entry(session(identity, chrono::Duration::hours(1))),
            cache.generation(),
            &settings,
        );
        cache.apply(&format!("i:{identity}"));
        assert!(cache.get("b", &settings).is_none());
        assert_eq!(cache.stats().hits, 2);
    }

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_cached() {
        let cache = SessionCache::new();
        let settings = Settings::default();
        let before = cache.generation();
        cache.invalidate_token_hash("elsewhere");
        let s = session(Uuid::new_v4(), chrono::Duration::hours(1));
        cache.insert("a".into(), entry(s), before, &settings);
        assert!(cache.get("a", &settings).is_none());
    }

    #[test]
    fn expired_and_stale_entries_are_not_served() {
        let cache = SessionCache::new();
        let settings = Settings {
            ttl: Duration::from_millis(20),
            ..Settings::default()
        };
        let expired = session(Uuid::new_v4(), chrono::Duration::milliseconds(-1));
        cache.insert("x".into(), entry(expired), cache.generation(), &settings);
        assert!(cache.get("x", &settings).is_none());
        let s = session(Uuid::new_v4(), chrono::Duration::hours(1));
        cache.insert("y".into(), entry(s), cache.generation(), &settings);
        assert!(cache.get("y", &settings).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(cache.get("y", &settings).is_none());
    }

    #[test]
    fn an_entry_past_half_its_lifetime_is_due_for_one_refresh() {
        let cache = SessionCache::new();
        let e = entry(session(Uuid::new_v4(), chrono::Duration::hours(1)));
        let long = Settings {
            ttl: Duration::from_secs(3600),
            ..Settings::default()
        };
        assert!(!cache.due_for_refresh(&e, &long));
        let over = Settings {
            ttl: Duration::ZERO,
            ..Settings::default()
        };
        assert!(cache.due_for_refresh(&e, &over));
        assert!(
            !cache.due_for_refresh(&e, &over),
            "only one reload per entry"
        );
    }

    #[test]
    fn bounded() {
        let cache = SessionCache::new();
        let settings = Settings {
            max_entries: 2,
            ..Settings::default()
        };
        for key in ["a", "b", "c"] {
            let s = session(Uuid::new_v4(), chrono::Duration::hours(1));
            cache.insert(key.into(), entry(s), cache.generation(), &settings);
        }
        assert!(cache.entries.read().unwrap().len() <= 2);
        assert!(cache.get("c", &settings).is_some());
    }
}
