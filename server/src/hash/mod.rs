//! Password hashing: the configured hashers (argon2id, bcrypt), verification of every hash
//! format Kratos imports, re-hash decisions, a bounded hashing pool and argon2 calibration.
//!
//! On request paths use [`HashPool`]: it runs the expensive work on threads of its own,
//! bounded by CPU count and a memory budget. The free functions are the same operations on the
//! calling thread, for the pool itself, the CLI and tests.
//!
//! Login flow, as Kratos does it:
//! 1. unknown identifier → [`HashPool::verify_dummy`] (same cost as a real check), then fail;
//! 2. [`HashPool::verify`] the stored hash; `Ok(false)` and `Err` both mean invalid
//!    credentials (log the `Err`);
//! 3. on success, if [`HashPool::needs_rehash`], store [`HashPool::hash`] of the password.
//!
//! Import: [`identify`] is Kratos's acceptance check (known prefix); [`validate_import`] is the
//! stricter full parse with a 400 that says what is wrong.

pub mod calibrate;
mod config;
mod crypt;
mod formats;
mod generate;
pub mod memory;
mod pool;
#[cfg(test)]
mod vectors;

pub use config::{
    Algorithm, Argon2Params, BCRYPT_MAX_PASSWORD_BYTES, DEFAULT_BCRYPT_COST, HasherConfig,
    default_parallelism,
};
pub use formats::{HashKind, PasswordHash, identify, validate_import};
pub use generate::hash_password;
pub use pool::{HashPool, PoolLimits, PoolStats};

use crate::error::Result;

/// Verifies `password` against a stored hash on the calling thread (see [`PasswordHash::verify`]).
/// Unlike [`HashPool::verify`] this enforces no memory budget.
pub fn verify_password(password: &[u8], hash: &str) -> Result<bool> {
    PasswordHash::parse(hash)?.verify(password)
}

/// Whether a stored hash should be replaced after a successful login: true unless it is in the
/// configured algorithm with exactly the configured parameters (argon2id: memory, iterations,
/// parallelism, salt and key length; bcrypt: cost). Unparseable hashes need it too.
///
/// Kratos only re-hashes when the algorithm differs; we also follow parameter changes.
pub fn needs_rehash(hash: &str, config: &HasherConfig) -> bool {
    PasswordHash::parse(hash).map_or(true, |parsed| parsed.needs_rehash(config))
}
