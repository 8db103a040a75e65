//! A bounded pool for password hashing, so that a burst of logins queues instead of exhausting
//! memory or starving the async runtime.
//!
//! # Sizing
//!
//! Every hash or verification runs on tokio's blocking thread pool, but only after taking
//! - one of `max_concurrent` **slots**. Hashing is CPU-bound and each operation occupies one
//!   core (the argon2 crate computes lanes one after another), so running more operations than
//!   there are cores only adds latency and memory. The default is the number of CPUs available
//!   to the process (cgroup limits included), further capped by memory:
//!   `dedicated_memory / memory-per-hash` (Kratos's `hashers.argon2.dedicated_memory` idea,
//!   which Kratos itself only warns about).
//! - its working memory from a **memory budget** of `dedicated_memory` (counted in MiB). This
//!   matters for imported hashes whose parameters differ from the configured ones: a 1 GiB
//!   scrypt hash waits until the memory is free rather than running next to seven 128 MiB
//!   argon2 hashes. A hash needing more than the whole budget is refused, never attempted (an
//!   allocation failure would abort the process).
//!
//! Waiting is FIFO (tokio's semaphore is fair). The permits travel with the blocking job, so a
//! client that disconnects does not free the slot before its hash really finished.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use arc_swap::ArcSwap;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use super::config::HasherConfig;
use super::formats::PasswordHash;
use super::generate::hash_password;
use crate::error::{Error, Result};

/// How much hashing may happen at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// Operations running at the same time.
    pub max_concurrent: usize,
    /// Working memory of all running operations together, in KiB.
    pub memory_budget_kib: u64,
}

impl PoolLimits {
    /// Limits for `config` on this machine (see the module documentation).
    pub fn for_config(config: &HasherConfig) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Self::compute(config, cpus)
    }

    fn compute(config: &HasherConfig, cpus: usize) -> Self {
        let per_hash = config.memory_per_hash_kib().max(1);
        // The configured hasher must always be able to run, even if `dedicated_memory` is set
        // below its memory parameter (Kratos only warns about that).
        let budget = config.dedicated_memory_kib.max(per_hash);
        let by_memory = usize::try_from(budget / per_hash).unwrap_or(usize::MAX);
        PoolLimits {
            max_concurrent: cpus.min(by_memory).max(1),
            memory_budget_kib: budget,
        }
    }
}

/// A snapshot of the pool's counters (for metrics and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Operations waiting for a slot or memory.
    pub queued: usize,
    /// Operations computing right now.
    pub running: usize,
    /// The most operations ever computing at the same time.
    pub peak_running: usize,
    /// The most memory (KiB) ever in use by computing operations at the same time.
    pub peak_memory_kib: u64,
    /// Operations finished (successfully or not).
    pub completed: u64,
}

/// The bounded hashing pool. Cheap to clone; clones share the limits and the configuration.
#[derive(Clone)]
pub struct HashPool {
    inner: Arc<Inner>,
}

struct Inner {
    config: ArcSwap<HasherConfig>,
    limits: PoolLimits,
    slots: Arc<Semaphore>,
    memory: Arc<Semaphore>,
    memory_budget_mib: u32,
    queued: AtomicUsize,
    running: AtomicUsize,
    peak_running: AtomicUsize,
    memory_in_use_kib: AtomicU64,
    peak_memory_kib: AtomicU64,
    completed: AtomicU64,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("limits", &self.inner.limits)
            .field("stats", &self.stats())
            .finish()
    }
}

fn mib(kib: u64) -> u64 {
    kib.div_ceil(1024)
}

impl HashPool {
    /// A pool sized for `config` on this machine.
    pub fn new(config: HasherConfig) -> Result<Self> {
        let limits = PoolLimits::for_config(&config);
        Self::with_limits(config, limits)
    }

    /// A pool with explicit limits (benchmarks, tests, or an operator's override).
    pub fn with_limits(config: HasherConfig, limits: PoolLimits) -> Result<Self> {
        config.validate()?;
        if limits.max_concurrent == 0 {
            return Err(Error::Config(
                "the hashing pool needs at least one slot".into(),
            ));
        }
        let budget_mib = u32::try_from(mib(limits.memory_budget_kib).max(1)).unwrap_or(u32::MAX);
        let max_permits = usize::try_from(budget_mib)
            .unwrap_or(Semaphore::MAX_PERMITS)
            .min(Semaphore::MAX_PERMITS);
        let pool = HashPool {
            inner: Arc::new(Inner {
                config: ArcSwap::from_pointee(config.clone()),
                limits,
                slots: Arc::new(Semaphore::new(
                    limits.max_concurrent.min(Semaphore::MAX_PERMITS),
                )),
                memory: Arc::new(Semaphore::new(max_permits)),
                memory_budget_mib: u32::try_from(max_permits).unwrap_or(u32::MAX),
                queued: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                peak_running: AtomicUsize::new(0),
                memory_in_use_kib: AtomicU64::new(0),
                peak_memory_kib: AtomicU64::new(0),
                completed: AtomicU64::new(0),
            }),
        };
        pool.check_fits(&config)?;
        pool.keep_memory(&config);
        Ok(pool)
    }

    fn check_fits(&self, config: &HasherConfig) -> Result<()> {
        if mib(config.memory_per_hash_kib()) > u64::from(self.inner.memory_budget_mib) {
            return Err(Error::Config(format!(
                "hashers.argon2.memory: one hash needs more than the hashing pool's memory budget of {} KiB",
                self.inner.limits.memory_budget_kib
            )));
        }
        Ok(())
    }

    /// The configuration new hashes are made with.
    pub fn config(&self) -> Arc<HasherConfig> {
        self.inner.config.load_full()
    }

    /// Switches the hasher configuration (config reload). The pool's limits stay as they were
    /// sized at start; a configuration whose single hash would not fit the memory budget is
    /// refused.
    pub fn set_config(&self, config: HasherConfig) -> Result<()> {
        config.validate()?;
        self.check_fits(&config)?;
        self.keep_memory(&config);
        self.inner.config.store(Arc::new(config));
        Ok(())
    }

    /// Lets the running hashes keep their argon2 memory for the next ones: as much as the
    /// slots can use at once with the configured hasher, within the memory budget.
    fn keep_memory(&self, config: &HasherConfig) {
        let limits = self.inner.limits;
        let keep = (config.memory_per_hash_kib() * limits.max_concurrent as u64)
            .min(limits.memory_budget_kib);
        super::memory::set_limit(keep);
    }

    pub fn limits(&self) -> PoolLimits {
        self.inner.limits
    }

    pub fn stats(&self) -> PoolStats {
        let i = &self.inner;
        PoolStats {
            queued: i.queued.load(Ordering::SeqCst),
            running: i.running.load(Ordering::SeqCst),
            peak_running: i.peak_running.load(Ordering::SeqCst),
            peak_memory_kib: i.peak_memory_kib.load(Ordering::SeqCst),
            completed: i.completed.load(Ordering::SeqCst),
        }
    }

    /// Hashes `password` with the configured hasher.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let config = self.config();
        let password = Zeroizing::new(password.as_bytes().to_vec());
        self.run(config.memory_per_hash_kib(), move || {
            hash_password(&password, &config)
        })
        .await
    }

    /// Verifies `password` against a stored hash of any supported format.
    ///
    /// `Ok(false)` is a wrong password. `Err` means the stored hash is unusable (garbled, or
    /// needing more memory than the pool's budget) or the pool failed; a login must treat it as
    /// invalid credentials and log it.
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool> {
        let parsed = PasswordHash::parse(hash)?;
        let password = Zeroizing::new(password.as_bytes().to_vec());
        self.run(parsed.memory_kib(), move || parsed.verify(&password))
            .await
    }

    /// Spends what verifying a hash made with the configured hasher costs, for a login whose
    /// identifier does not exist: it must take as long as a wrong password, or response times
    /// would reveal which accounts exist. It hashes the password with the configured parameters
    /// (the same key derivation a verification runs) and throws the result away.
    ///
    /// Errors only if the pool itself fails.
    pub async fn verify_dummy(&self, password: &str) -> Result<()> {
        let config = self.config();
        let password = Zeroizing::new(password.as_bytes().to_vec());
        self.run(config.memory_per_hash_kib(), move || {
            // The outcome is irrelevant; only the work matters.
            let _ = hash_password(&password, &config);
            Ok(())
        })
        .await
    }

    /// Whether `hash` should be replaced by one made with the current configuration.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        super::needs_rehash(hash, &self.config())
    }

    /// Runs `job` on the blocking pool once a slot and `memory_kib` of the budget are free.
    async fn run<T, F>(&self, memory_kib: u64, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T> + Send + 'static,
    {
        let inner = &self.inner;
        let needed = u32::try_from(mib(memory_kib)).unwrap_or(u32::MAX);
        if needed > inner.memory_budget_mib {
            return Err(Error::internal(format!(
                "password hash needs {needed} MiB, more than the hashing memory budget of {} MiB",
                inner.memory_budget_mib
            )));
        }

        let waiting = Counted::enter(&inner.queued);
        let closed = |_| Error::internal("the hashing pool is closed");
        let memory = inner
            .memory
            .clone()
            .acquire_many_owned(needed)
            .await
            .map_err(closed)?;
        let slot = inner.slots.clone().acquire_owned().await.map_err(closed)?;
        drop(waiting);

        let shared = Arc::clone(inner);
        let handle = tokio::task::spawn_blocking(move || {
            // Declared first so they are released last, after the counters below went down.
            let _permits = (slot, memory);
            let _running = Running::start(&shared, memory_kib);
            job()
        });
        handle
            .await
            .map_err(|err| Error::internal(format!("hashing task failed: {err}")))?
    }
}

/// Increments a gauge and decrements it when dropped (also when a waiting future is cancelled).
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn enter(gauge: &'a AtomicUsize) -> Self {
        gauge.fetch_add(1, Ordering::SeqCst);
        Counted(gauge)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Book-keeping for a running operation; panic-safe because it works on drop.
struct Running<'a> {
    inner: &'a Inner,
    memory_kib: u64,
}

impl<'a> Running<'a> {
    fn start(inner: &'a Inner, memory_kib: u64) -> Self {
        let now = inner.running.fetch_add(1, Ordering::SeqCst) + 1;
        inner.peak_running.fetch_max(now, Ordering::SeqCst);
        let memory = inner
            .memory_in_use_kib
            .fetch_add(memory_kib, Ordering::SeqCst)
            + memory_kib;
        inner.peak_memory_kib.fetch_max(memory, Ordering::SeqCst);
        Running { inner, memory_kib }
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.inner
            .memory_in_use_kib
            .fetch_sub(self.memory_kib, Ordering::SeqCst);
        self.inner.running.fetch_sub(1, Ordering::SeqCst);
        self.inner.completed.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::hash::config::{Algorithm, Argon2Params};

    /// Small argon2 parameters so that tests are fast.
    fn fast_config() -> HasherConfig {
        HasherConfig {
            algorithm: Algorithm::Argon2id,
            argon2: Argon2Params {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
                salt_length: 16,
                key_length: 32,
            },
            bcrypt_cost: 4,
            dedicated_memory_kib: 1024 * 1024,
        }
    }

    fn pool(max_concurrent: usize, memory_budget_kib: u64) -> HashPool {
        HashPool::with_limits(
            fast_config(),
            PoolLimits {
                max_concurrent,
                memory_budget_kib,
            },
        )
        .unwrap()
    }

    /// Waits (without timing assumptions) until the pool's counters satisfy `done`.
    async fn wait_for(pool: &HashPool, done: impl Fn(&PoolStats) -> bool) -> PoolStats {
        loop {
            let stats = pool.stats();
            if done(&stats) {
                return stats;
            }
            // Polling, not timing: the assertion is on the state, however long it takes.
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    /// A job that runs until released, reporting that it started.
    fn gated_job(
        started: mpsc::Sender<u32>,
        id: u32,
    ) -> (
        impl FnOnce() -> Result<u32> + Send + 'static,
        mpsc::Sender<()>,
    ) {
        let (release, gate) = mpsc::channel::<()>();
        let job = move || {
            let _ = started.send(id);
            let _ = gate.recv();
            Ok(id)
        };
        (job, release)
    }

    #[test]
    fn limits_take_the_smaller_of_cpus_and_memory() {
        let mut c = fast_config();
        c.argon2.memory_kib = 128 * 1024;
        c.dedicated_memory_kib = 1024 * 1024;
        assert_eq!(
            PoolLimits::compute(&c, 16),
            PoolLimits {
                max_concurrent: 8,
                memory_budget_kib: 1 << 20
            }
        );
        assert_eq!(PoolLimits::compute(&c, 2).max_concurrent, 2);
        // A hash larger than the dedicated memory still runs, alone.
        c.dedicated_memory_kib = 64 * 1024;
        assert_eq!(
            PoolLimits::compute(&c, 4),
            PoolLimits {
                max_concurrent: 1,
                memory_budget_kib: 128 * 1024
            }
        );
        // bcrypt needs almost no memory: CPUs decide.
        c.algorithm = Algorithm::Bcrypt;
        assert_eq!(PoolLimits::compute(&c, 3).max_concurrent, 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_slot_never_runs_two_operations_at_once() {
        let pool = pool(1, 1 << 20);
        let (started_tx, started) = mpsc::channel();
        let (job_a, release_a) = gated_job(started_tx.clone(), 1);
        let (job_b, release_b) = gated_job(started_tx, 2);

        let a = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(0, job_a).await }
        });
        wait_for(&pool, |s| s.running == 1).await;
        assert_eq!(started.recv().unwrap(), 1);
        let b = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(0, job_b).await }
        });
        // B waits while A holds the only slot.
        let stats = wait_for(&pool, |s| s.queued == 1).await;
        assert_eq!(stats.running, 1);
        assert!(started.try_recv().is_err(), "B must not have started");

        release_a.send(()).unwrap();
        assert_eq!(a.await.unwrap().unwrap(), 1);
        assert_eq!(started.recv().unwrap(), 2);
        let stats = wait_for(&pool, |s| s.queued == 0).await;
        assert_eq!(stats.running, 1);
        release_b.send(()).unwrap();
        assert_eq!(b.await.unwrap().unwrap(), 2);
        let stats = pool.stats();
        assert_eq!(stats.peak_running, 1);
        assert_eq!(stats.completed, 2);
        assert_eq!((stats.running, stats.queued), (0, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_slots_do_run_two_operations_at_once() {
        // The counterpart of the test above: it shows the counters do detect overlap.
        let pool = pool(2, 1 << 20);
        let (started_tx, started) = mpsc::channel();
        let (job_a, release_a) = gated_job(started_tx.clone(), 1);
        let (job_b, release_b) = gated_job(started_tx, 2);
        let a = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(0, job_a).await }
        });
        let b = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(0, job_b).await }
        });
        let stats = wait_for(&pool, |s| s.running == 2).await;
        assert_eq!(stats.queued, 0);
        let mut ids = [started.recv().unwrap(), started.recv().unwrap()];
        ids.sort_unstable();
        assert_eq!(ids, [1, 2]);
        release_a.send(()).unwrap();
        release_b.send(()).unwrap();
        assert_eq!(a.await.unwrap().unwrap() + b.await.unwrap().unwrap(), 3);
        assert_eq!(pool.stats().peak_running, 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_budget_queues_operations_that_do_not_fit_together() {
        // Two slots, but 3 MiB of budget: a 2 MiB operation and a 2 MiB operation must not overlap.
        let pool = pool(2, 3 * 1024);
        let (started_tx, started) = mpsc::channel();
        let (job_a, release_a) = gated_job(started_tx.clone(), 1);
        let (job_b, release_b) = gated_job(started_tx, 2);
        let a = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(2 * 1024, job_a).await }
        });
        assert_eq!(started.recv().unwrap(), 1);
        let b = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(2 * 1024, job_b).await }
        });
        let stats = wait_for(&pool, |s| s.queued == 1).await;
        assert_eq!(stats.running, 1);
        release_a.send(()).unwrap();
        a.await.unwrap().unwrap();
        assert_eq!(started.recv().unwrap(), 2);
        release_b.send(()).unwrap();
        b.await.unwrap().unwrap();
        let stats = pool.stats();
        assert_eq!(stats.peak_running, 1);
        assert_eq!(stats.peak_memory_kib, 2 * 1024);
    }

    #[tokio::test]
    async fn refuses_hashes_larger_than_the_budget() {
        let pool = pool(2, 1024);
        // scrypt with N=16384, r=16 needs 32 MiB.
        let big =
            "$scrypt$ln=16384,r=16,p=1$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let err = pool.verify("password", big).await.unwrap_err();
        assert!(err.to_string().contains("memory budget"), "{err}");
        assert_eq!(pool.stats().completed, 0, "nothing was attempted");
    }

    #[tokio::test]
    async fn cancelled_waiters_leave_the_queue() {
        let pool = pool(1, 1 << 20);
        let (started_tx, started) = mpsc::channel();
        let (job_a, release_a) = gated_job(started_tx.clone(), 1);
        let (job_b, _release_b) = gated_job(started_tx, 2);
        let a = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(0, job_a).await }
        });
        let b = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(0, job_b).await }
        });
        wait_for(&pool, |s| s.queued == 1 && s.running == 1).await;
        b.abort();
        wait_for(&pool, |s| s.queued == 0).await;
        release_a.send(()).unwrap();
        a.await.unwrap().unwrap();
        assert_eq!(started.recv().unwrap(), 1);
        assert!(started.try_recv().is_err(), "the cancelled job never ran");
    }

    #[tokio::test]
    async fn hashes_and_verifies_through_the_pool() {
        let pool = pool(2, 1 << 20);
        let hash = pool.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(pool.verify("correct horse", &hash).await.unwrap());
        assert!(!pool.verify("battery staple", &hash).await.unwrap());
        assert!(!pool.needs_rehash(&hash));
        pool.verify_dummy("anything").await.unwrap();
        assert!(pool.verify("x", "$garbage$").await.is_err());
        assert_eq!(pool.stats().completed, 4);
    }

    #[tokio::test]
    async fn config_reload_changes_new_hashes() {
        let pool = pool(2, 1 << 20);
        let old = pool.hash("pw").await.unwrap();
        let mut config = fast_config();
        config.algorithm = Algorithm::Bcrypt;
        pool.set_config(config).unwrap();
        assert!(pool.needs_rehash(&old));
        let new = pool.hash("pw").await.unwrap();
        assert!(new.starts_with("$2a$04$"), "{new}");
        assert!(pool.verify("pw", &old).await.unwrap());

        // A hasher that cannot fit the budget is refused and the old one kept.
        let mut too_big = fast_config();
        too_big.argon2.memory_kib = 2 << 30;
        assert!(pool.set_config(too_big).is_err());
        assert_eq!(pool.config().algorithm, Algorithm::Bcrypt);
    }
}
