//! crypt(3) formats: MD5-crypt (`$1$`) and SHA-crypt (`$5$`, `$6$`).
//!
//! SHA-crypt's core comes from the `sha-crypt` crate; the parsing (including the spec's rounds
//! clamping) is ours. MD5-crypt has no maintained crate in the RustCrypto family, so it is
//! implemented here from Poul-Henning Kamp's description; it is only ever used to verify
//! imported hashes.

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// crypt(3)'s base64 alphabet.
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn is_crypt_b64(s: &str) -> bool {
    s.bytes().all(|b| ITOA64.contains(&b))
}

/// Appends the `count` low 6-bit groups of `value`, least significant first.
fn push_b64(out: &mut Vec<u8>, mut value: u32, count: usize) {
    for _ in 0..count {
        out.push(ITOA64[(value & 0x3f) as usize]);
        value >>= 6;
    }
}

#[derive(Clone)]
pub(super) struct Md5Crypt {
    salt: Vec<u8>,
    hash: String,
}

impl Md5Crypt {
    /// MD5-crypt uses at most 8 salt characters; longer salts are cut, as glibc does.
    const MAX_SALT: usize = 8;

    /// Parses `<salt>$<22 characters>` (the part after `$1$` or `$md5-crypt$`). The salt may be
    /// empty but its field must be present.
    pub(super) fn parse(rest: &str) -> std::result::Result<Self, &'static str> {
        let (salt, hash) = rest.split_once('$').ok_or("missing md5-crypt salt")?;
        if hash.len() != 22 || !is_crypt_b64(hash) {
            return Err("malformed md5-crypt hash");
        }
        let salt = salt.as_bytes();
        let salt = salt.get(..Self::MAX_SALT).unwrap_or(salt).to_vec();
        Ok(Md5Crypt {
            salt,
            hash: hash.to_string(),
        })
    }

    pub(super) fn verify(&self, password: &[u8]) -> bool {
        let computed = md5_crypt(password, &self.salt);
        bool::from(computed.as_slice().ct_eq(self.hash.as_bytes()))
    }
}

/// The MD5-crypt digest of `password` with `salt`, in crypt's base64 (22 characters).
fn md5_crypt(password: &[u8], salt: &[u8]) -> Vec<u8> {
    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();

    let mut ctx = Md5::new()
        .chain_update(password)
        .chain_update(b"$1$")
        .chain_update(salt);
    let mut remaining = password.len();
    while remaining > 0 {
        let take = remaining.min(16);
        ctx.update(&alternate[..take]);
        remaining -= take;
    }
    // One byte per bit of the password length: a zero byte for set bits, the password's first
    // byte for clear ones.
    let first = password.get(..1).unwrap_or_default();
    let mut bits = password.len();
    while bits != 0 {
        if bits & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(first);
        }
        bits >>= 1;
    }
    let mut digest = ctx.finalize();

    for round in 0..1000 {
        let mut ctx = Md5::new();
        if round % 2 == 1 {
            ctx.update(password);
        } else {
            ctx.update(digest);
        }
        if round % 3 != 0 {
            ctx.update(salt);
        }
        if round % 7 != 0 {
            ctx.update(password);
        }
        if round % 2 == 1 {
            ctx.update(digest);
        } else {
            ctx.update(password);
        }
        digest = ctx.finalize();
    }

    let mut out = Vec::with_capacity(22);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        let value = u32::from(digest[a]) << 16 | u32::from(digest[b]) << 8 | u32::from(digest[c]);
        push_b64(&mut out, value, 4);
    }
    push_b64(&mut out, u32::from(digest[11]), 2);
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ShaBits {
    Sha256,
    Sha512,
}

#[derive(Clone)]
pub(super) struct ShaCrypt {
    bits: ShaBits,
    rounds: usize,
    salt: Vec<u8>,
    hash: String,
}

impl ShaCrypt {
    const DEFAULT_ROUNDS: usize = 5_000;
    const MIN_ROUNDS: usize = 1_000;
    const MAX_ROUNDS: usize = 999_999_999;
    const MAX_SALT: usize = 16;

    /// Parses `[rounds=<n>$]<salt>$<hash>` (the part after `$5$`/`$6$` or Kratos's
    /// `$sha256-crypt$`/`$sha512-crypt$`). Out-of-range rounds are clamped as the SHA-crypt
    /// specification requires.
    pub(super) fn parse(bits: ShaBits, rest: &str) -> std::result::Result<Self, &'static str> {
        let (rounds, rest) = match rest.strip_prefix("rounds=") {
            Some(with_rounds) => {
                let (number, rest) = with_rounds
                    .split_once('$')
                    .ok_or("missing sha-crypt salt")?;
                if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("sha-crypt rounds is not a number");
                }
                // Anything too long for a u64 is far above the maximum anyway.
                let rounds = number.parse::<u64>().unwrap_or(u64::MAX);
                let rounds = usize::try_from(rounds).unwrap_or(usize::MAX);
                (rounds.clamp(Self::MIN_ROUNDS, Self::MAX_ROUNDS), rest)
            }
            None => (Self::DEFAULT_ROUNDS, rest),
        };
        let (salt, hash) = rest.split_once('$').ok_or("missing sha-crypt salt")?;
        let expected_len = match bits {
            ShaBits::Sha256 => 43,
            ShaBits::Sha512 => 86,
        };
        if hash.len() != expected_len || !is_crypt_b64(hash) {
            return Err("malformed sha-crypt hash");
        }
        let salt = salt.as_bytes();
        let salt = salt.get(..Self::MAX_SALT).unwrap_or(salt).to_vec();
        Ok(ShaCrypt {
            bits,
            rounds,
            salt,
            hash: hash.to_string(),
        })
    }

    pub(super) fn verify(&self, password: &[u8]) -> Result<bool> {
        let computed = match self.bits {
            ShaBits::Sha256 => sha_crypt::Sha256Params::new(self.rounds)
                .and_then(|params| sha_crypt::sha256_crypt_b64(password, &self.salt, &params)),
            ShaBits::Sha512 => sha_crypt::Sha512Params::new(self.rounds)
                .and_then(|params| sha_crypt::sha512_crypt_b64(password, &self.salt, &params)),
        }
        .map_err(|err| Error::internal(format!("sha-crypt: {err:?}")))?;
        Ok(bool::from(computed.as_bytes().ct_eq(self.hash.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_crypt_rejects_malformed_input() {
        assert!(
            Md5Crypt::parse("whuMjZj.HMFoaTaZRRtkO0").is_err(),
            "salt field is required"
        );
        assert!(Md5Crypt::parse("salt$").is_err());
        assert!(Md5Crypt::parse("salt$short").is_err());
        assert!(Md5Crypt::parse("salt$!!!!!!!!!!!!!!!!!!!!!!").is_err());
        assert!(Md5Crypt::parse("$$").is_err());
    }

    #[test]
    fn sha_crypt_clamps_rounds_and_rejects_garbage() {
        let hash = "a".repeat(43);
        assert_eq!(
            ShaCrypt::parse(ShaBits::Sha256, &format!("rounds=10$salt${hash}"))
                .unwrap()
                .rounds,
            1000
        );
        assert_eq!(
            ShaCrypt::parse(
                ShaBits::Sha256,
                &format!("rounds=99999999999999999999999$salt${hash}")
            )
            .unwrap()
            .rounds,
            999_999_999
        );
        assert_eq!(
            ShaCrypt::parse(ShaBits::Sha256, &format!("salt${hash}"))
                .unwrap()
                .rounds,
            5000
        );
        assert!(ShaCrypt::parse(ShaBits::Sha256, &format!("rounds=x$salt${hash}")).is_err());
        assert!(ShaCrypt::parse(ShaBits::Sha256, &format!("rounds=$salt${hash}")).is_err());
        assert!(
            ShaCrypt::parse(ShaBits::Sha512, &format!("salt${hash}")).is_err(),
            "sha512 needs 86 chars"
        );
        assert!(ShaCrypt::parse(ShaBits::Sha256, "$").is_err());
        assert!(ShaCrypt::parse(ShaBits::Sha256, "").is_err());
    }
}
