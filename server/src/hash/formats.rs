//! Stored password hashes: recognising, parsing and verifying every format Kratos accepts on
//! import (and therefore may have stored).
//!
//! Parsing is strict and cheap; the expensive part is [`PasswordHash::verify`], which runs the
//! algorithm and compares digests in constant time. Error reasons are static strings so that no
//! hash material ever reaches a log line.

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, STANDARD_NO_PAD,
};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use super::config::{Algorithm, BCRYPT_MAX_PASSWORD_BYTES, HasherConfig};
use super::crypt;
use crate::error::{ApiError, Error, Result};

/// The families of password hashes we can verify. Names follow Kratos's hash comparator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashKind {
    /// `$argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<hash>`
    Argon2id,
    /// `$argon2i$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<hash>`
    Argon2i,
    /// `$2a$<cost>$<salt+hash>` (also `$2$`, `$2b$`, `$2y$`, `$2z$`)
    Bcrypt,
    /// `$pbkdf2-<sha1|sha224|sha256|sha384|sha512>$i=<iterations>,l=<length>$<salt>$<hash>`
    Pbkdf2,
    /// `$scrypt$ln=<N>,r=<r>,p=<p>$<salt>$<hash>`
    Scrypt,
    /// `$firescrypt$ln=<mem_cost>,r=<rounds>,p=<p>$<salt>$<hash>$<salt separator>$<signer key>`
    FirebaseScrypt,
    /// `{SSHA}`, `{SSHA256}`, `{SSHA512}` followed by base64(digest ‖ salt)
    Ssha,
    /// `$<sha1|sha256|sha512>$pf=<pattern>$<salt>$<hash>`
    SaltedSha,
    /// `$md5$<hash>` or `$md5$pf=<pattern>$<salt>$<hash>`
    Md5,
    /// `$hmac-<md4|md5|sha1|sha224|sha256|sha384|sha512>$<hex digest>$<key>`
    Hmac,
    /// `$md5-crypt$<salt>$<hash>` or crypt(3)'s `$1$<salt>$<hash>`
    Md5Crypt,
    /// `$sha256-crypt$[rounds=<n>$]<salt>$<hash>` or crypt(3)'s `$5$…`
    Sha256Crypt,
    /// `$sha512-crypt$[rounds=<n>$]<salt>$<hash>` or crypt(3)'s `$6$…`
    Sha512Crypt,
}

impl HashKind {
    /// A stable, non-secret name for logs and metrics (Kratos's `hash.type` names).
    pub fn name(self) -> &'static str {
        match self {
            HashKind::Argon2id => "argon2id",
            HashKind::Argon2i => "argon2i",
            HashKind::Bcrypt => "bcrypt",
            HashKind::Pbkdf2 => "pbkdf2",
            HashKind::Scrypt => "scrypt",
            HashKind::FirebaseScrypt => "firebasescrypt",
            HashKind::Ssha => "ssha",
            HashKind::SaltedSha => "sha",
            HashKind::Md5 => "md5",
            HashKind::Hmac => "hmac",
            HashKind::Md5Crypt => "md5crypt",
            HashKind::Sha256Crypt => "sha256crypt",
            HashKind::Sha512Crypt => "sha512crypt",
        }
    }
}

/// Which format a stored hash claims to be, judged by its prefix only.
///
/// This is Kratos's import check (`IsValidHashFormat`): a hash with a known prefix is accepted
/// even if the rest is garbled. [`validate_import`] checks the whole string. Beyond Kratos we
/// also recognise crypt(3)'s own `$1$`, `$5$` and `$6$` prefixes.
pub fn identify(hash: &str) -> Option<HashKind> {
    let (kind, _) = split_prefix(hash)?;
    Some(kind)
}

/// Parses a hash given for import and reports exactly what is wrong with it as a 400 error.
pub fn validate_import(hash: &str) -> Result<HashKind> {
    PasswordHash::parse_detailed(hash)
        .map(|parsed| parsed.kind())
        .map_err(|reason| {
            ApiError::bad_request()
                .with_reason(format!(
                    "The imported password hash is not valid: {reason}. For more information see https://www.ory.sh/dr/2"
                ))
                .into()
        })
}

/// Splits off the format prefix, returning the kind and the rest of the string (after the
/// prefix's closing `$` or `}`).
fn split_prefix(hash: &str) -> Option<(HashKind, &str)> {
    const FIXED: &[(&str, HashKind)] = &[
        ("$md5-crypt$", HashKind::Md5Crypt),
        ("$1$", HashKind::Md5Crypt),
        ("$sha256-crypt$", HashKind::Sha256Crypt),
        ("$5$", HashKind::Sha256Crypt),
        ("$sha512-crypt$", HashKind::Sha512Crypt),
        ("$6$", HashKind::Sha512Crypt),
        ("$argon2id$", HashKind::Argon2id),
        ("$argon2i$", HashKind::Argon2i),
        ("$scrypt$", HashKind::Scrypt),
        ("$firescrypt$", HashKind::FirebaseScrypt),
        ("$md5$", HashKind::Md5),
        ("$sha1$", HashKind::SaltedSha),
        ("$sha256$", HashKind::SaltedSha),
        ("$sha512$", HashKind::SaltedSha),
        ("{SSHA}", HashKind::Ssha),
        ("{SSHA256}", HashKind::Ssha),
        ("{SSHA512}", HashKind::Ssha),
        ("$2$", HashKind::Bcrypt),
        ("$2a$", HashKind::Bcrypt),
        ("$2b$", HashKind::Bcrypt),
        ("$2y$", HashKind::Bcrypt),
        ("$2z$", HashKind::Bcrypt),
    ];
    for (prefix, kind) in FIXED {
        if let Some(rest) = hash.strip_prefix(prefix) {
            return Some((*kind, rest));
        }
    }
    // `$pbkdf2-sha<1 to 3 digits>$`
    if let Some(rest) = hash.strip_prefix("$pbkdf2-sha") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if (1..=3).contains(&digits) && rest.as_bytes().get(digits) == Some(&b'$') {
            return Some((HashKind::Pbkdf2, &rest[digits + 1..]));
        }
    }
    // `$hmac-<digest>$`
    if let Some(rest) = hash.strip_prefix("$hmac-") {
        let (name, rest) = rest.split_once('$')?;
        HmacDigest::from_name(name)?;
        return Some((HashKind::Hmac, rest));
    }
    None
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ShaDigest {
    Sha1,
    Sha256,
    Sha512,
}

impl ShaDigest {
    fn len(self) -> usize {
        match self {
            ShaDigest::Sha1 => 20,
            ShaDigest::Sha256 => 32,
            ShaDigest::Sha512 => 64,
        }
    }

    fn digest(self, input: &[u8]) -> Vec<u8> {
        match self {
            ShaDigest::Sha1 => Sha1::digest(input).to_vec(),
            ShaDigest::Sha256 => Sha256::digest(input).to_vec(),
            ShaDigest::Sha512 => Sha512::digest(input).to_vec(),
        }
    }
}

/// PBKDF2's pseudo-random function. Kratos maps `sha224` and `sha384` to **SHA3**-224 and
/// SHA3-384 (not SHA-2); hashes Kratos made or accepted verify only with that mapping, so we
/// keep it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pbkdf2Digest {
    Sha1,
    Sha3_224,
    Sha256,
    Sha3_384,
    Sha512,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HmacDigest {
    Md4,
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl HmacDigest {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "md4" => HmacDigest::Md4,
            "md5" => HmacDigest::Md5,
            "sha1" => HmacDigest::Sha1,
            "sha224" => HmacDigest::Sha224,
            "sha256" => HmacDigest::Sha256,
            "sha384" => HmacDigest::Sha384,
            "sha512" => HmacDigest::Sha512,
            _ => return None,
        })
    }

    fn len(self) -> usize {
        match self {
            HmacDigest::Md4 | HmacDigest::Md5 => 16,
            HmacDigest::Sha1 => 20,
            HmacDigest::Sha224 => 28,
            HmacDigest::Sha256 => 32,
            HmacDigest::Sha384 => 48,
            HmacDigest::Sha512 => 64,
        }
    }

    fn mac(self, key: &[u8], message: &[u8]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
            // HMAC accepts keys of any length, so this cannot fail.
            match <M as hmac::digest::KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(message);
                    mac.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        }
        match self {
            HmacDigest::Md4 => run::<Hmac<md4::Md4>>(key, message),
            HmacDigest::Md5 => run::<Hmac<md5::Md5>>(key, message),
            HmacDigest::Sha1 => run::<Hmac<Sha1>>(key, message),
            HmacDigest::Sha224 => run::<Hmac<Sha224>>(key, message),
            HmacDigest::Sha256 => run::<Hmac<Sha256>>(key, message),
            HmacDigest::Sha384 => run::<Hmac<Sha384>>(key, message),
            HmacDigest::Sha512 => run::<Hmac<Sha512>>(key, message),
        }
    }
}

/// scrypt's cost parameters, already checked against the algorithm's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ScryptCost {
    log_n: u8,
    r: u32,
    p: u32,
}

impl ScryptCost {
    fn new(log_n: u32, r: u32, p: u32) -> std::result::Result<Self, &'static str> {
        let log_n = u8::try_from(log_n).map_err(|_| "scrypt N is too large")?;
        scrypt::Params::new(log_n, r, p, 32).map_err(|_| "scrypt parameters are out of range")?;
        Ok(ScryptCost { log_n, r, p })
    }

    fn params(self) -> std::result::Result<scrypt::Params, &'static str> {
        scrypt::Params::new(self.log_n, self.r, self.p, 32)
            .map_err(|_| "scrypt parameters are out of range")
    }

    /// scrypt's working memory: `V` (128·r·N bytes) plus `B` (128·r·p bytes).
    fn memory_kib(self) -> u64 {
        let r128 = 128u128 * u128::from(self.r);
        let bytes = r128 * (1u128 << self.log_n) + r128 * u128::from(self.p);
        u64::try_from(bytes.div_ceil(1024)).unwrap_or(u64::MAX)
    }
}

/// The smallest derived key we accept from key-derivation formats. Kratos accepts empty
/// ones, which every password matches; a hash this short is not a password hash.
const MIN_DERIVED_KEY_BYTES: usize = 8;

/// No real password hash needs more memory than this; verifying one that claims to would risk
/// an allocation failure, which aborts the process. (The pool's budget is usually far lower.)
const MAX_HASH_MEMORY_KIB: u64 = 4 * 1024 * 1024;

/// A parsed stored password hash.
#[derive(Clone)]
pub struct PasswordHash {
    kind: HashKind,
    inner: Parsed,
}

#[derive(Clone)]
enum Parsed {
    Argon2 {
        algorithm: argon2::Algorithm,
        params: argon2::Params,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Bcrypt {
        /// The hash rewritten to `$2b$`: every bcrypt minor version is computed the same way
        /// for passwords of at most 72 bytes (as Go's bcrypt, which Kratos uses, does).
        normalized: String,
        minor: Option<u8>,
        cost: u32,
    },
    Pbkdf2 {
        digest: Pbkdf2Digest,
        iterations: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Scrypt {
        cost: ScryptCost,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    FirebaseScrypt {
        cost: ScryptCost,
        salt: Vec<u8>,
        hash: Vec<u8>,
        salt_separator: Vec<u8>,
        signer_key: Vec<u8>,
    },
    Ssha {
        digest: ShaDigest,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    SaltedSha {
        digest: ShaDigest,
        pattern: Vec<u8>,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    Md5 {
        /// `(pattern, salt)` for the salted form.
        salting: Option<(Vec<u8>, Vec<u8>)>,
        hash: Vec<u8>,
    },
    Hmac {
        digest: HmacDigest,
        hash: Vec<u8>,
        key: Vec<u8>,
    },
    Md5Crypt(crypt::Md5Crypt),
    ShaCrypt(crypt::ShaCrypt),
}

impl std::fmt::Debug for PasswordHash {
    /// Only the kind: salts and digests stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHash")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl PasswordHash {
    /// Parses a stored hash. A garbled or unknown hash is an internal error: stored data is
    /// broken, and the login must fail without revealing why.
    pub fn parse(hash: &str) -> Result<Self> {
        Self::parse_detailed(hash)
            .map_err(|reason| Error::internal(format!("unusable password hash: {reason}")))
    }

    fn parse_detailed(hash: &str) -> std::result::Result<Self, &'static str> {
        let (kind, rest) = split_prefix(hash).ok_or("unknown hash format")?;
        let inner = match kind {
            HashKind::Argon2id => parse_argon2(argon2::Algorithm::Argon2id, rest)?,
            HashKind::Argon2i => parse_argon2(argon2::Algorithm::Argon2i, rest)?,
            HashKind::Bcrypt => parse_bcrypt(hash, rest)?,
            HashKind::Pbkdf2 => parse_pbkdf2(hash, rest)?,
            HashKind::Scrypt => parse_scrypt(rest)?,
            HashKind::FirebaseScrypt => parse_firebase_scrypt(rest)?,
            HashKind::Ssha => parse_ssha(hash)?,
            HashKind::SaltedSha => parse_salted_sha(hash, rest)?,
            HashKind::Md5 => parse_md5(rest)?,
            HashKind::Hmac => parse_hmac(hash, rest)?,
            HashKind::Md5Crypt => Parsed::Md5Crypt(crypt::Md5Crypt::parse(rest)?),
            HashKind::Sha256Crypt => {
                Parsed::ShaCrypt(crypt::ShaCrypt::parse(crypt::ShaBits::Sha256, rest)?)
            }
            HashKind::Sha512Crypt => {
                Parsed::ShaCrypt(crypt::ShaCrypt::parse(crypt::ShaBits::Sha512, rest)?)
            }
        };
        let parsed = PasswordHash { kind, inner };
        if parsed.memory_kib() > MAX_HASH_MEMORY_KIB {
            return Err("the hash needs more than 4 GiB of memory to verify");
        }
        Ok(parsed)
    }

    pub fn kind(&self) -> HashKind {
        self.kind
    }

    /// The working memory verifying this hash takes, in KiB (what the hashing pool budgets).
    pub fn memory_kib(&self) -> u64 {
        match &self.inner {
            Parsed::Argon2 { params, .. } => u64::from(params.m_cost()),
            Parsed::Scrypt { cost, .. } | Parsed::FirebaseScrypt { cost, .. } => cost.memory_kib(),
            Parsed::Bcrypt { .. } => 4,
            _ => 0,
        }
    }

    /// Whether this hash should be replaced by one made with `config` after a successful login:
    /// true unless it is in the configured algorithm with exactly the configured parameters.
    pub fn needs_rehash(&self, config: &HasherConfig) -> bool {
        match (&self.inner, config.algorithm) {
            (
                Parsed::Argon2 {
                    algorithm,
                    params,
                    salt,
                    hash,
                },
                Algorithm::Argon2id,
            ) => {
                let want = &config.argon2;
                !(*algorithm == argon2::Algorithm::Argon2id
                    && params.m_cost() == want.memory_kib
                    && params.t_cost() == want.iterations
                    && params.p_cost() == want.parallelism
                    && usize::try_from(want.salt_length).is_ok_and(|n| n == salt.len())
                    && usize::try_from(want.key_length).is_ok_and(|n| n == hash.len()))
            }
            // `$2$` and `$2z$` are historical; re-hash them into `$2a$` as well.
            (Parsed::Bcrypt { minor, cost, .. }, Algorithm::Bcrypt) => {
                !(matches!(minor, Some(b'a' | b'b' | b'y')) && *cost == config.bcrypt_cost)
            }
            _ => true,
        }
    }

    /// Verifies `password` against this hash. CPU- and memory-heavy for the slow formats: call
    /// it through [`super::HashPool`] on request paths.
    ///
    /// `Ok(false)` is a wrong password; `Err` means the hash cannot be used at all.
    pub fn verify(&self, password: &[u8]) -> Result<bool> {
        let matched = match &self.inner {
            Parsed::Argon2 {
                algorithm,
                params,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; hash.len()];
                let argon = argon2::Argon2::new(*algorithm, argon2::Version::V0x13, params.clone());
                super::memory::hash_into(&argon, password, salt, &mut out)
                    .map_err(|err| Error::internal(format!("argon2: {err}")))?;
                ct_eq(&out, hash)
            }
            Parsed::Bcrypt { normalized, .. } => {
                // Kratos refuses passwords bcrypt would truncate; such a password cannot match.
                if password.len() > BCRYPT_MAX_PASSWORD_BYTES {
                    return Ok(false);
                }
                bcrypt::verify(password, normalized)
                    // The crate's error repeats the hash; keep it out of logs.
                    .map_err(|_| Error::internal("bcrypt: the hash could not be decoded"))?
            }
            Parsed::Pbkdf2 {
                digest,
                iterations,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; hash.len()];
                let (p, s, n, o) = (password, salt.as_slice(), *iterations, out.as_mut_slice());
                match digest {
                    Pbkdf2Digest::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(p, s, n, o),
                    Pbkdf2Digest::Sha3_224 => pbkdf2::pbkdf2_hmac::<sha3::Sha3_224>(p, s, n, o),
                    Pbkdf2Digest::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(p, s, n, o),
                    Pbkdf2Digest::Sha3_384 => pbkdf2::pbkdf2_hmac::<sha3::Sha3_384>(p, s, n, o),
                    Pbkdf2Digest::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(p, s, n, o),
                }
                ct_eq(&out, hash)
            }
            Parsed::Scrypt { cost, salt, hash } => {
                let mut out = vec![0u8; hash.len()];
                run_scrypt(password, salt, *cost, &mut out)?;
                ct_eq(&out, hash)
            }
            Parsed::FirebaseScrypt {
                cost,
                salt,
                hash,
                salt_separator,
                signer_key,
            } => {
                let derived = firebase_scrypt(password, salt, salt_separator, signer_key, *cost)?;
                ct_eq(&derived, hash)
            }
            Parsed::Ssha { digest, salt, hash } => {
                let mut input = password.to_vec();
                input.extend_from_slice(salt);
                ct_eq(&digest.digest(&input), hash)
            }
            Parsed::SaltedSha {
                digest,
                pattern,
                salt,
                hash,
            } => ct_eq(
                &digest.digest(&apply_pattern(pattern, salt, password)),
                hash,
            ),
            Parsed::Md5 { salting, hash } => {
                let computed = match salting {
                    None => md5::Md5::digest(password),
                    Some((pattern, salt)) => {
                        md5::Md5::digest(apply_pattern(pattern, salt, password))
                    }
                };
                ct_eq(&computed, hash)
            }
            Parsed::Hmac { digest, hash, key } => ct_eq(&digest.mac(key, password), hash),
            Parsed::Md5Crypt(h) => h.verify(password),
            Parsed::ShaCrypt(h) => h.verify(password)?,
        };
        Ok(matched)
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    // Lengths are public (they come from the stored hash); the contents are compared in
    // constant time.
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn run_scrypt(password: &[u8], salt: &[u8], cost: ScryptCost, out: &mut [u8]) -> Result<()> {
    let params = cost.params().map_err(Error::internal)?;
    scrypt::scrypt(password, salt, &params, out)
        .map_err(|err| Error::internal(format!("scrypt: {err}")))
}

/// Firebase's modified scrypt: the 32-byte scrypt key of (password, salt ‖ separator) is used
/// as an AES-256-CTR key (zero IV) to encrypt the project's signer key; the ciphertext is the
/// stored hash.
fn firebase_scrypt(
    password: &[u8],
    salt: &[u8],
    salt_separator: &[u8],
    signer_key: &[u8],
    cost: ScryptCost,
) -> Result<Vec<u8>> {
    use ctr::cipher::{KeyIvInit, StreamCipher};

    let mut full_salt = salt.to_vec();
    full_salt.extend_from_slice(salt_separator);
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    run_scrypt(password, &full_salt, cost, key.as_mut_slice())?;
    let mut cipher = ctr::Ctr128BE::<aes::Aes256>::new_from_slices(key.as_slice(), &[0u8; 16])
        .map_err(|_| Error::internal("firebase scrypt: invalid AES key length"))?;
    let mut out = signer_key.to_vec();
    cipher.apply_keystream(&mut out);
    Ok(out)
}

/// Kratos's salting pattern: `{SALT}` and `{PASSWORD}` are replaced in one left-to-right pass
/// (text inserted is not scanned again), everything else is kept literally.
fn apply_pattern(pattern: &[u8], salt: &[u8], password: &[u8]) -> Vec<u8> {
    const SALT: &[u8] = b"{SALT}";
    const PASSWORD: &[u8] = b"{PASSWORD}";
    let mut out = Vec::with_capacity(pattern.len() + salt.len() + password.len());
    let mut rest = pattern;
    while let Some((&first, tail)) = rest.split_first() {
        if rest.starts_with(SALT) {
            out.extend_from_slice(salt);
            rest = &rest[SALT.len()..];
        } else if rest.starts_with(PASSWORD) {
            out.extend_from_slice(password);
            rest = &rest[PASSWORD.len()..];
        } else {
            out.push(first);
            rest = tail;
        }
    }
    out
}

type ParseResult<T> = std::result::Result<T, &'static str>;

/// Base64 with padding and zero trailing bits (Go's `StdEncoding.Strict()`).
fn b64(s: &str) -> ParseResult<Vec<u8>> {
    STANDARD.decode(s).map_err(|_| "invalid base64")
}

/// Base64 without padding and with zero trailing bits (Go's `RawStdEncoding.Strict()`).
fn b64_raw(s: &str) -> ParseResult<Vec<u8>> {
    STANDARD_NO_PAD.decode(s).map_err(|_| "invalid base64")
}

/// Base64 with padding that tolerates non-zero trailing bits (Go's non-strict `StdEncoding`,
/// which Kratos uses for `{SSHA}`).
fn b64_lenient(s: &str) -> ParseResult<Vec<u8>> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    LENIENT.decode(s).map_err(|_| "invalid base64")
}

/// Parses `k1=<u32>,k2=<u32>,...` with exactly these keys in this order.
fn parse_params<const N: usize>(s: &str, keys: [&str; N]) -> ParseResult<[u32; N]> {
    let mut values = [0u32; N];
    let mut parts = s.split(',');
    for (key, value) in keys.iter().zip(values.iter_mut()) {
        let part = parts.next().ok_or("missing parameters")?;
        let number = part
            .strip_prefix(key)
            .and_then(|p| p.strip_prefix('='))
            .ok_or("unexpected parameters")?;
        *value = parse_u32(number)?;
    }
    if parts.next().is_some() {
        return Err("unexpected parameters");
    }
    Ok(values)
}

fn parse_u32(s: &str) -> ParseResult<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("parameter is not a number");
    }
    s.parse().map_err(|_| "parameter is out of range")
}

/// Splits `rest` on `$` into exactly `N` fields.
fn fields<const N: usize>(rest: &str) -> ParseResult<[&str; N]> {
    let mut out = [""; N];
    let mut parts = rest.split('$');
    for slot in out.iter_mut() {
        *slot = parts.next().ok_or("wrong number of fields")?;
    }
    if parts.next().is_some() {
        return Err("wrong number of fields");
    }
    Ok(out)
}

fn min_key(hash: Vec<u8>) -> ParseResult<Vec<u8>> {
    if hash.len() < MIN_DERIVED_KEY_BYTES {
        return Err("the derived key is too short");
    }
    Ok(hash)
}

fn parse_argon2(algorithm: argon2::Algorithm, rest: &str) -> ParseResult<Parsed> {
    let [version, params, salt, hash] = fields(rest)?;
    let [version] = parse_params(version, ["v"])?;
    if version != 19 {
        return Err("unsupported argon2 version (only v=19 is supported)");
    }
    let [m, t, p] = parse_params(params, ["m", "t", "p"])?;
    let salt = b64_raw(salt)?;
    if salt.len() < argon2::MIN_SALT_LEN {
        return Err("the argon2 salt is shorter than 8 bytes");
    }
    let hash = min_key(b64_raw(hash)?)?;
    let params = argon2::Params::new(m, t, p, Some(hash.len()))
        .map_err(|_| "argon2 parameters are out of range")?;
    Ok(Parsed::Argon2 {
        algorithm,
        params,
        salt,
        hash,
    })
}

fn parse_bcrypt(full: &str, rest: &str) -> ParseResult<Parsed> {
    // `full` starts with `$2$` or `$2<minor>$`.
    let minor = full.as_bytes().get(2).copied().filter(|b| *b != b'$');
    let cost = rest.get(..2).ok_or("truncated bcrypt hash")?;
    let cost = parse_u32(cost)?;
    if !(4..=31).contains(&cost) {
        return Err("bcrypt cost out of range");
    }
    // `$` then 22 characters of salt and 31 of hash, in bcrypt's base64 alphabet.
    let body = rest
        .get(2..)
        .and_then(|b| b.strip_prefix('$'))
        .ok_or("malformed bcrypt hash")?;
    if body.len() != 53
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
    {
        return Err("malformed bcrypt hash");
    }
    Ok(Parsed::Bcrypt {
        normalized: format!("$2b${rest}"),
        minor,
        cost,
    })
}

fn parse_pbkdf2(full: &str, rest: &str) -> ParseResult<Parsed> {
    let digest = match full.split('$').nth(1) {
        Some("pbkdf2-sha1") => Pbkdf2Digest::Sha1,
        Some("pbkdf2-sha224") => Pbkdf2Digest::Sha3_224,
        Some("pbkdf2-sha256") => Pbkdf2Digest::Sha256,
        Some("pbkdf2-sha384") => Pbkdf2Digest::Sha3_384,
        Some("pbkdf2-sha512") => Pbkdf2Digest::Sha512,
        _ => return Err("unsupported pbkdf2 digest"),
    };
    let [params, salt, hash] = fields(rest)?;
    // `l` is informational: the key length is the decoded hash's length, as in Kratos.
    let [iterations, _length] = parse_params(params, ["i", "l"])?;
    if iterations == 0 {
        return Err("pbkdf2 iterations must be at least 1");
    }
    Ok(Parsed::Pbkdf2 {
        digest,
        iterations,
        salt: b64_raw(salt)?,
        hash: min_key(b64_raw(hash)?)?,
    })
}

fn parse_scrypt(rest: &str) -> ParseResult<Parsed> {
    let [params, salt, hash] = fields(rest)?;
    // Kratos reads `ln` as N itself (not its logarithm), which must be a power of two above 1.
    let [n, r, p] = parse_params(params, ["ln", "r", "p"])?;
    if n < 2 || !n.is_power_of_two() {
        return Err("scrypt N (ln) must be a power of two greater than 1");
    }
    let cost = ScryptCost::new(n.trailing_zeros(), r, p)?;
    Ok(Parsed::Scrypt {
        cost,
        salt: b64(salt)?,
        hash: min_key(b64(hash)?)?,
    })
}

fn parse_firebase_scrypt(rest: &str) -> ParseResult<Parsed> {
    let [params, salt, hash, salt_separator, signer_key] = fields(rest)?;
    // Here `ln` is Firebase's mem_cost: N = 2^mem_cost.
    let [log_n, r, p] = parse_params(params, ["ln", "r", "p"])?;
    let cost = ScryptCost::new(log_n, r, p)?;
    let hash = min_key(b64(hash)?)?;
    let signer_key = b64(signer_key)?;
    if signer_key.len() != hash.len() {
        return Err("the firebase hash and signer key differ in length");
    }
    Ok(Parsed::FirebaseScrypt {
        cost,
        salt: b64(salt)?,
        hash,
        salt_separator: b64(salt_separator)?,
        signer_key,
    })
}

fn parse_ssha(full: &str) -> ParseResult<Parsed> {
    let (digest, encoded) = if let Some(rest) = full.strip_prefix("{SSHA}") {
        (ShaDigest::Sha1, rest)
    } else if let Some(rest) = full.strip_prefix("{SSHA256}") {
        (ShaDigest::Sha256, rest)
    } else if let Some(rest) = full.strip_prefix("{SSHA512}") {
        (ShaDigest::Sha512, rest)
    } else {
        return Err("unknown SSHA variant");
    };
    let mut decoded = b64_lenient(encoded)?;
    // digest ‖ salt, with a salt of at least one byte.
    if decoded.len() <= digest.len() {
        return Err("the SSHA value is too short");
    }
    let salt = decoded.split_off(digest.len());
    Ok(Parsed::Ssha {
        digest,
        salt,
        hash: decoded,
    })
}

/// `pf=<base64 pattern>` as Kratos writes it.
fn parse_pattern(s: &str) -> ParseResult<Vec<u8>> {
    let encoded = s.strip_prefix("pf=").ok_or("missing pf= salting pattern")?;
    if encoded.is_empty() {
        return Err("empty salting pattern");
    }
    b64(encoded)
}

fn parse_salted_sha(full: &str, rest: &str) -> ParseResult<Parsed> {
    let digest = match full.split('$').nth(1) {
        Some("sha1") => ShaDigest::Sha1,
        Some("sha256") => ShaDigest::Sha256,
        Some("sha512") => ShaDigest::Sha512,
        _ => return Err("unsupported sha digest"),
    };
    let [pattern, salt, hash] = fields(rest)?;
    let hash = b64(hash)?;
    if hash.len() != digest.len() {
        return Err("the digest has the wrong length");
    }
    Ok(Parsed::SaltedSha {
        digest,
        pattern: parse_pattern(pattern)?,
        salt: b64(salt)?,
        hash,
    })
}

fn parse_md5(rest: &str) -> ParseResult<Parsed> {
    let (salting, hash) = match rest.split('$').count() {
        1 => (None, b64(rest)?),
        3 => {
            let [pattern, salt, hash] = fields(rest)?;
            (Some((parse_pattern(pattern)?, b64(salt)?)), b64(hash)?)
        }
        _ => return Err("wrong number of fields"),
    };
    if hash.len() != 16 {
        return Err("the digest has the wrong length");
    }
    Ok(Parsed::Md5 { salting, hash })
}

fn parse_hmac(full: &str, rest: &str) -> ParseResult<Parsed> {
    let name = full
        .strip_prefix("$hmac-")
        .and_then(|s| s.split('$').next())
        .ok_or("unknown hmac digest")?;
    let digest = HmacDigest::from_name(name).ok_or("unknown hmac digest")?;
    let [hash, key] = fields(rest)?;
    // The stored value is base64 of the lowercase hex digest; we accept either case of hex.
    let hex_digest = b64(hash)?;
    let hash = hex::decode(&hex_digest).map_err(|_| "the hmac digest is not hex")?;
    if hash.len() != digest.len() {
        return Err("the digest has the wrong length");
    }
    Ok(Parsed::Hmac {
        digest,
        hash,
        key: b64(key)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_replacement_is_single_pass() {
        assert_eq!(apply_pattern(b"{SALT}{PASSWORD}", b"s", b"p"), b"sp");
        assert_eq!(apply_pattern(b"{PASSWORD}%%{SALT}$", b"s", b"p"), b"p%%s$");
        // Inserted text is not scanned again.
        assert_eq!(apply_pattern(b"{SALT}", b"{PASSWORD}", b"p"), b"{PASSWORD}");
        assert_eq!(apply_pattern(b"{SAL{SALT}", b"s", b"p"), b"{SALs");
        assert_eq!(apply_pattern(b"", b"s", b"p"), b"");
    }

    #[test]
    fn identifies_by_prefix_like_kratos() {
        assert_eq!(identify("$2a$12$x"), Some(HashKind::Bcrypt));
        assert_eq!(identify("$2$12$x"), Some(HashKind::Bcrypt));
        assert_eq!(identify("$2x$12$x"), None);
        assert_eq!(identify("$argon2id$whatever"), Some(HashKind::Argon2id));
        assert_eq!(identify("$argon2i$whatever"), Some(HashKind::Argon2i));
        assert_eq!(
            identify("$argon2d$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"),
            None
        );
        assert_eq!(identify("$pbkdf2-sha256$"), Some(HashKind::Pbkdf2));
        assert_eq!(identify("$pbkdf2-sha2567$"), None);
        assert_eq!(identify("$pbkdf2-md5$"), None);
        assert_eq!(identify("$hmac-sha256$a$b"), Some(HashKind::Hmac));
        assert_eq!(identify("$hmac-invalid$a$b"), None);
        assert_eq!(identify("$hmac$a$b"), None);
        assert_eq!(identify("{SSHA512}abc"), Some(HashKind::Ssha));
        assert_eq!(identify("{SSHAnotExistent}abc"), None);
        assert_eq!(identify("{SHA}abc"), None);
        assert_eq!(identify("$sha1$pf=x$y$z"), Some(HashKind::SaltedSha));
        assert_eq!(identify("$sha384$pf=x$y$z"), None);
        assert_eq!(identify("$md5$x"), Some(HashKind::Md5));
        assert_eq!(identify("$md5-crypt$x$y"), Some(HashKind::Md5Crypt));
        assert_eq!(identify("$1$x$y"), Some(HashKind::Md5Crypt));
        assert_eq!(identify("$5$x$y"), Some(HashKind::Sha256Crypt));
        assert_eq!(identify("$sha512-crypt$x$y"), Some(HashKind::Sha512Crypt));
        assert_eq!(identify("$firescrypt$x"), Some(HashKind::FirebaseScrypt));
        assert_eq!(identify("$scrypt$x"), Some(HashKind::Scrypt));
        assert_eq!(identify(""), None);
        assert_eq!(identify("plaintext"), None);
        assert_eq!(identify("$unknown$12$abc"), None);
    }

    #[test]
    fn debug_output_hides_hash_material() {
        let parsed = PasswordHash::parse("$md5$CY9rzUYh03PK3k6DJie09g==").unwrap();
        let shown = format!("{parsed:?}");
        assert!(shown.contains("Md5"));
        assert!(!shown.contains("CY9r"));
    }

    #[test]
    fn error_reasons_never_echo_the_hash() {
        let secret = "$pbkdf2-sha256$i=1,l=32$U0VDUkVUU0FMVA$bm90LWEtcmVhbC1oYXNoLWF0LWFsbA=";
        let err = PasswordHash::parse(secret).unwrap_err().to_string();
        assert!(!err.contains("U0VDUkVUU0FMVA"), "{err}");
        let err = validate_import(secret).unwrap_err();
        let body = serde_json::to_string(&err.to_api_error()).unwrap();
        assert!(!body.contains("U0VDUkVUU0FMVA"), "{body}");
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
    }
}
