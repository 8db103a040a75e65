//! A bounded pool for password hashing, so that a burst of logins queues instead of exhausting
//! memory or starving the async runtime.
//!
//! # Sizing
//!
//! Every hash or verification runs on one of the pool's own threads, after taking
//! - one of `max_concurrent` **threads**. Hashing is CPU-bound and each operation occupies one
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
//! # Queueing
//!
//! Operations wait for memory in FIFO order (tokio's semaphore is fair), then in a FIFO queue
//! that the threads take from. A thread that finishes a hash takes the next one at once, without
//! a round trip through the async runtime: under load the cores never idle between hashes. An
//! operation whose request went away before a thread took it leaves the queue and never runs;
//! one already running finishes and keeps its memory until then. Each thread keeps its argon2
//! working memory for its next hash ([`super::memory`]) and gives it back after
//! [`RELEASE_AFTER`] without work.

use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
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

/// Idle time after which a hashing thread gives its kept argon2 memory back, so that a burst of
/// logins does not leave an idle server holding threads x memory for good.
pub const RELEASE_AFTER: Duration = Duration::from_secs(30);

/// The bounded hashing pool. Cheap to clone; clones share the limits, the configuration and the
/// threads, which end when the last clone is dropped.
#[derive(Clone)]
pub struct HashPool {
    inner: Arc<Inner>,
}

struct Inner {
    config: ArcSwap<HasherConfig>,
    limits: PoolLimits,
    jobs: flume::Sender<Job>,
    memory: Arc<Semaphore>,
    memory_budget_mib: u32,
    shared: Arc<Shared>,
}

/// What the hashing threads share with the pool (not the queue's sender: the threads end when
/// the pool drops it).
#[derive(Default)]
struct Shared {
    /// Argon2 memory each thread may keep between hashes, in KiB.
    keep_kib: AtomicU64,
    queued: AtomicUsize,
    running: AtomicUsize,
    peak_running: AtomicUsize,
    memory_in_use_kib: AtomicU64,
    peak_memory_kib: AtomicU64,
    completed: AtomicU64,
}

/// A queued operation.
struct Job {
    ticket: Arc<Ticket>,
    memory_kib: u64,
    /// Runs the operation; what it returns sends the result to the waiting request.
    work: Box<dyn FnOnce() -> Delivery + Send>,
}

/// Sends an operation's result, once the pool's books show it finished.
type Delivery = Box<dyn FnOnce() + Send>;

/// An operation's place in the queue, shared by the waiting request and the queued job:
/// whichever leaves first (a thread taking the job, or the request going away) takes it out of
/// the queue and decides whether it runs.
struct Ticket {
    state: AtomicU8,
    /// The operation's share of the memory budget, from the moment it is granted.
    memory: Mutex<Option<OwnedSemaphorePermit>>,
}

const QUEUED: u8 = 0;
const TAKEN: u8 = 1;
const CANCELLED: u8 = 2;

impl Ticket {
    fn new(shared: &Shared) -> Arc<Self> {
        shared.queued.fetch_add(1, Ordering::SeqCst);
        Arc::new(Ticket {
            state: AtomicU8::new(QUEUED),
            memory: Mutex::new(None),
        })
    }

    /// Leaves the queue as `to` (taken or cancelled) unless the other side already did.
    fn leave(&self, to: u8, shared: &Shared) -> bool {
        let left = self
            .state
            .compare_exchange(QUEUED, to, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if left {
            shared.queued.fetch_sub(1, Ordering::SeqCst);
        }
        left
    }

    fn take_memory(&self) -> Option<OwnedSemaphorePermit> {
        self.memory.lock().ok().and_then(|mut m| m.take())
    }
}

/// Held by the waiting request: dropping it before a thread took the job cancels the job and
/// frees its memory at once.
struct Waiting {
    ticket: Arc<Ticket>,
    shared: Arc<Shared>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.ticket.leave(CANCELLED, &self.shared) {
            drop(self.ticket.take_memory());
        }
    }
}

/// A hashing thread: takes jobs until the pool is dropped, giving its kept memory back when
/// idle.
fn hashing_thread(jobs: flume::Receiver<Job>, shared: Arc<Shared>) {
    loop {
        let job = match jobs.recv_timeout(RELEASE_AFTER) {
            Ok(job) => job,
            Err(flume::RecvTimeoutError::Timeout) => {
                super::memory::release();
                continue;
            }
            Err(flume::RecvTimeoutError::Disconnected) => return,
        };
        if !job.ticket.leave(TAKEN, &shared) {
            continue; // its request went away while it was queued
        }
        let delivery = {
            // Declared first so it is released last, after the counters below went down.
            let _memory = job.ticket.take_memory();
            let _running = Running::start(&shared, job.memory_kib);
            super::memory::keep_on_this_thread(shared.keep_kib.load(Ordering::Acquire));
            // A panicking operation must not take the thread with it; its request sees the
            // result sender dropped and fails.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(job.work))
        };
        if let Ok(deliver) = delivery {
            deliver();
        }
    }
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
        let (jobs, queue) = flume::unbounded();
        let shared = Arc::new(Shared::default());
        let pool = HashPool {
            inner: Arc::new(Inner {
                config: ArcSwap::from_pointee(config.clone()),
                limits,
                jobs,
                memory: Arc::new(Semaphore::new(max_permits)),
                memory_budget_mib: u32::try_from(max_permits).unwrap_or(u32::MAX),
                shared: shared.clone(),
            }),
        };
        pool.check_fits(&config)?;
        pool.keep_memory(&config);
        for n in 0..limits.max_concurrent {
            let (queue, shared) = (queue.clone(), shared.clone());
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || hashing_thread(queue, shared))
                .map_err(|err| Error::internal(format!("cannot start a hashing thread: {err}")))?;
        }
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

    /// Lets each thread keep the argon2 memory of the configured hasher for its next hash.
    fn keep_memory(&self, config: &HasherConfig) {
        let keep = match config.algorithm {
            super::Algorithm::Argon2id => config.memory_per_hash_kib(),
            super::Algorithm::Bcrypt => 0,
        };
        self.inner.shared.keep_kib.store(keep, Ordering::Release);
    }

    pub fn limits(&self) -> PoolLimits {
        self.inner.limits
    }

    pub fn stats(&self) -> PoolStats {
        let i = &self.inner.shared;
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

    /// Runs `job` on a hashing thread once `memory_kib` of the budget is free and the job's turn
    /// in the queue has come.
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

        let waiting = Waiting {
            ticket: Ticket::new(&inner.shared),
            shared: inner.shared.clone(),
        };
        let closed = || Error::internal("the hashing pool is closed");
        let memory = inner
            .memory
            .clone()
            .acquire_many_owned(needed)
            .await
            .map_err(|_| closed())?;
        if let Ok(mut slot) = waiting.ticket.memory.lock() {
            *slot = Some(memory);
        }
        let (result, outcome) = oneshot::channel();
        let queued = Job {
            ticket: waiting.ticket.clone(),
            memory_kib,
            work: Box::new(move || {
                let outcome = job();
                Box::new(move || {
                    let _ = result.send(outcome);
                })
            }),
        };
        inner.jobs.send(queued).map_err(|_| closed())?;
        let outcome = outcome.await;
        drop(waiting);
        outcome.map_err(|_| Error::internal("hashing task failed"))?
    }
}

/// Book-keeping for a running operation; panic-safe because it works on drop.
struct Running<'a> {
    inner: &'a Shared,
    memory_kib: u64,
}

impl<'a> Running<'a> {
    fn start(inner: &'a Shared, memory_kib: u64) -> Self {
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
    async fn a_panicking_operation_fails_alone() {
        let pool = pool(1, 1 << 20);
        let failed = pool.run(0, || -> Result<u32> { panic!("boom") }).await;
        assert!(failed.is_err());
        // The only thread survived and runs the next operation.
        assert_eq!(pool.run(0, || Ok(7)).await.unwrap(), 7);
        let stats = pool.stats();
        assert_eq!((stats.completed, stats.running, stats.queued), (2, 0, 0));
    }

    #[tokio::test]
    async fn threads_end_with_the_pool() {
        let pool = pool(2, 1 << 20);
        assert!(pool.hash("pw").await.is_ok());
        let shared = Arc::downgrade(&pool.inner.shared);
        drop(pool);
        // Each thread holds the shared counters until it has seen the queue close.
        while shared.upgrade().is_some() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn hashing_threads_keep_the_configured_argon2_memory() {
        let pool = pool(1, 1 << 20);
        let kept = pool
            .run(0, || {
                crate::hash::hash_password(b"pw", &fast_config())?;
                Ok(crate::hash::memory::kept_kib())
            })
            .await
            .unwrap();
        assert_eq!(kept, 64);
        let mut bcrypt = fast_config();
        bcrypt.algorithm = Algorithm::Bcrypt;
        pool.set_config(bcrypt).unwrap();
        let kept = pool
            .run(0, || Ok(crate::hash::memory::kept_kib()))
            .await
            .unwrap();
        assert_eq!(kept, 0, "memory no hash will use is given back");
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
