//! Kratos's password policy: a minimum length, no password too similar to the identifier, and
//! no password found in too many breaches (HaveIBeenPwned's k-anonymity range API: only the first
//! five hex digits of the password's SHA-1 leave the server).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use sha1::{Digest, Sha1};

use crate::app::App;
use crate::error::{ApiError, Error, Result};
use crate::text::{self, Message};

const MIN_IDENTIFIER_DISTANCE: usize = 5;
const MAX_SUBSTRING_RATIO: f32 = 0.5;
const CACHE_TTL: Duration = Duration::from_secs(3600);
const CACHE_MAX: usize = 100_000;

/// Breach counts by full SHA-1, learnt from range responses.
static BREACHES: LazyLock<Mutex<HashMap<String, (u64, Instant)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Checks `password` for `identifier`. `Ok(Some(message))` is a policy violation to show on the
/// password field; `Err` a failure to check (the breach API when network errors are not ignored).
pub async fn check(app: &App, identifier: &str, password: &str) -> Result<Option<Message>> {
    let cfg = app.config();
    let policy = &cfg.selfservice.methods.password.config;
    let length = password.chars().count();
    if length < policy.min_password_length as usize {
        return Ok(Some(text::error_validation_password_min_length(
            policy.min_password_length as usize,
            length,
        )));
    }
    if policy.identifier_similarity_check_enabled
        && !identifier.is_empty()
        && too_similar(identifier, password)
    {
        return Ok(Some(
            text::error_validation_password_identifier_too_similar(),
        ));
    }
    if !policy.haveibeenpwned_enabled {
        return Ok(None);
    }
    let digest = hex::encode_upper(Sha1::digest(password.as_bytes()));
    let count = match cached(&digest) {
        Some(c) => c,
        None => match fetch_range(&policy.haveibeenpwned_host, &digest).await {
            Ok(c) => c,
            Err(e) if policy.ignore_network_errors => {
                tracing::warn!(error = %e, "password breach check skipped: the breach API is unreachable");
                return Ok(None);
            }
            Err(e) => return Err(e),
        },
    };
    if count > u64::from(policy.max_breaches) {
        return Ok(Some(text::error_validation_password_too_many_breaches(
            count,
        )));
    }
    Ok(None)
}

fn cached(digest: &str) -> Option<u64> {
    let cache = BREACHES.lock().ok()?;
    cache
        .get(digest)
        .filter(|(_, at)| at.elapsed() < CACHE_TTL)
        .map(|(c, _)| *c)
}

fn remember(entries: impl IntoIterator<Item = (String, u64)>) {
    let Ok(mut cache) = BREACHES.lock() else {
        return;
    };
    if cache.len() > CACHE_MAX {
        cache.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        if cache.len() > CACHE_MAX {
            cache.clear();
        }
    }
    let now = Instant::now();
    for (k, v) in entries {
        cache.insert(k, (v, now));
    }
}

fn upstream(reason: String) -> Error {
    ApiError::new(http::StatusCode::BAD_GATEWAY)
        .with_message("Leaked password server unavailable")
        .with_reason(reason)
        .into()
}

/// `GET <host>/range/<first five hex digits>`. The host is Kratos's `haveibeenpwned_host`
/// (HTTPS); a value with a scheme (`http://127.0.0.1:8080`) is used as the base URL as is.
async fn fetch_range(host: &str, digest: &str) -> Result<u64> {
    let prefix = &digest[..5];
    let base = if host.contains("://") {
        host.trim_end_matches('/').to_string()
    } else {
        format!("https://{host}")
    };
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| upstream(format!("Unable to check if password has been leaked: {e}")))?;
    let res = client
        .get(format!("{base}/range/{prefix}"))
        .send()
        .await
        .map_err(|e| upstream(format!("Unable to check if password has been leaked because an unexpected network error occurred: {e}")))?;
    if !res.status().is_success() {
        return Err(upstream(format!(
            "Unexpected status code from haveibeenpwned.com: {}",
            res.status().as_u16()
        )));
    }
    let body = res
        .text()
        .await
        .map_err(|e| upstream(format!("Unable to read the breach API response: {e}")))?;
    let mut found = 0;
    let mut entries = Vec::new();
    for line in body.lines() {
        let mut parts = line.trim().split(':');
        let suffix = parts.next().unwrap_or("").trim().to_ascii_uppercase();
        if suffix.is_empty() {
            continue;
        }
        let count = match parts.next() {
            Some(c) => c.trim().replace(',', "").parse::<u64>().map_err(|_| {
                upstream(format!(
                    "Expected password hash to contain a count formatted as int but got: {c}"
                ))
            })?,
            None => 1,
        };
        let full = format!("{prefix}{suffix}");
        if full == digest {
            found = count;
        }
        entries.push((full, count));
    }
    entries.push((digest.to_string(), found));
    remember(entries);
    Ok(found)
}

/// Kratos's rule: a Levenshtein distance under 5, or a common substring longer than half the
/// password, is too similar.
pub fn too_similar(identifier: &str, password: &str) -> bool {
    let a: Vec<char> = identifier.to_lowercase().chars().collect();
    let b: Vec<char> = password.to_lowercase().chars().collect();
    if b.is_empty() {
        return true;
    }
    let ratio = longest_common_substring(&a, &b) as f32 / b.len() as f32;
    levenshtein(&a, &b) < MIN_IDENTIFIER_DISTANCE || ratio > MAX_SUBSTRING_RATIO
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

fn longest_common_substring(a: &[char], b: &[char]) -> usize {
    let mut best = 0;
    let mut prev = vec![0usize; b.len() + 1];
    for ca in a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                cur[j + 1] = prev[j] + 1;
                best = best.max(cur[j + 1]);
            }
        }
        prev = cur;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_follows_kratos() {
        assert!(too_similar("alice@example.org", "alice@example.org"));
        assert!(too_similar("alice@example.org", "Alice@Example.org1"));
        assert!(
            too_similar("bob", "bob12"),
            "a small edit distance is too similar"
        );
        assert!(
            !too_similar("bob", "bobbobbob"),
            "a third of the password and six edits away is fine"
        );
        assert!(!too_similar(
            "alice@example.org",
            "correct horse battery staple"
        ));
        assert_eq!(
            levenshtein(
                &['k', 'i', 't', 't', 'e', 'n'],
                &['s', 'i', 't', 't', 'i', 'n', 'g']
            ),
            3
        );
        assert_eq!(
            longest_common_substring(&['a', 'b', 'c', 'd'], &['x', 'b', 'c', 'y']),
            2
        );
    }
}
