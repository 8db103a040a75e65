//! Making new hashes with the configured hasher, in exactly the strings Kratos stores.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::TryRng;

use super::config::{Algorithm, Argon2Params, BCRYPT_MAX_PASSWORD_BYTES, HasherConfig};
use crate::error::{ApiError, Error, Result};

/// Hashes `password` with the configured algorithm. CPU- and memory-heavy: call it through
/// [`super::HashPool`] on request paths.
///
/// bcrypt refuses passwords over 72 bytes (it would silently ignore the rest) with a 400 whose
/// reason is Kratos's message; the password policy should catch this first, using
/// [`HasherConfig::max_password_bytes`].
pub fn hash_password(password: &[u8], config: &HasherConfig) -> Result<String> {
    match config.algorithm {
        Algorithm::Argon2id => hash_argon2id(password, &config.argon2),
        Algorithm::Bcrypt => hash_bcrypt(password, config.bcrypt_cost),
    }
}

/// `$argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<hash>`, salt and hash in unpadded
/// standard base64.
pub(super) fn hash_argon2id(password: &[u8], params: &Argon2Params) -> Result<String> {
    let salt = random_bytes(params.salt_length)?;
    let mut key = vec![0u8; to_usize(params.key_length)?];
    super::memory::hash_into(&argon2_instance(params)?, password, &salt, &mut key)
        .map_err(|err| Error::internal(format!("argon2: {err}")))?;
    Ok(format_argon2id(params, &salt, &key))
}

pub(super) fn format_argon2id(params: &Argon2Params, salt: &[u8], key: &[u8]) -> String {
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(key),
    )
}

pub(super) fn argon2_instance(params: &Argon2Params) -> Result<argon2::Argon2<'static>> {
    let argon_params = argon2::Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(to_usize(params.key_length)?),
    )
    .map_err(|err| Error::Config(format!("hashers.argon2: {err}")))?;
    Ok(argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon_params,
    ))
}

/// `$2a$<cost>$<salt><hash>`: Kratos (Go's bcrypt) writes the `2a` minor version. For passwords
/// of at most 72 bytes it computes the same as `2b`.
pub(super) fn hash_bcrypt(password: &[u8], cost: u32) -> Result<String> {
    if password.len() > BCRYPT_MAX_PASSWORD_BYTES {
        return Err(password_too_long(password.len()).into());
    }
    let parts = bcrypt::hash_with_result(password, cost)
        .map_err(|err| Error::internal(format!("bcrypt: {err}")))?;
    Ok(parts.format_for_version(bcrypt::Version::TwoA))
}

/// Kratos's answer to a password bcrypt cannot hash.
fn password_too_long(actual: usize) -> ApiError {
    ApiError::bad_request().with_reason(format!(
        "The password must be at most {BCRYPT_MAX_PASSWORD_BYTES} characters long, but got {actual}."
    ))
}

pub(super) fn random_bytes(len: u32) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; to_usize(len)?];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|err| Error::internal(format!("random source: {err}")))?;
    Ok(bytes)
}

fn to_usize(n: u32) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::internal("length does not fit in memory"))
}
