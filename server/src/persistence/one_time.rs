//! One-time secrets of recovery and verification (6-digit codes and link tokens) and the
//! per-flow submission counter that limits guessing.
//!
//! Secrets are never stored in plaintext: the table holds an HMAC-SHA256 of the secret keyed
//! with `secrets.default[0]`; lookups accept an HMAC under any configured secret (rotation).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::{Conn, on, sql};
use crate::error::Result;

/// What a secret proves and how it is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    RecoveryCode,
    RecoveryLink,
    VerificationCode,
    VerificationLink,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::RecoveryCode => "recovery_code",
            Purpose::RecoveryLink => "recovery_link",
            Purpose::VerificationCode => "verification_code",
            Purpose::VerificationLink => "verification_link",
        }
    }
}

/// A stored secret (without the secret itself).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OneTimeSecret {
    pub id: Uuid,
    pub flow_id: Uuid,
    pub identity_id: Option<Uuid>,
    pub address_via: Option<String>,
    pub address_value: Option<String>,
    pub issued_by_admin: bool,
    pub hmac: String,
    pub used_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

/// What to store for a new secret.
pub struct NewSecret<'a> {
    pub purpose: Purpose,
    pub flow_id: Uuid,
    pub identity_id: Option<Uuid>,
    pub address: Option<(&'a str, &'a str)>,
    pub issued_by_admin: bool,
    pub secret: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// The HMAC of a secret under one key, hex-encoded.
pub fn hmac_hex(key: &str, secret: &str) -> String {
    match <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(secret.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC accepts keys of any length; this branch is unreachable in practice.
        Err(_) => String::new(),
    }
}

/// Whether `stored` is the HMAC of `secret` under any of `keys`, compared in constant time.
pub fn hmac_matches(keys: &[String], secret: &str, stored: &str) -> bool {
    keys.iter().any(|k| {
        let candidate = hmac_hex(k, secret);
        !candidate.is_empty()
            && subtle::ConstantTimeEq::ct_eq(candidate.as_bytes(), stored.as_bytes()).into()
    })
}

pub async fn insert(c: Conn<'_>, keys: &[String], new: &NewSecret<'_>) -> Result<Uuid> {
    let id = Uuid::new_v4();
    let now = super::now();
    let key = keys.first().map(String::as_str).unwrap_or_default();
    let hmac = hmac_hex(key, new.secret);
    let (via, value) = match new.address {
        Some((via, value)) => (Some(via), Some(value)),
        None => (None, None),
    };
    on!(c, |c, d| {
        sqlx::query(sql!(d, "INSERT INTO selfservice_one_time_secrets (id, purpose, flow_id, identity_id, address_via, address_value, issued_by_admin, hmac, used_at, issued_at, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)"))
            .bind(id)
            .bind(new.purpose.as_str())
            .bind(new.flow_id)
            .bind(new.identity_id)
            .bind(via)
            .bind(value)
            .bind(new.issued_by_admin)
            .bind(&hmac)
            .bind(now)
            .bind(super::truncate_micros(new.expires_at))
            .bind(now)
            .bind(now)
            .execute(&mut *c)
            .await?;
    });
    Ok(id)
}

/// Deletes the unused secrets of a flow (a new code or link replaces the previous ones).
pub async fn delete_of_flow(c: Conn<'_>, flow_id: Uuid, purpose: Purpose) -> Result<()> {
    on!(c, |c, d| {
        sqlx::query(sql!(
            d,
            "DELETE FROM selfservice_one_time_secrets WHERE flow_id = ? AND purpose = ? AND used_at IS NULL"
        ))
        .bind(flow_id)
        .bind(purpose.as_str())
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

/// Finds the flow's unused, unexpired secret matching `secret` and marks it used. The update is
/// conditional on `used_at IS NULL`, so of two concurrent submissions only one wins.
pub async fn consume(
    mut c: Conn<'_>,
    keys: &[String],
    flow_id: Uuid,
    purpose: Purpose,
    secret: &str,
) -> Result<Option<OneTimeSecret>> {
    let rows: Vec<OneTimeSecret> = on!(c.re(), |c, d| {
        sqlx::query_as(sql!(d, "SELECT id, flow_id, identity_id, address_via, address_value, issued_by_admin, hmac, used_at, expires_at FROM selfservice_one_time_secrets WHERE flow_id = ? AND purpose = ? AND used_at IS NULL"))
            .bind(flow_id)
            .bind(purpose.as_str())
            .fetch_all(&mut *c)
            .await?
    });
    let now = Utc::now();
    let Some(found) = rows
        .into_iter()
        .find(|r| r.expires_at > now && hmac_matches(keys, secret, &r.hmac))
    else {
        return Ok(None);
    };
    let n = on!(c.re(), |c, d| {
        sqlx::query(sql!(
            d,
            "UPDATE selfservice_one_time_secrets SET used_at = ?, updated_at = ? WHERE id = ? AND used_at IS NULL"
        ))
        .bind(super::now())
        .bind(super::now())
        .bind(found.id)
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    Ok((n == 1).then_some(found))
}

/// Counts one more submission to the flow and returns the new count. A separate atomic update,
/// so the limit holds for concurrent submissions.
pub async fn increment_submit_count(mut c: Conn<'_>, flow_id: Uuid) -> Result<i64> {
    on!(c.re(), |c, d| {
        sqlx::query(sql!(
            d,
            "UPDATE selfservice_flows SET submit_count = submit_count + 1 WHERE id = ?"
        ))
        .bind(flow_id)
        .execute(&mut *c)
        .await?;
    });
    let n: i32 = on!(c.re(), |c, d| {
        sqlx::query_scalar(sql!(
            d,
            "SELECT submit_count FROM selfservice_flows WHERE id = ?"
        ))
        .bind(flow_id)
        .fetch_one(&mut *c)
        .await?
    });
    Ok(i64::from(n))
}

/// Marks an identity's verifiable address verified (`status: completed`, `verified_at`).
pub async fn mark_address_verified(
    c: Conn<'_>,
    identity_id: Uuid,
    via: &str,
    value: &str,
) -> Result<bool> {
    let now = super::now();
    let n = on!(c, |c, d| {
        sqlx::query(sql!(d, "UPDATE identity_verifiable_addresses SET verified = ?, verified_at = ?, status = ?, updated_at = ? WHERE identity_id = ? AND via = ? AND value = ?"))
            .bind(true)
            .bind(now)
            .bind("completed")
            .bind(now)
            .bind(identity_id)
            .bind(via)
            .bind(value)
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    Ok(n > 0)
}

/// Records that a verification message went to a pending address (`status: sent`).
pub async fn mark_address_sent(
    c: Conn<'_>,
    identity_id: Uuid,
    via: &str,
    value: &str,
) -> Result<()> {
    on!(c, |c, d| {
        sqlx::query(sql!(d, "UPDATE identity_verifiable_addresses SET status = ?, updated_at = ? WHERE identity_id = ? AND via = ? AND value = ? AND status = ?"))
            .bind("sent")
            .bind(super::now())
            .bind(identity_id)
            .bind(via)
            .bind(value)
            .bind("pending")
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}
