//! Sessions and their devices. Tokens are stored only as SHA-256 hashes.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::identities::ChildRow;
use super::{Conn, Persister, Pool, flows, on, sql, to_dollar_placeholders};
use crate::error::{ApiError, Result};
use crate::identity::model::Identity;
use crate::selfservice::flow::Flow;
use crate::session::model::{Aal, Device, Session};

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    identity_id: Uuid,
    active: bool,
    aal: String,
    authentication_methods: String,
    issued_at: DateTime<Utc>,
    authenticated_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

const SESSION_COLUMNS: &str =
    "id, identity_id, active, aal, authentication_methods, issued_at, authenticated_at, expires_at";

impl SessionRow {
    fn into_session(self) -> Result<Session> {
        Ok(Session {
            id: self.id,
            active: self.active,
            expires_at: self.expires_at,
            authenticated_at: self.authenticated_at,
            authenticator_assurance_level: Aal::parse(&self.aal).unwrap_or(Aal::Aal0),
            authentication_methods: serde_json::from_str(&self.authentication_methods)?,
            issued_at: self.issued_at,
            identity: None,
            devices: vec![],
            identity_id: self.identity_id,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DeviceRow {
    id: Uuid,
    session_id: Uuid,
    ip_address: Option<String>,
    user_agent: Option<String>,
    location: Option<String>,
}

/// Filters for session listings.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub identity_id: Option<Uuid>,
    pub active: Option<bool>,
    /// Leave this session out (e.g. the caller's own in `GET /sessions`).
    pub except: Option<Uuid>,
    pub after: Option<Uuid>,
    pub limit: usize,
}

/// Stores a new session with its devices and, for the flow it completes, that flow's new state,
/// atomically. On PostgreSQL a session with one device (every login) is one statement, without
/// a transaction's two extra round trips and with one commit; elsewhere the rows are written in
/// a transaction.
pub async fn insert(
    db: &Persister,
    s: &Session,
    token_hash: &str,
    logout_token_hash: &str,
    completes: Option<&Flow>,
) -> Result<()> {
    let now = super::now();
    let methods = serde_json::to_string(&s.authentication_methods)?;
    if let (Pool::Postgres(pool), [device]) = (db.pool(), s.devices.as_slice()) {
        // The device is inserted from the session's CTE (after it, for the foreign key); the
        // flow update, if any, is the main statement and runs with them.
        const SESSION: &str = "WITH s AS (INSERT INTO sessions (id, identity_id, token_hash, logout_token_hash, active, aal, authentication_methods, issued_at, authenticated_at, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id)";
        const DEVICE: &str = "INSERT INTO session_devices (id, session_id, ip_address, user_agent, location, created_at, updated_at) SELECT ?, id, ?, ?, ?, ?, ? FROM s";
        static ALONE: OnceLock<String> = OnceLock::new();
        static WITH_FLOW: OnceLock<String> = OnceLock::new();
        let statement = match completes {
            None => ALONE.get_or_init(|| to_dollar_placeholders(&format!("{SESSION} {DEVICE}"))),
            Some(_) => WITH_FLOW.get_or_init(|| {
                to_dollar_placeholders(&format!("{SESSION}, d AS ({DEVICE}) {}", flows::UPDATE))
            }),
        };
        let query = sqlx::query(statement.as_str())
            .bind(s.id)
            .bind(s.identity_id)
            .bind(token_hash)
            .bind(logout_token_hash)
            .bind(s.active)
            .bind(s.authenticator_assurance_level.as_str())
            .bind(&methods)
            .bind(s.issued_at)
            .bind(s.authenticated_at)
            .bind(s.expires_at)
            .bind(now)
            .bind(now)
            .bind(device.id)
            .bind(&device.ip_address)
            .bind(device.user_agent.as_deref().map(|ua| truncate(ua, 512)))
            .bind(&device.location)
            .bind(now)
            .bind(now);
        match completes {
            None => query.execute(pool).await?,
            Some(flow) => {
                let data = flows::data_json(flow)?;
                flows::bind_update!(query, flow, &data)
                    .execute(pool)
                    .await?
            }
        };
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let mut c = tx.conn();
    on!(c.re(), |c, d| {
        sqlx::query(sql!(d, "INSERT INTO sessions (id, identity_id, token_hash, logout_token_hash, active, aal, authentication_methods, issued_at, authenticated_at, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
            .bind(s.id)
            .bind(s.identity_id)
            .bind(token_hash)
            .bind(logout_token_hash)
            .bind(s.active)
            .bind(s.authenticator_assurance_level.as_str())
            .bind(&methods)
            .bind(s.issued_at)
            .bind(s.authenticated_at)
            .bind(s.expires_at)
            .bind(now)
            .bind(now)
            .execute(&mut *c)
            .await?;
    });
    for device in &s.devices {
        add_device(c.re(), s.id, device).await?;
    }
    if let Some(flow) = completes {
        flows::update(c.re(), flow).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Updates the mutable parts of a session (AAL, methods, expiry, active flag).
pub async fn update(c: Conn<'_>, s: &Session) -> Result<()> {
    let methods = serde_json::to_string(&s.authentication_methods)?;
    on!(c, |c, d| {
        sqlx::query(sql!(d, "UPDATE sessions SET active = ?, aal = ?, authentication_methods = ?, authenticated_at = ?, expires_at = ?, updated_at = ? WHERE id = ?"))
            .bind(s.active)
            .bind(s.authenticator_assurance_level.as_str())
            .bind(&methods)
            .bind(s.authenticated_at)
            .bind(s.expires_at)
            .bind(super::now())
            .bind(s.id)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

pub async fn add_device(c: Conn<'_>, session_id: Uuid, device: &Device) -> Result<()> {
    let now = super::now();
    on!(c, |c, d| {
        sqlx::query(sql!(d, "INSERT INTO session_devices (id, session_id, ip_address, user_agent, location, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"))
            .bind(device.id)
            .bind(session_id)
            .bind(&device.ip_address)
            .bind(device.user_agent.as_deref().map(|ua| truncate(ua, 512)))
            .bind(&device.location)
            .bind(now)
            .bind(now)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

pub async fn find_by_token_hash(mut c: Conn<'_>, token_hash: &str) -> Result<Option<Session>> {
    let row: Option<SessionRow> = on!(c.re(), |c, d| {
        sqlx::query_as(sql!(d, "SELECT id, identity_id, active, aal, authentication_methods, issued_at, authenticated_at, expires_at FROM sessions WHERE token_hash = ?"))
            .bind(token_hash)
            .fetch_optional(&mut *c)
            .await?
    });
    with_devices(c, row).await
}

#[derive(sqlx::FromRow)]
struct WhoamiSessionRow {
    session_id: Uuid,
    active: bool,
    aal: String,
    authentication_methods: String,
    issued_at: DateTime<Utc>,
    authenticated_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// A row of the whoami children query: an address (see [`ChildRow`]) or a device (`d`: the
/// address is its IP).
#[derive(sqlx::FromRow)]
struct WhoamiChildRow {
    #[sqlx(flatten)]
    child: ChildRow,
    user_agent: Option<String>,
    location: Option<String>,
}

/// The session of a token with its identity (addresses, not credentials) and devices, in two
/// round trips: the session joined with its identity, then devices and addresses in one query.
pub async fn find_for_whoami(mut c: Conn<'_>, token_hash: &str) -> Result<Option<Session>> {
    let found: Option<(WhoamiSessionRow, Identity)> = on!(c.re(), |c, d| {
        let row = sqlx::query(sql!(d, "SELECT s.id AS session_id, s.active, s.aal, s.authentication_methods, s.issued_at, s.authenticated_at, s.expires_at, i.id, i.schema_id, i.traits, i.state, i.state_changed_at, i.metadata_public, i.metadata_admin, i.external_id, i.organization_id, i.available_aal, i.created_at, i.updated_at FROM sessions s JOIN identities i ON i.id = s.identity_id WHERE s.token_hash = ?"))
            .bind(token_hash)
            .fetch_optional(&mut *c)
            .await?;
        match row {
            Some(row) => Some((
                sqlx::FromRow::from_row(&row)?,
                super::identities::identity_from_row(&row)?,
            )),
            None => None,
        }
    });
    let Some((row, mut identity)) = found else {
        return Ok(None);
    };
    let mut session = Session {
        id: row.session_id,
        active: row.active,
        expires_at: row.expires_at,
        authenticated_at: row.authenticated_at,
        authenticator_assurance_level: Aal::parse(&row.aal).unwrap_or(Aal::Aal0),
        authentication_methods: serde_json::from_str(&row.authentication_methods)?,
        issued_at: row.issued_at,
        identity: None,
        devices: vec![],
        identity_id: identity.id,
    };
    let children: Vec<WhoamiChildRow> = on!(c, |c, d| {
        sqlx::query_as(sql!(d, "SELECT 'v' AS kind, id, identity_id, via AS label, value AS body, NULL AS version, verified, verified_at, status, NULL AS user_agent, NULL AS location, created_at, updated_at FROM identity_verifiable_addresses WHERE identity_id = ? \
            UNION ALL SELECT 'r', id, identity_id, via, value, NULL, NULL, NULL, NULL, NULL, NULL, created_at, updated_at FROM identity_recovery_addresses WHERE identity_id = ? \
            UNION ALL SELECT 'd', id, ?, NULL, ip_address, NULL, NULL, NULL, NULL, user_agent, location, created_at, updated_at FROM session_devices WHERE session_id = ?"))
            .bind(session.identity_id)
            .bind(session.identity_id)
            .bind(session.identity_id)
            .bind(session.id)
            .fetch_all(&mut *c)
            .await?
    });
    let mut devices = vec![];
    let mut addresses = vec![];
    for row in children {
        if row.child.kind == "d" {
            devices.push((
                row.child.created_at,
                Device {
                    id: row.child.id,
                    ip_address: row.child.body,
                    user_agent: row.user_agent,
                    location: row.location,
                },
            ));
        } else {
            addresses.push(row.child);
        }
    }
    super::identities::attach_children(std::slice::from_mut(&mut identity), addresses)?;
    // The order of the separate query: devices by creation.
    devices.sort_by_key(|(created_at, d)| (*created_at, d.id));
    session.devices = devices.into_iter().map(|(_, d)| d).collect();
    session.identity = Some(identity);
    Ok(Some(session))
}

pub async fn find_by_logout_token_hash(mut c: Conn<'_>, hash: &str) -> Result<Option<Session>> {
    let row: Option<SessionRow> = on!(c.re(), |c, d| {
        sqlx::query_as(sql!(d, "SELECT id, identity_id, active, aal, authentication_methods, issued_at, authenticated_at, expires_at FROM sessions WHERE logout_token_hash = ?"))
            .bind(hash)
            .fetch_optional(&mut *c)
            .await?
    });
    with_devices(c, row).await
}

pub async fn find(mut c: Conn<'_>, id: Uuid) -> Result<Option<Session>> {
    let row: Option<SessionRow> = on!(c.re(), |c, d| {
        sqlx::query_as(sql!(d, "SELECT id, identity_id, active, aal, authentication_methods, issued_at, authenticated_at, expires_at FROM sessions WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
    });
    with_devices(c, row).await
}

pub async fn get(c: Conn<'_>, id: Uuid) -> Result<Session> {
    find(c, id).await?.ok_or_else(|| {
        ApiError::not_found()
            .with_reason("Unable to locate the resource")
            .into()
    })
}

async fn with_devices(c: Conn<'_>, row: Option<SessionRow>) -> Result<Option<Session>> {
    let Some(row) = row else { return Ok(None) };
    let mut list = vec![row.into_session()?];
    load_devices(c, &mut list).await?;
    Ok(list.pop())
}

pub async fn list(mut c: Conn<'_>, f: &SessionFilter) -> Result<Vec<Session>> {
    let rows: Vec<SessionRow> = on!(c.re(), |c, d| {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE 1 = 1"
        ));
        if let Some(identity) = f.identity_id {
            qb.push(" AND identity_id = ").push_bind(identity);
        }
        match f.active {
            Some(true) => {
                qb.push(" AND active = ")
                    .push_bind(true)
                    .push(" AND expires_at > ")
                    .push_bind(super::now());
            }
            Some(false) => {
                qb.push(" AND (active = ")
                    .push_bind(false)
                    .push(" OR expires_at <= ")
                    .push_bind(super::now())
                    .push(")");
            }
            None => {}
        }
        if let Some(except) = f.except {
            qb.push(" AND id <> ").push_bind(except);
        }
        if let Some(after) = f.after {
            qb.push(" AND id > ").push_bind(after);
        }
        qb.push(" ORDER BY id ASC LIMIT ").push_bind(f.limit as i64);
        qb.build_query_as().fetch_all(&mut *c).await?
    });
    let mut list = rows
        .into_iter()
        .map(SessionRow::into_session)
        .collect::<Result<Vec<_>>>()?;
    load_devices(c, &mut list).await?;
    Ok(list)
}

async fn load_devices(c: Conn<'_>, list: &mut [Session]) -> Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = list.iter().map(|s| s.id).collect();
    let rows: Vec<DeviceRow> = on!(c, |c, d| {
        let mut qb = sqlx::QueryBuilder::new(
            "SELECT id, session_id, ip_address, user_agent, location FROM session_devices WHERE session_id IN (",
        );
        let mut sep = qb.separated(", ");
        for id in &ids {
            sep.push_bind(*id);
        }
        sep.push_unseparated(") ORDER BY created_at, id");
        qb.build_query_as().fetch_all(&mut *c).await?
    });
    let index: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(n, id)| (*id, n)).collect();
    for row in rows {
        if let Some(&n) = index.get(&row.session_id) {
            list[n].devices.push(Device {
                id: row.id,
                ip_address: row.ip_address,
                user_agent: row.user_agent,
                location: row.location,
            });
        }
    }
    Ok(())
}

/// Deactivates one session. Returns false when it does not exist.
pub async fn revoke(c: Conn<'_>, id: Uuid) -> Result<bool> {
    let n = on!(c, |c, d| {
        sqlx::query(sql!(
            d,
            "UPDATE sessions SET active = ?, updated_at = ? WHERE id = ?"
        ))
        .bind(false)
        .bind(super::now())
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    Ok(n > 0)
}

/// Deactivates one session of an identity (the caller's own listing). False if not theirs.
pub async fn revoke_for_identity(c: Conn<'_>, identity_id: Uuid, id: Uuid) -> Result<bool> {
    let n = on!(c, |c, d| {
        sqlx::query(sql!(d, "UPDATE sessions SET active = ?, updated_at = ? WHERE id = ? AND identity_id = ? AND active = ?"))
            .bind(false)
            .bind(super::now())
            .bind(id)
            .bind(identity_id)
            .bind(true)
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    Ok(n > 0)
}

/// Deactivates every active session of an identity except `except`; returns how many.
pub async fn revoke_all_of_identity(
    c: Conn<'_>,
    identity_id: Uuid,
    except: Option<Uuid>,
) -> Result<u64> {
    Ok(on!(c, |c, d| {
        sqlx::query(sql!(d, "UPDATE sessions SET active = ?, updated_at = ? WHERE identity_id = ? AND active = ? AND id <> ?"))
            .bind(false)
            .bind(super::now())
            .bind(identity_id)
            .bind(true)
            .bind(except.unwrap_or(Uuid::nil()))
            .execute(&mut *c)
            .await?
            .rows_affected()
    }))
}

/// Deletes every session of an identity (admin API); returns how many.
pub async fn delete_all_of_identity(c: Conn<'_>, identity_id: Uuid) -> Result<u64> {
    Ok(on!(c, |c, d| {
        sqlx::query(sql!(d, "DELETE FROM sessions WHERE identity_id = ?"))
            .bind(identity_id)
            .execute(&mut *c)
            .await?
            .rows_affected()
    }))
}

pub async fn revoke_by_token_hash(c: Conn<'_>, token_hash: &str) -> Result<bool> {
    let n = on!(c, |c, d| {
        sqlx::query(sql!(
            d,
            "UPDATE sessions SET active = ?, updated_at = ? WHERE token_hash = ?"
        ))
        .bind(false)
        .bind(super::now())
        .bind(token_hash)
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    Ok(n > 0)
}

pub async fn set_expiry(c: Conn<'_>, id: Uuid, expires_at: DateTime<Utc>) -> Result<bool> {
    let n = on!(c, |c, d| {
        sqlx::query(sql!(
            d,
            "UPDATE sessions SET expires_at = ?, updated_at = ? WHERE id = ?"
        ))
        .bind(expires_at)
        .bind(super::now())
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    Ok(n > 0)
}
