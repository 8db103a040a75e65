//! Argon2 working memory kept between hashes.
//!
//! A fresh allocation per hash is mapped from the kernel and faulted in page by page: with 64 MB
//! that is about a third of the hash's time. Finished hashes hand their memory back here,
//! wiped (it holds state derived from the password), up to a limit the hashing pool sets from
//! its slots and the configured memory (by default nothing is kept). Every hash still fills the
//! memory it is given from scratch. Spare memory goes back to the system after
//! [`RELEASE_AFTER`] without hashing, so a burst of logins does not leave an idle server holding
//! slots x memory for good.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use argon2::Block;
use zeroize::Zeroize;

/// Spare memories; any one at least as large as a hash needs is used for it.
static SPARE: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
/// How many KiB (blocks) may be kept in all.
static LIMIT_KIB: AtomicU64 = AtomicU64::new(0);
/// When memory was last handed back.
static LAST_KEPT: Mutex<Option<Instant>> = Mutex::new(None);

/// Idle time after which spare memory is released.
pub const RELEASE_AFTER: Duration = Duration::from_secs(30);

/// Keeps at most `limit_kib` of argon2 memory between hashes (0: none); drops spare memory
/// beyond a lowered limit at once.
pub fn set_limit(limit_kib: u64) {
    LIMIT_KIB.store(limit_kib, Ordering::Release);
    if let Ok(mut spare) = SPARE.lock() {
        while kept_kib(&spare) > limit_kib {
            spare.pop();
        }
    }
}

fn kept_kib(spare: &[Vec<Block>]) -> u64 {
    spare.iter().map(|m| m.len() as u64).sum()
}

/// Runs argon2 on spare memory when there is enough of it, else on a new allocation, and keeps
/// the memory afterwards if the limit allows.
pub fn hash_into(
    argon: &argon2::Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    let needed = argon.params().block_count();
    let reused = SPARE.lock().ok().and_then(|mut spare| {
        let at = spare.iter().position(|m| m.len() >= needed)?;
        Some(spare.swap_remove(at))
    });
    let mut memory = reused.unwrap_or_else(|| vec![Block::default(); needed]);
    let result = argon.hash_password_into_with_memory(password, salt, out, &mut memory[..]);
    let limit = LIMIT_KIB.load(Ordering::Acquire);
    if memory.len() as u64 <= limit {
        wipe(&mut memory);
        if let Ok(mut spare) = SPARE.lock()
            && kept_kib(&spare) + memory.len() as u64 <= limit
        {
            spare.push(memory);
            if let Ok(mut last) = LAST_KEPT.lock() {
                *last = Some(Instant::now());
            }
            start_releaser();
        }
    }
    result
}

/// Drops all spare memory if none was handed back for `idle`.
pub fn release_if_idle(idle: Duration) {
    let idle_long_enough = LAST_KEPT
        .lock()
        .map(|last| idle_since(*last, idle))
        .unwrap_or(true);
    if idle_long_enough && let Ok(mut spare) = SPARE.lock() {
        spare.clear();
    }
}

fn idle_since(last_kept: Option<Instant>, idle: Duration) -> bool {
    last_kept.is_none_or(|at| at.elapsed() >= idle)
}

/// A thread (not a task: hashing also runs outside the async runtime, in the CLI) that releases
/// spare memory once hashing has been idle for [`RELEASE_AFTER`].
fn start_releaser() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("argon2-memory".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(RELEASE_AFTER / 3);
                    release_if_idle(RELEASE_AFTER);
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot start the thread releasing idle argon2 memory");
        }
    });
}

/// Zeroes every block and keeps the length (`Vec::zeroize` would also empty the vector).
fn wipe(memory: &mut [Block]) {
    memory.iter_mut().for_each(Zeroize::zeroize);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reused_memory_gives_the_same_hashes() {
        let params = argon2::Params::new(64, 2, 1, Some(32)).unwrap();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut fresh = [0u8; 32];
        argon
            .hash_password_into(b"password", b"saltsaltsalt", &mut fresh)
            .unwrap();
        // The limit is process-wide: other tests may change it meanwhile, which only decides
        // whether memory is reused, never the result.
        set_limit(1024);
        let mut first = [0u8; 32];
        let mut second = [0u8; 32];
        hash_into(&argon, b"password", b"saltsaltsalt", &mut first).unwrap();
        hash_into(&argon, b"password", b"saltsaltsalt", &mut second).unwrap();
        assert_eq!(first, fresh);
        assert_eq!(second, fresh);
        let mut other = [0u8; 32];
        hash_into(&argon, b"other", b"saltsaltsalt", &mut other).unwrap();
        assert_ne!(other, fresh);
    }

    #[test]
    fn memory_counts_as_idle_only_after_the_delay() {
        // (Releasing itself is not asserted here: other tests hash in parallel through the same
        // process-wide spare list.)
        let now = Instant::now();
        assert!(idle_since(None, RELEASE_AFTER));
        assert!(!idle_since(Some(now), RELEASE_AFTER));
        assert!(idle_since(Some(now), Duration::ZERO));
    }

    #[test]
    fn wiped_memory_keeps_its_size() {
        let mut memory = vec![Block::new(); 8];
        let params = argon2::Params::new(8, 1, 1, Some(32)).unwrap();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = [0u8; 32];
        argon
            .hash_password_into_with_memory(b"password", b"saltsaltsalt", &mut out, &mut memory[..])
            .unwrap();
        assert!(memory.iter().any(|b| b.as_ref().iter().any(|w| *w != 0)));
        wipe(&mut memory);
        assert_eq!(memory.len(), 8);
        assert!(memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
    }
}
