//! Argon2 working memory kept between hashes, per thread.
//!
//! A fresh allocation per hash is mapped from the kernel and faulted in page by page: with 64 MB
//! that is about a third of the hash's time. A thread that opts in with
//! [`keep_on_this_thread`] (the hashing pool's threads, the CLI's hashing loop) keeps its memory
//! for its next hash, wiped (it holds state derived from the password). Keeping it on the thread
//! that used it, rather than in a shared list, keeps it on that thread's core and cache.
//! Every hash still fills the memory it is given from scratch. [`release`] gives it back to the
//! system; the pool's threads do so after a while without hashing.

use std::cell::{Cell, RefCell};

use argon2::Block;
use zeroize::Zeroize;

thread_local! {
    /// How many KiB (blocks) this thread may keep between hashes (0: none).
    static KEEP_KIB: Cell<u64> = const { Cell::new(0) };
    /// This thread's kept memory, wiped.
    static KEPT: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Lets this thread keep up to `max_kib` of argon2 memory between hashes (0: none); memory kept
/// beyond a lowered limit is dropped at once.
pub fn keep_on_this_thread(max_kib: u64) {
    KEEP_KIB.with(|keep| keep.set(max_kib));
    KEPT.with(|kept| {
        if kept.borrow().len() as u64 > max_kib {
            kept.replace(Vec::new());
        }
    });
}

/// Gives this thread's kept memory back to the system.
pub fn release() {
    KEPT.with(|kept| kept.replace(Vec::new()));
}

/// How much memory this thread keeps now, in KiB.
pub fn kept_kib() -> u64 {
    KEPT.with(|kept| kept.borrow().len() as u64)
}

/// Runs argon2 on this thread's kept memory when it is large enough, else on a new allocation,
/// and keeps the memory afterwards if this thread's limit allows.
pub fn hash_into(
    argon: &argon2::Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    let needed = argon.params().block_count();
    // Taken out of the cell for the hash: a panic inside argon2 then drops it instead of
    // leaving it borrowed.
    let mut memory = KEPT.with(|kept| kept.take());
    if memory.len() < needed {
        memory = vec![Block::default(); needed];
    }
    let result = argon.hash_password_into_with_memory(password, salt, out, &mut memory[..needed]);
    if memory.len() as u64 <= KEEP_KIB.with(Cell::get) {
        wipe(&mut memory[..needed]);
        KEPT.with(|kept| kept.replace(memory));
    }
    result
}

/// Zeroes every block and keeps the length (`Vec::zeroize` would also empty the vector).
fn wipe(memory: &mut [Block]) {
    memory.iter_mut().for_each(Zeroize::zeroize);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argon2id(memory_kib: u32) -> argon2::Argon2<'static> {
        let params = argon2::Params::new(memory_kib, 2, 1, Some(32)).unwrap();
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
    }

    #[test]
    fn kept_memory_gives_the_same_hashes() {
        let argon = argon2id(64);
        let mut fresh = [0u8; 32];
        argon
            .hash_password_into(b"password", b"saltsaltsalt", &mut fresh)
            .unwrap();
        keep_on_this_thread(1024);
        let mut first = [0u8; 32];
        let mut second = [0u8; 32];
        hash_into(&argon, b"password", b"saltsaltsalt", &mut first).unwrap();
        assert_eq!(kept_kib(), 64);
        hash_into(&argon, b"password", b"saltsaltsalt", &mut second).unwrap();
        assert_eq!(first, fresh);
        assert_eq!(second, fresh);
        let mut other = [0u8; 32];
        hash_into(&argon, b"other", b"saltsaltsalt", &mut other).unwrap();
        assert_ne!(other, fresh);
        // Larger memory kept from an earlier hash serves a smaller one, with the same result.
        let small = argon2id(32);
        let mut expected = [0u8; 32];
        small
            .hash_password_into(b"password", b"saltsaltsalt", &mut expected)
            .unwrap();
        let mut got = [0u8; 32];
        hash_into(&small, b"password", b"saltsaltsalt", &mut got).unwrap();
        assert_eq!(got, expected);
        assert_eq!(kept_kib(), 64);
    }

    #[test]
    fn memory_is_kept_only_within_the_threads_limit() {
        let argon = argon2id(64);
        let mut out = [0u8; 32];
        // Threads keep nothing unless they opt in (tests run on threads of their own).
        hash_into(&argon, b"password", b"saltsaltsalt", &mut out).unwrap();
        assert_eq!(kept_kib(), 0);
        keep_on_this_thread(32);
        hash_into(&argon, b"password", b"saltsaltsalt", &mut out).unwrap();
        assert_eq!(kept_kib(), 0, "64 KiB is over the limit");
        keep_on_this_thread(64);
        hash_into(&argon, b"password", b"saltsaltsalt", &mut out).unwrap();
        assert_eq!(kept_kib(), 64);
        keep_on_this_thread(16);
        assert_eq!(kept_kib(), 0, "a lowered limit drops memory at once");
        keep_on_this_thread(64);
        hash_into(&argon, b"password", b"saltsaltsalt", &mut out).unwrap();
        release();
        assert_eq!(kept_kib(), 0);
    }

    #[test]
    fn kept_memory_is_wiped() {
        keep_on_this_thread(8);
        let mut out = [0u8; 32];
        hash_into(&argon2id(8), b"password", b"saltsaltsalt", &mut out).unwrap();
        KEPT.with(|kept| {
            let kept = kept.borrow();
            assert_eq!(kept.len(), 8);
            assert!(kept.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
        });
        // The wipe is what clears it: the same memory after a hash, unwiped, is not zero.
        let mut memory = vec![Block::new(); 8];
        argon2id(8)
            .hash_password_into_with_memory(b"password", b"saltsaltsalt", &mut out, &mut memory[..])
            .unwrap();
        assert!(memory.iter().any(|b| b.as_ref().iter().any(|w| *w != 0)));
        wipe(&mut memory);
        assert!(memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
    }
}
