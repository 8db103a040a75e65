//! The hasher configuration: what new password hashes are made with.
//!
//! This mirrors Kratos's `hashers.*` keys; the config module maps the parsed `kratos.yml` onto
//! [`HasherConfig`]. Units are normalised here: Kratos's byte sizes (`128MB`, where 1 MB is
//! 1024 KiB) become KiB.

use crate::error::{Error, Result};

/// The algorithm new hashes are made with (`hashers.algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// Kratos's `argon2`: Argon2id, version 0x13.
    ///
    /// Our default. Kratos defaults to bcrypt; we deliberately choose the memory-hard algorithm.
    #[default]
    Argon2id,
    /// Kratos's `bcrypt`, written with the `$2a$` prefix as Kratos does.
    Bcrypt,
}

impl Algorithm {
    /// The value of `hashers.algorithm` that selects this algorithm.
    pub fn config_name(self) -> &'static str {
        match self {
            Algorithm::Argon2id => "argon2",
            Algorithm::Bcrypt => "bcrypt",
        }
    }

    /// Parses a `hashers.algorithm` value (`argon2` or `bcrypt`).
    pub fn from_config_name(name: &str) -> Option<Self> {
        match name {
            "argon2" => Some(Algorithm::Argon2id),
            "bcrypt" => Some(Algorithm::Bcrypt),
            _ => None,
        }
    }
}

/// Argon2id parameters (`hashers.argon2.*`), exactly the ones encoded in a hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    /// `memory`, in KiB (Kratos's default `128MB` is 131072 KiB).
    pub memory_kib: u32,
    /// `iterations` (argon2's time cost `t`).
    pub iterations: u32,
    /// `parallelism` (argon2's lanes `p`).
    pub parallelism: u32,
    /// `salt_length`, in bytes.
    pub salt_length: u32,
    /// `key_length`, in bytes.
    pub key_length: u32,
}

impl Default for Argon2Params {
    /// Kratos's defaults: 128 MB, 1 iteration, 2 × CPUs lanes, 16-byte salt, 32-byte key.
    fn default() -> Self {
        Argon2Params {
            memory_kib: 128 * 1024,
            iterations: 1,
            parallelism: default_parallelism(),
            salt_length: 16,
            key_length: 32,
        }
    }
}

/// Kratos's default `parallelism`: twice the number of CPUs (it stores it in a `u8`).
///
/// This depends on the machine, so replicas with different CPU counts would re-hash each other's
/// hashes on login (see [`super::needs_rehash`]); set `hashers.argon2.parallelism` explicitly
/// in multi-replica deployments.
pub fn default_parallelism() -> u32 {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    u32::try_from(cpus.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .clamp(1, 255)
}

/// The complete hashing configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HasherConfig {
    /// `hashers.algorithm`.
    pub algorithm: Algorithm,
    /// `hashers.argon2.{memory,iterations,parallelism,salt_length,key_length}`.
    pub argon2: Argon2Params,
    /// `hashers.bcrypt.cost`. Kratos raises values below 12 to 12 outside `--dev`; that rule
    /// belongs to the config mapping, which knows about `--dev`.
    pub bcrypt_cost: u32,
    /// `hashers.argon2.dedicated_memory`, in KiB: the memory password hashing may use at once.
    /// [`super::HashPool`] queues work instead of exceeding it. Kratos's default is 1 GB.
    pub dedicated_memory_kib: u64,
}

impl Default for HasherConfig {
    fn default() -> Self {
        HasherConfig {
            algorithm: Algorithm::default(),
            argon2: Argon2Params::default(),
            bcrypt_cost: DEFAULT_BCRYPT_COST,
            dedicated_memory_kib: 1024 * 1024,
        }
    }
}

/// Kratos's default bcrypt cost, and its minimum outside `--dev`.
pub const DEFAULT_BCRYPT_COST: u32 = 12;

/// bcrypt only reads the first 72 bytes of a password. Kratos refuses longer passwords rather
/// than silently ignoring the rest, and so do we.
pub const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;

impl HasherConfig {
    /// Checks the values the algorithms themselves require (Kratos's config schema bounds plus
    /// argon2's `memory >= 8 × parallelism`). The error names the offending key.
    pub fn validate(&self) -> Result<()> {
        let a = &self.argon2;
        let bad = |key: &str, why: String| Err(Error::Config(format!("hashers.{key}: {why}")));
        if a.iterations < 1 {
            return bad("argon2.iterations", "must be at least 1".into());
        }
        if !(1..=255).contains(&a.parallelism) {
            return bad("argon2.parallelism", "must be between 1 and 255".into());
        }
        if u64::from(a.memory_kib) < 8 * u64::from(a.parallelism) {
            return bad(
                "argon2.memory",
                format!(
                    "must be at least 8 KiB per lane ({} KiB for parallelism {})",
                    8 * a.parallelism,
                    a.parallelism
                ),
            );
        }
        if a.salt_length < 16 {
            return bad("argon2.salt_length", "must be at least 16".into());
        }
        if a.key_length < 16 {
            return bad("argon2.key_length", "must be at least 16".into());
        }
        if !(4..=31).contains(&self.bcrypt_cost) {
            return bad("bcrypt.cost", "must be between 4 and 31".into());
        }
        if self.dedicated_memory_kib == 0 {
            return bad("argon2.dedicated_memory", "must be more than 0".into());
        }
        Ok(())
    }

    /// The longest password (in bytes) the configured algorithm can hash, if it has a limit.
    /// The password policy uses this to answer with Kratos's "at most 72 characters" message.
    pub fn max_password_bytes(&self) -> Option<usize> {
        match self.algorithm {
            Algorithm::Argon2id => None,
            Algorithm::Bcrypt => Some(BCRYPT_MAX_PASSWORD_BYTES),
        }
    }

    /// Memory one hash with the configured algorithm needs, in KiB.
    pub fn memory_per_hash_kib(&self) -> u64 {
        match self.algorithm {
            Algorithm::Argon2id => u64::from(self.argon2.memory_kib),
            // bcrypt's state is about 4 KiB.
            Algorithm::Bcrypt => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_kratos_except_the_algorithm() {
        let c = HasherConfig::default();
        assert_eq!(c.algorithm, Algorithm::Argon2id);
        assert_eq!(c.argon2.memory_kib, 131072);
        assert_eq!(c.argon2.iterations, 1);
        assert_eq!(c.argon2.salt_length, 16);
        assert_eq!(c.argon2.key_length, 32);
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(c.argon2.parallelism as usize, (2 * cpus).min(255));
        assert_eq!(c.bcrypt_cost, 12);
        assert_eq!(c.dedicated_memory_kib, 1 << 20);
        c.validate().unwrap();
    }

    #[test]
    fn algorithm_names_are_kratos_config_values() {
        assert_eq!(
            Algorithm::from_config_name("argon2"),
            Some(Algorithm::Argon2id)
        );
        assert_eq!(
            Algorithm::from_config_name("bcrypt"),
            Some(Algorithm::Bcrypt)
        );
        assert_eq!(Algorithm::from_config_name("argon2id"), None);
        assert_eq!(Algorithm::Bcrypt.config_name(), "bcrypt");
        assert_eq!(Algorithm::Argon2id.config_name(), "argon2");
    }

    #[test]
    fn validation_names_the_key() {
        let c = HasherConfig {
            bcrypt_cost: 3,
            ..HasherConfig::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("hashers.bcrypt.cost")
        );

        let mut c = HasherConfig::default();
        c.argon2.parallelism = 4;
        c.argon2.memory_kib = 31;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("hashers.argon2.memory")
        );

        let mut c = HasherConfig::default();
        c.argon2.salt_length = 8;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("hashers.argon2.salt_length")
        );

        let mut c = HasherConfig::default();
        c.argon2.iterations = 0;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("hashers.argon2.iterations")
        );
    }

    #[test]
    fn only_bcrypt_limits_password_length() {
        let mut c = HasherConfig::default();
        assert_eq!(c.max_password_bytes(), None);
        c.algorithm = Algorithm::Bcrypt;
        assert_eq!(c.max_password_bytes(), Some(72));
    }
}
