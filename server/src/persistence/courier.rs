//! The courier's message queue (`courier_messages`) and delivery attempts
//! (`courier_message_dispatches`).
//!
//! Claiming is a compare-and-set per row: a worker selects candidates, then moves each one to
//! `processing` with an `UPDATE ... WHERE id = ? AND <still claimable>`; only the worker whose
//! update touched the row sends it. The same statement works on all three backends, and a claim
//! expires (`claimed_until`) so a message held by a crashed worker is picked up again.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Conn, on, sql};
use crate::courier::{Channel, TemplateType};
use crate::error::Result;

/// `courier_messages.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    Queued,
    Processing,
    Sent,
    Abandoned,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Processing => "processing",
            MessageStatus::Sent => "sent",
            MessageStatus::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<MessageStatus> {
        [
            MessageStatus::Queued,
            MessageStatus::Processing,
            MessageStatus::Sent,
            MessageStatus::Abandoned,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// A message to insert.
pub struct NewMessage<'a> {
    pub id: Uuid,
    pub channel: Channel,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub template: TemplateType,
    pub template_data: &'a str,
}

/// A stored message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub r#type: String,
    pub status: String,
    pub channel: Option<String>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub template_type: String,
    pub template_data: String,
    pub send_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl MessageRow {
    pub fn channel(&self) -> Channel {
        match self.channel.as_deref() {
            Some("sms") => Channel::Sms,
            _ if self.r#type == "phone" => Channel::Sms,
            _ => Channel::Email,
        }
    }
}

/// A delivery attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DispatchRow {
    pub id: Uuid,
    pub message_id: Uuid,
    pub status: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const MESSAGE_COLUMNS: &str = "id, type, status, channel, recipient, subject, body, template_type, template_data, send_count, created_at, updated_at";

pub async fn insert(c: Conn<'_>, m: &NewMessage<'_>) -> Result<()> {
    let now = super::now();
    on!(c, |c, d| {
        sqlx::query(sql!(d, "INSERT INTO courier_messages (id, type, status, channel, recipient, subject, body, template_type, template_data, send_count, claimed_until, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?, ?)"))
            .bind(m.id)
            .bind(m.channel.message_type())
            .bind(MessageStatus::Queued.as_str())
            .bind(m.channel.as_str())
            .bind(m.recipient)
            .bind(m.subject)
            .bind(m.body)
            .bind(m.template.as_str())
            .bind(m.template_data)
            .bind(now)
            .bind(now)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// Claims up to `limit` messages that are queued, or whose claim expired, for `lease`.
/// Oldest first; a message is returned to exactly one caller.
pub async fn claim(
    mut c: Conn<'_>,
    limit: usize,
    lease: chrono::Duration,
) -> Result<Vec<MessageRow>> {
    let now = super::now();
    let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
    let candidates: Vec<(Uuid,)> = on!(c.re(), |c, d| {
        sqlx::query_as(sql!(d, "SELECT id FROM courier_messages WHERE status = ? OR (status = ? AND claimed_until < ?) ORDER BY created_at, id LIMIT ?"))
            .bind(MessageStatus::Queued.as_str())
            .bind(MessageStatus::Processing.as_str())
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?
    });
    let until = now + lease;
    let mut claimed = Vec::new();
    for (id,) in candidates {
        let affected = on!(c.re(), |c, d| {
            sqlx::query(sql!(d, "UPDATE courier_messages SET status = ?, claimed_until = ?, updated_at = ? WHERE id = ? AND (status = ? OR (status = ? AND claimed_until < ?))"))
                .bind(MessageStatus::Processing.as_str())
                .bind(until)
                .bind(now)
                .bind(id)
                .bind(MessageStatus::Queued.as_str())
                .bind(MessageStatus::Processing.as_str())
                .bind(now)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if affected == 1
            && let Some(row) = find(c.re(), id).await?
        {
            claimed.push(row);
        }
    }
    Ok(claimed)
}

/// Records the outcome of an attempt: the new status, the incremented send count and a dispatch
/// row with the error, if any.
pub async fn finish_attempt(
    mut c: Conn<'_>,
    id: Uuid,
    status: MessageStatus,
    error: Option<&str>,
) -> Result<()> {
    let now = super::now();
    on!(c.re(), |c, d| {
        sqlx::query(sql!(d, "UPDATE courier_messages SET status = ?, send_count = send_count + 1, claimed_until = NULL, updated_at = ? WHERE id = ?"))
            .bind(status.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *c)
            .await?;
    });
    let dispatch_status = if error.is_some() { "failed" } else { "success" };
    on!(c.re(), |c, d| {
        sqlx::query(sql!(d, "INSERT INTO courier_message_dispatches (id, message_id, status, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"))
            .bind(Uuid::new_v4())
            .bind(id)
            .bind(dispatch_status)
            .bind(error)
            .bind(now)
            .bind(now)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// Moves a message to `status` without an attempt (e.g. abandoning one that cannot be sent).
pub async fn set_status(c: Conn<'_>, id: Uuid, status: MessageStatus) -> Result<()> {
    on!(c, |c, d| {
        sqlx::query(sql!(d, "UPDATE courier_messages SET status = ?, claimed_until = NULL, updated_at = ? WHERE id = ?"))
            .bind(status.as_str())
            .bind(super::now())
            .bind(id)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

pub async fn find(c: Conn<'_>, id: Uuid) -> Result<Option<MessageRow>> {
    Ok(on!(c, |c, d| {
        sqlx::query_as(sql!(d, "SELECT id, type, status, channel, recipient, subject, body, template_type, template_data, send_count, created_at, updated_at FROM courier_messages WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
    }))
}

pub async fn dispatches(c: Conn<'_>, message_id: Uuid) -> Result<Vec<DispatchRow>> {
    Ok(on!(c, |c, d| {
        sqlx::query_as(sql!(d, "SELECT id, message_id, status, error, created_at, updated_at FROM courier_message_dispatches WHERE message_id = ? ORDER BY created_at, id"))
            .bind(message_id)
            .fetch_all(&mut *c)
            .await?
    }))
}

/// Filters and keyset position for listings, newest first (as Kratos lists them).
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub status: Option<MessageStatus>,
    pub recipient: Option<String>,
    /// The `(created_at, id)` of the last message of the previous page.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: usize,
}

pub async fn list(c: Conn<'_>, f: &MessageFilter) -> Result<Vec<MessageRow>> {
    let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
    Ok(on!(c, |c, d| {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT {MESSAGE_COLUMNS} FROM courier_messages WHERE 1 = 1"
        ));
        if let Some(status) = f.status {
            qb.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(recipient) = &f.recipient {
            qb.push(" AND recipient = ").push_bind(recipient.clone());
        }
        if let Some((created_at, id)) = f.after {
            qb.push(" AND (created_at < ")
                .push_bind(created_at)
                .push(" OR (created_at = ")
                .push_bind(created_at)
                .push(" AND id < ")
                .push_bind(id)
                .push("))");
        }
        qb.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(limit);
        qb.build_query_as().fetch_all(&mut *c).await?
    }))
}
