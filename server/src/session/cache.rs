//! The whoami session cache: active sessions by token hash, with their serialised response.
//!
//! Whoami is called by every application on every request, so a hit answers without touching the
//! database. Coherence (`kratos_rs.session_cache`):
//! - writes made through this process drop the entries concerned right after they commit;
//! - on PostgreSQL, triggers (migration `session_cache_notify`) send `s:<session>` / `i:<identity>`
//!   on [`CHANNEL`] for every changed session, identity or address, and a listener task in every
//!   replica drops the entries concerned; while it listens, entries live up to `notified_ttl`;
//! - on an SQLite file, a watcher reads the database's `data_version` every quarter of `ttl`: it
//!   changes with every commit, from any connection or process. While it stays the same, nothing
//!   changed and entries read since the last change live up to `notified_ttl`; an entry read
//!   before the last change falls back to `ttl` (the watcher cannot tell what changed);
//! - elsewhere, and while the listener or watcher is down, entries live at most `ttl`.
//!
//! A miss that raced with an invalidation is not cached: readers note the cache generation before
//! reading the database ([`ReadMark`]), and an insert is refused once any invalidation has
//! happened since.
//! Expiry is checked on every hit, so an expired session is refused even while cached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderValue;
use uuid::Uuid;

use sqlx::sqlite::SqliteConnectOptions;

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
    /// The SQLite commit epoch the entry was read in (see [`SessionCache::lifetime`]).
    epoch: u64,
    /// Whether a reload of this entry has been started (see [`SessionCache::due_for_refresh`]).
    refreshing: AtomicBool,
}

impl CachedSession {
    /// An entry for a session read after `read` was noted.
    pub fn new(session: Session, body: Bytes, read: ReadMark) -> CachedSession {
        let identity_header = HeaderValue::from_str(&session.identity_id.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        CachedSession {
            session,
            body,
            identity_header,
            cached_at: Instant::now(),
            epoch: read.epoch,
            refreshing: AtomicBool::new(false),
        }
    }
}

/// When the cache was created (the origin of its millisecond clock).
struct CreatedAt(Instant);

impl Default for CreatedAt {
    fn default() -> Self {
        CreatedAt(Instant::now())
    }
}

/// What a reader notes before reading the database, for [`SessionCache::insert`].
#[derive(Debug, Clone, Copy)]
pub struct ReadMark {
    generation: u64,
    epoch: u64,
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
    /// SQLite: bumped by the watcher whenever the database changed.
    epoch: AtomicU64,
    /// SQLite: when the watcher last saw the database unchanged, in ms since `started`.
    confirmed_ms: AtomicU64,
    watching: AtomicBool,
    started: CreatedAt,
    hits: AtomicU64,
    misses: AtomicU64,
    listener: Mutex<Option<tokio::task::AbortHandle>>,
}

impl SessionCache {
    pub fn new() -> Arc<SessionCache> {
        Arc::new(SessionCache::default())
    }

    /// How long an entry is trusted now: `notified_ttl` while change notifications arrive, or
    /// while the SQLite watcher vouches that nothing changed since the entry was read (and has
    /// said so within `ttl`, so that a stalled watcher cannot stretch the promise); else `ttl`.
    fn lifetime(&self, entry: &CachedSession, settings: &Settings) -> Duration {
        let vouched = self.listening.load(Ordering::Acquire)
            || (self.watching.load(Ordering::Acquire)
                && entry.epoch == self.epoch.load(Ordering::Acquire)
                && self
                    .since_started_ms()
                    .saturating_sub(self.confirmed_ms.load(Ordering::Acquire))
                    < settings.ttl.as_millis() as u64);
        if vouched {
            settings.notified_ttl
        } else {
            settings.ttl
        }
    }

    fn since_started_ms(&self) -> u64 {
        self.started.0.elapsed().as_millis() as u64
    }

    /// The cached active session for a token hash, if fresh and not expired.
    pub fn get(&self, token_hash: &str, settings: &Settings) -> Option<Arc<CachedSession>> {
        let found = self
            .entries
            .read()
            .ok()
            .and_then(|map| map.get(token_hash).cloned())
            .filter(|e| {
                e.cached_at.elapsed() < self.lifetime(e, settings)
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
        entry.cached_at.elapsed() * 2 >= self.lifetime(entry, settings)
            && !entry.refreshing.swap(true, Ordering::AcqRel)
    }

    /// What to pass to [`CachedSession::new`] and [`SessionCache::insert`]; note it before
    /// reading the database.
    pub fn read_mark(&self) -> ReadMark {
        ReadMark {
            generation: self.generation.load(Ordering::Acquire),
            epoch: self.epoch.load(Ordering::Acquire),
        }
    }

    /// Caches a session read from the database, unless anything was invalidated since
    /// `generation` was read (the read may predate that change).
    pub fn insert(
        &self,
        token_hash: String,
        entry: Arc<CachedSession>,
        read: ReadMark,
        settings: &Settings,
    ) {
        let Ok(mut map) = self.entries.write() else {
            return;
        };
        if self.generation.load(Ordering::Acquire) != read.generation {
            return;
        }
        if map.len() >= settings.max_entries {
            map.retain(|_, e| e.cached_at.elapsed() < self.lifetime(e, settings));
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

    /// Starts the task that tells the cache about changes: the notification listener on
    /// PostgreSQL, the commit watcher on an SQLite file. Elsewhere (MySQL, in-memory SQLite)
    /// nothing: the TTL applies.
    pub fn start_listener(self: &Arc<Self>, db: &Persister, settings: &Settings) {
        let cache = Arc::downgrade(self);
        let task = match db.pool() {
            Pool::Postgres(pool) => tokio::spawn(listen(cache, pool.clone())),
            Pool::Sqlite(pool) => {
                let options = pool.connect_options();
                let in_memory = options
                    .get_filename()
                    .to_string_lossy()
                    .contains(":memory:");
                if in_memory || settings.ttl.is_zero() {
                    return;
                }
                let every = (settings.ttl / 4).clamp(WATCH_MIN, WATCH_MAX);
                tokio::spawn(watch_commits(cache, (*options).clone(), every))
            }
            Pool::MySql(_) => return,
        };
        if let Ok(mut slot) = self.listener.lock() {
            *slot = Some(task.abort_handle());
        }
    }

    /// Records one look at SQLite's `data_version` (`None`: the look failed).
    fn saw_data_version(&self, version: Option<i64>, last: &mut Option<i64>) {
        if version.is_none() || version != *last {
            self.epoch.fetch_add(1, Ordering::AcqRel);
        }
        *last = version;
        if version.is_some() {
            self.confirmed_ms
                .store(self.since_started_ms(), Ordering::Release);
        }
        self.watching.store(version.is_some(), Ordering::Release);
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

/// The delay before reconnecting the listener or watcher: 100 ms, doubling up to 5 s.
struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(Duration::from_millis(100))
    }
}

impl Backoff {
    async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
    }
}

/// Bounds of the SQLite watcher's polling interval (a quarter of the TTL).
const WATCH_MIN: Duration = Duration::from_millis(10);
const WATCH_MAX: Duration = Duration::from_secs(1);

/// Watches an SQLite database's `data_version` on a connection of its own (the value only counts
/// commits by other connections, so this one must never write) for as long as the cache lives.
async fn watch_commits(cache: Weak<SessionCache>, options: SqliteConnectOptions, every: Duration) {
    use sqlx::{ConnectOptions, Connection};
    let mut backoff = Backoff::default();
    loop {
        let mut conn = match options.connect().await {
            Ok(conn) => conn,
            Err(err) => {
                tracing::warn!(error = %err, "session cache: cannot watch the database; using the TTL");
                backoff.wait().await;
                continue;
            }
        };
        backoff = Backoff::default();
        let mut last = None;
        loop {
            let version = sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                .fetch_one(&mut conn)
                .await;
            let Some(c) = cache.upgrade() else { return };
            c.saw_data_version(version.as_ref().ok().copied(), &mut last);
            if let Err(err) = version {
                tracing::warn!(error = %err, "session cache: lost the database watch; reconnecting");
                break;
            }
            drop(c);
            tokio::time::sleep(every).await;
        }
        let _ = conn.close().await;
    }
}

/// Receives notifications for as long as the cache lives. Whenever the connection is lost,
/// notifications may have been missed: the cache is cleared and falls back to the TTL until the
/// listener is back (and cleared again then, dropping what was cached in between).
async fn listen(cache: Weak<SessionCache>, pool: sqlx::PgPool) {
    let mut backoff = Backoff::default();
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
                backoff.wait().await;
                continue;
            }
        };
        backoff = Backoff::default();
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
        Arc::new(CachedSession::new(
            s,
            Bytes::from_static(b"{}"),
            ReadMark {
                generation: 0,
                epoch: 0,
            },
        ))
    }

    #[test]
    fn hits_until_invalidated() {
        let cache = SessionCache::new();
        let settings = Settings::default();
        let identity = Uuid::new_v4();
        let s = session(identity, chrono::Duration::hours(1));
        let id = s.id;
        cache.insert("a".into(), entry(s), cache.read_mark(), &settings);
        assert!(cache.get("a", &settings).is_some());
        cache.invalidate_session(Uuid::new_v4());
        assert!(cache.get("a", &settings).is_some());
        cache.invalidate_session(id);
        assert!(cache.get("a", &settings).is_none());

        cache.insert(
            "b".into(),
            entry(session(identity, chrono::Duration::hours(1))),
            cache.read_mark(),
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
        let before = cache.read_mark();
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
        cache.insert("x".into(), entry(expired), cache.read_mark(), &settings);
        assert!(cache.get("x", &settings).is_none());
        let s = session(Uuid::new_v4(), chrono::Duration::hours(1));
        cache.insert("y".into(), entry(s), cache.read_mark(), &settings);
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
            cache.insert(key.into(), entry(s), cache.read_mark(), &settings);
        }
        assert!(cache.entries.read().unwrap().len() <= 2);
        assert!(cache.get("c", &settings).is_some());
    }
}
