//! The identity aggregate: identities, their credentials with identifiers, and their verifiable and
//! recovery addresses.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{Conn, on, sql};
use crate::error::{ApiError, Error, Result};
use crate::identity::model::{
    Credentials, CredentialsType, Identity, IdentityState, RecoveryAddress, VerifiableAddress,
};

#[derive(sqlx::FromRow)]
pub(crate) struct IdentityRow {
    id: Uuid,
    schema_id: String,
    traits: String,
    state: String,
    state_changed_at: Option<DateTime<Utc>>,
    metadata_public: Option<String>,
    metadata_admin: Option<String>,
    external_id: Option<String>,
    organization_id: Option<Uuid>,
    available_aal: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

pub(crate) const IDENTITY_COLUMNS: &str = "id, schema_id, traits, state, state_changed_at, metadata_public, metadata_admin, external_id, organization_id, available_aal, created_at, updated_at";

impl IdentityRow {
    fn into_identity(self) -> Result<Identity> {
        Ok(Identity {
            id: self.id,
            credentials: BTreeMap::new(),
            schema_id: self.schema_id,
            schema_url: String::new(),
            state: self.state.parse().unwrap_or(IdentityState::Active),
            state_changed_at: self.state_changed_at,
            traits: serde_json::from_str(&self.traits)?,
            verifiable_addresses: vec![],
            recovery_addresses: vec![],
            metadata_public: parse_optional_json(self.metadata_public)?,
            metadata_admin: parse_optional_json(self.metadata_admin)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
            organization_id: self.organization_id,
            external_id: self.external_id,
            available_aal: self.available_aal,
        })
    }
}

fn parse_optional_json(raw: Option<String>) -> Result<Option<Value>> {
    match raw {
        None => Ok(None),
        Some(s) => match serde_json::from_str::<Value>(&s)? {
            Value::Null => Ok(None),
            v => Ok(Some(v)),
        },
    }
}

fn optional_json(v: &Option<Value>) -> Option<String> {
    v.as_ref().filter(|v| !v.is_null()).map(Value::to_string)
}

/// One row of the children query ([`load_children`]), told apart by `kind`: a credential
/// (`c`), one of its identifiers (`i`, `id` is the credential's), a verifiable (`v`) or a
/// recovery (`r`) address.
#[derive(sqlx::FromRow)]
pub(crate) struct ChildRow {
    pub kind: String,
    pub id: Uuid,
    identity_id: Uuid,
    /// Credential type, or the address's channel (`via`).
    label: Option<String>,
    /// Credential config, identifier, or address value.
    pub body: Option<String>,
    version: Option<i32>,
    verified: Option<bool>,
    verified_at: Option<DateTime<Utc>>,
    status: Option<String>,
    pub created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Which parts of the aggregate to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expand {
    pub credentials: bool,
    pub addresses: bool,
}

impl Expand {
    pub const EVERYTHING: Expand = Expand {
        credentials: true,
        addresses: true,
    };
    pub const ADDRESSES: Expand = Expand {
        credentials: false,
        addresses: true,
    };
    pub const NOTHING: Expand = Expand {
        credentials: false,
        addresses: false,
    };
}

/// Filters of the admin list endpoint.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub ids: Vec<Uuid>,
    /// Exact identifier match; normalised (trimmed, lower-cased) for password, code and webauthn
    /// identifiers, as-is for OIDC and SAML subjects.
    pub credentials_identifier: Option<String>,
    /// Prefix match on identifiers (Kratos's `preview_credentials_identifier_similar`).
    pub credentials_identifier_similar: Option<String>,
    pub organization_id: Option<Uuid>,
    /// Only identities with this schema id.
    pub schema_id: Option<String>,
    /// Keyset: only identities with an id greater than this.
    pub after: Option<Uuid>,
    /// Legacy page pagination: rows to skip.
    pub offset: usize,
    pub limit: usize,
}

/// How Kratos normalises identifiers of a credential type before storing or matching them.
pub fn normalize_identifier(kind: CredentialsType, identifier: &str) -> String {
    match kind {
        CredentialsType::Password | CredentialsType::Code | CredentialsType::Webauthn => {
            identifier.trim().to_lowercase()
        }
        _ => identifier.to_string(),
    }
}

/// Escapes `%`, `_` and the escape character itself for `LIKE ... ESCAPE '!'`.
fn escape_like(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        if matches!(ch, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(ch);
    }
    out
}

/// Inserts a new identity with its credentials and addresses. Run it in a transaction.
pub async fn insert(mut c: Conn<'_>, identity: &Identity) -> Result<()> {
    on!(c.re(), |c, d| {
        sqlx::query(sql!(d, "INSERT INTO identities (id, schema_id, traits, state, state_changed_at, metadata_public, metadata_admin, external_id, organization_id, available_aal, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
            .bind(identity.id)
            .bind(&identity.schema_id)
            .bind(identity.traits.to_string())
            .bind(identity.state.as_str())
            .bind(identity.state_changed_at)
            .bind(optional_json(&identity.metadata_public))
            .bind(optional_json(&identity.metadata_admin))
            .bind(&identity.external_id)
            .bind(identity.organization_id)
            .bind(&identity.available_aal)
            .bind(identity.created_at)
            .bind(identity.updated_at)
            .execute(&mut *c)
            .await?;
    });
    insert_children(c, identity).await
}

/// Replaces an identity's row, credentials and addresses. Run it in a transaction.
pub async fn update(mut c: Conn<'_>, identity: &Identity) -> Result<()> {
    let affected = on!(c.re(), |c, d| {
        sqlx::query(sql!(d, "UPDATE identities SET schema_id = ?, traits = ?, state = ?, state_changed_at = ?, metadata_public = ?, metadata_admin = ?, external_id = ?, organization_id = ?, available_aal = ?, updated_at = ? WHERE id = ?"))
            .bind(&identity.schema_id)
            .bind(identity.traits.to_string())
            .bind(identity.state.as_str())
            .bind(identity.state_changed_at)
            .bind(optional_json(&identity.metadata_public))
            .bind(optional_json(&identity.metadata_admin))
            .bind(&identity.external_id)
            .bind(identity.organization_id)
            .bind(&identity.available_aal)
            .bind(identity.updated_at)
            .bind(identity.id)
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    if affected == 0 {
        // MySQL reports 0 affected rows when nothing changed; check existence explicitly.
        if !exists(c.re(), identity.id).await? {
            return Err(not_found());
        }
    }
    delete_children(c.re(), identity.id).await?;
    insert_children(c, identity).await
}

async fn exists(c: Conn<'_>, id: Uuid) -> Result<bool> {
    let n: i64 = on!(c, |c, d| {
        sqlx::query_scalar(sql!(d, "SELECT COUNT(*) FROM identities WHERE id = ?"))
            .bind(id)
            .fetch_one(&mut *c)
            .await?
    });
    Ok(n > 0)
}

async fn delete_children(c: Conn<'_>, id: Uuid) -> Result<()> {
    on!(c, |c, d| {
        // Identifiers go with their credentials through the foreign key's cascade.
        sqlx::query(sql!(
            d,
            "DELETE FROM identity_credentials WHERE identity_id = ?"
        ))
        .bind(id)
        .execute(&mut *c)
        .await?;
        sqlx::query(sql!(
            d,
            "DELETE FROM identity_verifiable_addresses WHERE identity_id = ?"
        ))
        .bind(id)
        .execute(&mut *c)
        .await?;
        sqlx::query(sql!(
            d,
            "DELETE FROM identity_recovery_addresses WHERE identity_id = ?"
        ))
        .bind(id)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

async fn insert_children(mut c: Conn<'_>, identity: &Identity) -> Result<()> {
    for cred in identity.credentials.values() {
        let config = cred
            .config
            .clone()
            .unwrap_or(Value::Object(Default::default()))
            .to_string();
        on!(c.re(), |c, d| {
            sqlx::query(sql!(d, "INSERT INTO identity_credentials (id, identity_id, type, config, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"))
                .bind(cred.id)
                .bind(identity.id)
                .bind(cred.kind.as_str())
                .bind(&config)
                .bind(cred.version)
                .bind(cred.created_at)
                .bind(cred.updated_at)
                .execute(&mut *c)
                .await?;
        });
        let mut seen = std::collections::HashSet::new();
        let normalized: Vec<String> = cred
            .identifiers
            .iter()
            .map(|i| normalize_identifier(cred.kind, i))
            .filter(|i| !i.is_empty())
            .collect();
        for identifier in normalized.iter().filter(|i| seen.insert(i.as_str())) {
            on!(c.re(), |c, d| {
                sqlx::query(sql!(d, "INSERT INTO identity_credential_identifiers (id, identity_credential_id, identity_id, type, identifier, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"))
                    .bind(Uuid::new_v4())
                    .bind(cred.id)
                    .bind(identity.id)
                    .bind(cred.kind.as_str())
                    .bind(identifier)
                    .bind(cred.created_at)
                    .bind(cred.updated_at)
                    .execute(&mut *c)
                    .await?;
            });
        }
    }
    for a in &identity.verifiable_addresses {
        on!(c.re(), |c, d| {
            sqlx::query(sql!(d, "INSERT INTO identity_verifiable_addresses (id, identity_id, via, value, verified, verified_at, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"))
                .bind(a.id)
                .bind(identity.id)
                .bind(&a.via)
                .bind(&a.value)
                .bind(a.verified)
                .bind(a.verified_at)
                .bind(a.status.as_str())
                .bind(a.created_at)
                .bind(a.updated_at)
                .execute(&mut *c)
                .await?;
        });
    }
    for a in &identity.recovery_addresses {
        on!(c.re(), |c, d| {
            sqlx::query(sql!(d, "INSERT INTO identity_recovery_addresses (id, identity_id, via, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"))
                .bind(a.id)
                .bind(identity.id)
                .bind(&a.via)
                .bind(&a.value)
                .bind(a.created_at)
                .bind(a.updated_at)
                .execute(&mut *c)
                .await?;
        });
    }
    Ok(())
}

/// Kratos's (sqlcon's) 404 for a missing row.
fn not_found() -> Error {
    ApiError::not_found()
        .with_message("Unable to locate the resource")
        .into()
}

/// Loads one identity, or 404.
pub async fn get(mut c: Conn<'_>, id: Uuid, expand: Expand) -> Result<Identity> {
    find(c.re(), id, expand).await?.ok_or_else(not_found)
}

pub async fn find(mut c: Conn<'_>, id: Uuid, expand: Expand) -> Result<Option<Identity>> {
    let row: Option<IdentityRow> = on!(c.re(), |c, d| {
        sqlx::query_as(sql!(d, "SELECT id, schema_id, traits, state, state_changed_at, metadata_public, metadata_admin, external_id, organization_id, available_aal, created_at, updated_at FROM identities WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
    });
    with_children(c, row, expand).await
}

pub async fn find_by_external_id(
    mut c: Conn<'_>,
    external_id: &str,
    expand: Expand,
) -> Result<Option<Identity>> {
    let row: Option<IdentityRow> = on!(c.re(), |c, d| {
        sqlx::query_as(sql!(d, "SELECT id, schema_id, traits, state, state_changed_at, metadata_public, metadata_admin, external_id, organization_id, available_aal, created_at, updated_at FROM identities WHERE external_id = ?"))
            .bind(external_id)
            .fetch_optional(&mut *c)
            .await?
    });
    with_children(c, row, expand).await
}

/// The identity owning `identifier` for a credential type (e.g. the password login lookup).
pub async fn find_by_identifier(
    mut c: Conn<'_>,
    kind: CredentialsType,
    identifier: &str,
    expand: Expand,
) -> Result<Option<Identity>> {
    let row: Option<IdentityRow> = on!(c.re(), |c, d| {
        sqlx::query_as(sql!(d, "SELECT id, schema_id, traits, state, state_changed_at, metadata_public, metadata_admin, external_id, organization_id, available_aal, created_at, updated_at FROM identities WHERE id = (SELECT identity_id FROM identity_credential_identifiers WHERE type = ? AND identifier = ?)"))
            .bind(kind.as_str())
            .bind(normalize_identifier(kind, identifier))
            .fetch_optional(&mut *c)
            .await?
    });
    with_children(c, row, expand).await
}

/// The identity of a row, with its children as requested.
async fn with_children(
    c: Conn<'_>,
    row: Option<IdentityRow>,
    expand: Expand,
) -> Result<Option<Identity>> {
    let Some(row) = row else { return Ok(None) };
    let mut list = vec![row.into_identity()?];
    load_children(c, &mut list, expand).await?;
    Ok(list.pop())
}

/// A page of identities in id order (keyset pagination), with children as requested.
pub async fn list(mut c: Conn<'_>, filter: &ListFilter, expand: Expand) -> Result<Vec<Identity>> {
    let rows: Vec<IdentityRow> = on!(c.re(), |c, d| {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "SELECT {IDENTITY_COLUMNS} FROM identities WHERE 1 = 1"
        ));
        if let Some(after) = filter.after {
            qb.push(" AND id > ").push_bind(after);
        }
        if !filter.ids.is_empty() {
            qb.push(" AND id IN (");
            let mut sep = qb.separated(", ");
            for id in &filter.ids {
                sep.push_bind(*id);
            }
            sep.push_unseparated(")");
        }
        if let Some(identifier) = &filter.credentials_identifier {
            qb.push(" AND id IN (SELECT identity_id FROM identity_credential_identifiers WHERE (type IN ('password', 'code', 'webauthn') AND identifier = ")
                .push_bind(identifier.trim().to_lowercase())
                .push(") OR (type IN ('oidc', 'saml') AND identifier = ")
                .push_bind(identifier.clone())
                .push("))");
        }
        if let Some(prefix) = &filter.credentials_identifier_similar {
            qb.push(" AND id IN (SELECT identity_id FROM identity_credential_identifiers WHERE (type IN ('password', 'code', 'webauthn') AND identifier LIKE ")
                .push_bind(format!("{}%", escape_like(&prefix.trim().to_lowercase())))
                .push(" ESCAPE '!') OR (type IN ('oidc', 'saml') AND identifier LIKE ")
                .push_bind(format!("{}%", escape_like(prefix)))
                .push(" ESCAPE '!'))");
        }
        if let Some(org) = filter.organization_id {
            qb.push(" AND organization_id = ").push_bind(org);
        }
        if let Some(schema_id) = &filter.schema_id {
            qb.push(" AND schema_id = ").push_bind(schema_id.clone());
        }
        qb.push(" ORDER BY id ASC LIMIT ")
            .push_bind(filter.limit as i64);
        if filter.offset > 0 {
            qb.push(" OFFSET ").push_bind(filter.offset as i64);
        }
        qb.build_query_as().fetch_all(&mut *c).await?
    });
    let mut list = rows
        .into_iter()
        .map(IdentityRow::into_identity)
        .collect::<Result<Vec<_>>>()?;
    load_children(c, &mut list, expand).await?;
    Ok(list)
}

/// Deletes an identity and everything it owns. Returns false when it did not exist.
pub async fn delete(c: Conn<'_>, id: Uuid) -> Result<bool> {
    let n = on!(c, |c, d| {
        sqlx::query(sql!(d, "DELETE FROM identities WHERE id = ?"))
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected()
    });
    Ok(n > 0)
}

/// Counts identities (for metrics and tests).
pub async fn count(c: Conn<'_>) -> Result<i64> {
    Ok(on!(c, |c, d| sqlx::query_scalar(sql!(
        d,
        "SELECT COUNT(*) FROM identities"
    ))
    .fetch_one(&mut *c)
    .await?))
}

/// Loads the credentials (with identifiers) of one identity already loaded without them.
pub async fn load_credentials(c: Conn<'_>, identity: &mut Identity) -> Result<()> {
    load_children(
        c,
        std::slice::from_mut(identity),
        Expand {
            credentials: true,
            addresses: false,
        },
    )
    .await
}

/// An identity from columns selected with [`IDENTITY_COLUMNS`] (e.g. joined with its session).
pub(crate) fn identity_from_row<'r, R>(row: &'r R) -> Result<Identity>
where
    R: sqlx::Row,
    IdentityRow: sqlx::FromRow<'r, R>,
{
    <IdentityRow as sqlx::FromRow<'r, R>>::from_row(row)?.into_identity()
}

/// Loads credentials (with identifiers) and addresses for a batch of identities, in one query.
async fn load_children(c: Conn<'_>, list: &mut [Identity], expand: Expand) -> Result<()> {
    if list.is_empty() || expand == Expand::NOTHING {
        return Ok(());
    }
    let ids: Vec<Uuid> = list.iter().map(|i| i.id).collect();
    // PostgreSQL types a chain of UNIONs pair by pair, so a column that is NULL in the first two
    // parts would be typed text: the verifiable addresses (verified, status) come first and the
    // credentials (version) second.
    let mut parts = vec![];
    if expand.addresses {
        parts.push("SELECT 'v' AS kind, id, identity_id, via AS label, value AS body, NULL AS version, verified, verified_at, status, created_at, updated_at FROM identity_verifiable_addresses");
    }
    if expand.credentials {
        parts.push("SELECT 'c', id, identity_id, type, config, version, NULL, NULL, NULL, created_at, updated_at FROM identity_credentials");
    }
    if expand.addresses {
        parts.push("SELECT 'r', id, identity_id, via, value, NULL, NULL, NULL, NULL, created_at, updated_at FROM identity_recovery_addresses");
    }
    if expand.credentials {
        parts.push("SELECT 'i', identity_credential_id, identity_id, type, identifier, NULL, NULL, NULL, NULL, created_at, updated_at FROM identity_credential_identifiers");
    }
    let rows: Vec<ChildRow> = on!(c, |c, d| {
        let mut qb = sqlx::QueryBuilder::new("");
        for (n, part) in parts.iter().enumerate() {
            if n > 0 {
                qb.push(" UNION ALL ");
            }
            qb.push(part).push(" WHERE identity_id IN (");
            let mut sep = qb.separated(", ");
            for id in &ids {
                sep.push_bind(*id);
            }
            sep.push_unseparated(")");
        }
        qb.build_query_as().fetch_all(&mut *c).await?
    });
    attach_children(list, rows)
}

/// Puts the rows of the children query into their identities, in the orders the API shows:
/// addresses by id, identifiers alphabetically.
pub(crate) fn attach_children(list: &mut [Identity], rows: Vec<ChildRow>) -> Result<()> {
    let index: HashMap<Uuid, usize> = list.iter().enumerate().map(|(n, i)| (i.id, n)).collect();
    let mut identifiers: HashMap<Uuid, Vec<String>> = HashMap::new();
    let mut credentials = vec![];
    for row in rows {
        let Some(&n) = index.get(&row.identity_id) else {
            continue;
        };
        let identity = &mut list[n];
        match row.kind.as_str() {
            "v" => identity.verifiable_addresses.push(VerifiableAddress {
                id: row.id,
                value: row.body.unwrap_or_default(),
                verified: row.verified.unwrap_or_default(),
                via: row.label.unwrap_or_default(),
                status: row
                    .status
                    .as_deref()
                    .unwrap_or_default()
                    .parse()
                    .unwrap_or_default(),
                verified_at: row.verified_at,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }),
            "r" => identity.recovery_addresses.push(RecoveryAddress {
                id: row.id,
                value: row.body.unwrap_or_default(),
                via: row.label.unwrap_or_default(),
                created_at: row.created_at,
                updated_at: row.updated_at,
            }),
            "i" => identifiers
                .entry(row.id)
                .or_default()
                .push(row.body.unwrap_or_default()),
            _ => credentials.push((n, row)),
        }
    }
    for identity in list.iter_mut() {
        identity.verifiable_addresses.sort_by_key(|a| a.id);
        identity.recovery_addresses.sort_by_key(|a| a.id);
    }
    for (n, row) in credentials {
        let label = row.label.unwrap_or_default();
        let Ok(kind) = label.parse::<CredentialsType>() else {
            tracing::warn!(credential = %row.id, kind = %label, "skipping credential of unknown type");
            continue;
        };
        let mut credential_identifiers = identifiers.remove(&row.id).unwrap_or_default();
        credential_identifiers.sort();
        list[n].credentials.insert(
            kind,
            Credentials {
                id: row.id,
                kind,
                identifiers: credential_identifiers,
                config: Some(serde_json::from_str(row.body.as_deref().unwrap_or("null"))?),
                version: row.version.unwrap_or_default(),
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
        );
    }
    Ok(())
}

/// The identity owning a verifiable address.
pub async fn find_verifiable_address_owner(
    c: Conn<'_>,
    via: &str,
    value: &str,
) -> Result<Option<Uuid>> {
    find_address_owner(c, AddressTable::Verifiable, via, value).await
}

/// The identity owning a recovery address.
pub async fn find_recovery_address_owner(
    c: Conn<'_>,
    via: &str,
    value: &str,
) -> Result<Option<Uuid>> {
    find_address_owner(c, AddressTable::Recovery, via, value).await
}

/// The address table an owner lookup searches.
pub enum AddressTable {
    Verifiable,
    Recovery,
}

/// The identity owning an address (matched case-insensitively, trimmed) in one address table.
pub async fn find_address_owner(
    c: Conn<'_>,
    table: AddressTable,
    via: &str,
    value: &str,
) -> Result<Option<Uuid>> {
    let value = value.trim().to_lowercase();
    Ok(on!(c, |c, d| {
        // One `sql!` per table: each call site caches its own placeholder rewrite.
        let query = match table {
            AddressTable::Verifiable => sql!(
                d,
                "SELECT identity_id FROM identity_verifiable_addresses WHERE via = ? AND value = ?"
            ),
            AddressTable::Recovery => sql!(
                d,
                "SELECT identity_id FROM identity_recovery_addresses WHERE via = ? AND value = ?"
            ),
        };
        sqlx::query_scalar(query)
            .bind(via)
            .bind(&value)
            .fetch_optional(&mut *c)
            .await?
    }))
}

/// Deletes one credential type of an identity (admin API).
pub async fn delete_credential(
    c: Conn<'_>,
    identity_id: Uuid,
    kind: CredentialsType,
) -> Result<bool> {
    let n = on!(c, |c, d| {
        sqlx::query(sql!(
            d,
            "DELETE FROM identity_credentials WHERE identity_id = ? AND type = ?"
        ))
        .bind(identity_id)
        .bind(kind.as_str())
        .execute(&mut *c)
        .await?
        .rows_affected()
    });
    Ok(n > 0)
}
