//! Self-service flows (all kinds in one table) and stored self-service errors.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{Conn, Dialect, Persister, on, sql};
use crate::error::{ApiError, Result};
use crate::selfservice::flow::{Flow, FlowData, FlowKind, FlowType};

#[derive(sqlx::FromRow)]
struct FlowRow {
    id: Uuid,
    kind: String,
    #[sqlx(rename = "type")]
    flow_type: String,
    state: String,
    identity_id: Option<Uuid>,
    session_id: Option<Uuid>,
    csrf_token: String,
    request_url: String,
    return_to: Option<String>,
    data: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl FlowRow {
    fn into_flow(self) -> Result<Flow> {
        let kind = FlowKind::parse(&self.kind).ok_or_else(|| {
            crate::error::Error::internal(format!("unknown flow kind {}", self.kind))
        })?;
        let mut data: FlowData = serde_json::from_str(&self.data)?;
        let ui = data
            .ui
            .take()
            .ok_or_else(|| crate::error::Error::internal("flow without ui"))?;
        Ok(Flow {
            id: self.id,
            kind,
            flow_type: if self.flow_type == "api" {
                FlowType::Api
            } else {
                FlowType::Browser
            },
            state: self.state,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            request_url: self.request_url,
            return_to: self.return_to,
            ui,
            identity_id: self.identity_id,
            session_id: self.session_id,
            csrf_token: self.csrf_token,
            data,
        })
    }
}

pub(crate) fn data_json(flow: &Flow) -> Result<String> {
    let mut data = flow.data.clone();
    data.ui = Some(flow.ui.clone());
    Ok(serde_json::to_string(&data)?)
}

/// `INSERT INTO selfservice_flows (<every column>) <rows>`, the rows binding [`insert`]'s values.
macro_rules! insert_flow {
    ($rows:literal) => {
        concat!(
            "INSERT INTO selfservice_flows (id, kind, type, state, identity_id, session_id, csrf_token, request_url, return_to, data, issued_at, expires_at, created_at, updated_at) ",
            $rows
        )
    };
}

/// Stores a new flow, in a transaction of its own.
///
/// On PostgreSQL its commit does not wait for the disk (`synchronous_commit` off for this one
/// transaction): a new flow is ephemeral, and the worst a database crash right after can do is
/// lose it, so that its user starts over with a 404 (never an inconsistency: any later commit
/// flushes it too). Every login and registration creates one, so this halves their disk flushes.
pub async fn insert(db: &Persister, flow: &Flow) -> Result<()> {
    let data = data_json(flow)?;
    let mut conn = db.conn().await?;
    on!(conn.conn(), |c, d| {
        let statement = match d {
            Dialect::Dollar => sql!(
                d,
                concat!(
                    "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)) ",
                    insert_flow!("SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM relaxed")
                )
            ),
            Dialect::Question => insert_flow!("VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        };
        sqlx::query(statement)
            .bind(flow.id)
            .bind(flow.kind.as_str())
            .bind(flow.flow_type.as_str())
            .bind(&flow.state)
            .bind(flow.identity_id)
            .bind(flow.session_id)
            .bind(&flow.csrf_token)
            .bind(&flow.request_url)
            .bind(&flow.return_to)
            .bind(&data)
            .bind(flow.issued_at)
            .bind(flow.expires_at)
            .bind(flow.created_at)
            .bind(flow.updated_at)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// Saves a flow's mutable fields; its binds are [`bind_update!`]'s, in order.
pub(crate) const UPDATE: &str = "UPDATE selfservice_flows SET state = ?, identity_id = ?, session_id = ?, return_to = ?, data = ?, expires_at = ?, updated_at = ? WHERE id = ?";

/// Binds a flow to [`UPDATE`]'s placeholders (`$data` is [`data_json`] of the flow), also where
/// that statement is part of a larger one.
macro_rules! bind_update {
    ($query:expr, $flow:expr, $data:expr) => {
        $query
            .bind(&$flow.state)
            .bind($flow.identity_id)
            .bind($flow.session_id)
            .bind(&$flow.return_to)
            .bind($data)
            .bind($flow.expires_at)
            .bind($crate::persistence::now())
            .bind($flow.id)
    };
}
pub(crate) use bind_update;

pub async fn update(c: Conn<'_>, flow: &Flow) -> Result<()> {
    let data = data_json(flow)?;
    on!(c, |c, d| {
        bind_update!(sqlx::query(sql!(d, UPDATE)), flow, &data)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// A flow of the given kind, or 404 (a flow id of another kind is not found either).
pub async fn get(c: Conn<'_>, kind: FlowKind, id: Uuid) -> Result<Flow> {
    let row: Option<FlowRow> = on!(c, |c, d| {
        sqlx::query_as(sql!(d, "SELECT id, kind, type, state, identity_id, session_id, csrf_token, request_url, return_to, data, issued_at, expires_at, created_at, updated_at FROM selfservice_flows WHERE id = ? AND kind = ?"))
            .bind(id)
            .bind(kind.as_str())
            .fetch_optional(&mut *c)
            .await?
    });
    match row {
        Some(row) => row.into_flow(),
        None => Err(ApiError::not_found()
            .with_reason(format!("The {} flow could not be found.", kind.as_str()))
            .into()),
    }
}

/// Deletes flows that expired before `before` (cleanup).
pub async fn delete_expired(c: Conn<'_>, before: DateTime<Utc>) -> Result<u64> {
    Ok(on!(c, |c, d| {
        sqlx::query(sql!(
            d,
            "DELETE FROM selfservice_flows WHERE expires_at < ?"
        ))
        .bind(before)
        .execute(&mut *c)
        .await?
        .rows_affected()
    }))
}

#[derive(sqlx::FromRow)]
pub struct ErrorRow {
    pub id: Uuid,
    pub error: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn insert_error(c: Conn<'_>, id: Uuid, error: &Value, csrf_token: &str) -> Result<()> {
    let now = super::now();
    on!(c, |c, d| {
        sqlx::query(sql!(d, "INSERT INTO selfservice_errors (id, error, csrf_token, seen_at, was_seen, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"))
            .bind(id)
            .bind(error.to_string())
            .bind(csrf_token)
            .bind(Option::<DateTime<Utc>>::None)
            .bind(false)
            .bind(now)
            .bind(now)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

pub async fn get_error(c: Conn<'_>, id: Uuid) -> Result<ErrorRow> {
    let row: Option<ErrorRow> = on!(c, |c, d| {
        sqlx::query_as(sql!(
            d,
            "SELECT id, error, created_at, updated_at FROM selfservice_errors WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&mut *c)
        .await?
    });
    row.ok_or_else(|| {
        ApiError::not_found()
            .with_reason("The error could not be found.")
            .into()
    })
}

pub async fn mark_error_seen(c: Conn<'_>, id: Uuid) -> Result<()> {
    on!(c, |c, d| {
        sqlx::query(sql!(
            d,
            "UPDATE selfservice_errors SET was_seen = ?, seen_at = ? WHERE id = ?"
        ))
        .bind(true)
        .bind(super::now())
        .bind(id)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}
