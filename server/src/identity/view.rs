//! The JSON shapes of an identity on the admin API, and reading a patched admin document back.
//!
//! Kratos renders identities three ways: to the identity itself (no credentials, no admin
//! metadata: `Identity`'s own `Serialize`), to admins with credential configurations withheld
//! unless asked for (`include_credential`), and to admins in full (the document JSON Patch
//! operations apply to).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};
use uuid::Uuid;

use super::credentials::OidcConfig;
use super::model::{
    Credentials, CredentialsType, Identity, IdentityState, RecoveryAddress, VerifiableAddress,
};
use crate::error::{ApiError, Result};

/// Which credential configurations an admin rendering shows.
#[derive(Debug, Clone, Copy)]
pub enum ConfigShown<'a> {
    /// None (responses to create, update and patch).
    None,
    /// Those of the listed types; OIDC and SAML only with their provider links and tokens.
    Declassified(&'a [CredentialsType]),
    /// All of them, verbatim (the document JSON Patch applies to).
    All,
}

/// An identity as the admin API renders it: credentials (configs per [`ConfigShown`]) and
/// `metadata_admin` (`null` when unset).
pub struct AdminIdentity<'a> {
    pub identity: &'a Identity,
    pub configs: ConfigShown<'a>,
}

impl<'a> AdminIdentity<'a> {
    pub fn new(identity: &'a Identity, configs: ConfigShown<'a>) -> Self {
        AdminIdentity { identity, configs }
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

struct CredentialView<'a> {
    cred: &'a Credentials,
    config: Option<Value>,
}

impl Serialize for CredentialView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", &self.cred.kind)?;
        m.serialize_entry("identifiers", &self.cred.identifiers)?;
        if let Some(config) = &self.config {
            m.serialize_entry("config", config)?;
        }
        m.serialize_entry("version", &self.cred.version)?;
        m.serialize_entry("created_at", &self.cred.created_at)?;
        m.serialize_entry("updated_at", &self.cred.updated_at)?;
        m.end()
    }
}

/// OIDC/SAML configs reveal only the provider links, and for OIDC the initial tokens. Tokens are
/// stored encrypted by the OIDC flow; they are shown empty until the cipher is wired here, as
/// Kratos does when it cannot decrypt them.
fn declassify_links(config: &Value, with_tokens: bool) -> Value {
    let parsed: OidcConfig = serde_json::from_value(config.clone()).unwrap_or_default();
    let providers: Vec<Value> = parsed
        .providers
        .iter()
        .map(|p| {
            let mut v = json!({ "subject": p.subject, "provider": p.provider });
            if with_tokens {
                v["initial_id_token"] = json!("");
                v["initial_access_token"] = json!("");
                v["initial_refresh_token"] = json!("");
            }
            if !p.organization.is_empty() {
                v["organization"] = json!(p.organization);
            }
            if p.use_auto_link {
                v["use_auto_link"] = json!(true);
            }
            v
        })
        .collect();
    json!({ "providers": providers })
}

impl Serialize for AdminIdentity<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let i = self.identity;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &i.id)?;
        if !i.credentials.is_empty() {
            let creds: BTreeMap<&str, CredentialView<'_>> = i
                .credentials
                .iter()
                .map(|(kind, cred)| {
                    let config = match self.configs {
                        ConfigShown::None => None,
                        ConfigShown::All => cred.config.clone(),
                        ConfigShown::Declassified(kinds) if kinds.contains(kind) => match kind {
                            CredentialsType::Oidc => {
                                cred.config.as_ref().map(|c| declassify_links(c, true))
                            }
                            CredentialsType::Saml => {
                                cred.config.as_ref().map(|c| declassify_links(c, false))
                            }
                            _ => cred.config.clone(),
                        },
                        ConfigShown::Declassified(_) => None,
                    };
                    (kind.as_str(), CredentialView { cred, config })
                })
                .collect();
            m.serialize_entry("credentials", &creds)?;
        }
        m.serialize_entry("schema_id", &i.schema_id)?;
        m.serialize_entry("schema_url", &i.schema_url)?;
        m.serialize_entry("state", &i.state)?;
        if let Some(t) = &i.state_changed_at {
            m.serialize_entry("state_changed_at", t)?;
        }
        m.serialize_entry("traits", &i.traits)?;
        if !i.verifiable_addresses.is_empty() {
            m.serialize_entry("verifiable_addresses", &i.verifiable_addresses)?;
        }
        if !i.recovery_addresses.is_empty() {
            m.serialize_entry("recovery_addresses", &i.recovery_addresses)?;
        }
        m.serialize_entry("metadata_public", &i.metadata_public)?;
        m.serialize_entry("metadata_admin", &i.metadata_admin)?;
        m.serialize_entry("created_at", &i.created_at)?;
        m.serialize_entry("updated_at", &i.updated_at)?;
        m.serialize_entry("organization_id", &i.organization_id)?;
        if let Some(ext) = &i.external_id {
            m.serialize_entry("external_id", ext)?;
        }
        m.end()
    }
}

/// The admin document after a JSON Patch, read back. Fields are loosely typed so that the
/// handler can report Kratos's own errors (e.g. for an invalid `state`).
#[derive(Deserialize)]
struct PatchedDocument {
    #[serde(default)]
    schema_id: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    state_changed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    traits: Value,
    #[serde(default)]
    verifiable_addresses: Option<Vec<PatchedVerifiable>>,
    #[serde(default)]
    recovery_addresses: Option<Vec<PatchedRecovery>>,
    #[serde(default)]
    metadata_public: Value,
    #[serde(default)]
    metadata_admin: Value,
    #[serde(default)]
    organization_id: Option<Uuid>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    credentials: Option<BTreeMap<String, PatchedCredentials>>,
}

#[derive(Deserialize)]
struct PatchedVerifiable {
    #[serde(default)]
    id: Option<Uuid>,
    #[serde(default)]
    value: String,
    #[serde(default)]
    verified: bool,
    #[serde(default)]
    via: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    verified_at: Option<DateTime<Utc>>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct PatchedRecovery {
    #[serde(default)]
    id: Option<Uuid>,
    #[serde(default)]
    value: String,
    #[serde(default)]
    via: String,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct PatchedCredentials {
    #[serde(default)]
    identifiers: Option<Vec<String>>,
    #[serde(default)]
    config: Value,
    #[serde(default)]
    version: i32,
}

/// What a patched document turned into: the updated identity and the state as written (which
/// may be invalid; the caller decides).
pub struct Patched {
    pub identity: Identity,
    pub state: String,
}

fn null_to_none(v: Value) -> Option<Value> {
    if v.is_null() { None } else { Some(v) }
}

/// Reads a patched admin document back onto `original` (ids, creation times and credential ids
/// are kept; timestamps the client may not set are ignored).
pub fn read_patched(doc: Value, original: &Identity) -> Result<Patched> {
    let p: PatchedDocument = serde_json::from_value(doc).map_err(|e| {
        ApiError::bad_request()
            .with_reason("An error occured when applying the JSON patch")
            .with_message(e.to_string())
    })?;
    let now = crate::persistence::now();
    let mut i = original.clone();
    i.schema_id = p.schema_id;
    i.state_changed_at = p.state_changed_at.map(crate::persistence::truncate_micros);
    i.traits = p.traits;
    i.metadata_public = null_to_none(p.metadata_public);
    i.metadata_admin = null_to_none(p.metadata_admin);
    i.organization_id = p.organization_id;
    i.external_id = p.external_id.filter(|e| !e.is_empty());
    i.verifiable_addresses = p
        .verifiable_addresses
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            let prior = original
                .verifiable_addresses
                .iter()
                .find(|o| Some(o.id) == a.id);
            VerifiableAddress {
                id: a.id.unwrap_or_else(Uuid::new_v4),
                value: a.value,
                verified: a.verified,
                via: a.via,
                status: a.status.parse().unwrap_or_default(),
                verified_at: a.verified_at.map(crate::persistence::truncate_micros),
                created_at: prior.map_or_else(|| a.created_at.unwrap_or(now), |o| o.created_at),
                updated_at: now,
            }
        })
        .collect();
    i.recovery_addresses = p
        .recovery_addresses
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            let prior = original
                .recovery_addresses
                .iter()
                .find(|o| Some(o.id) == a.id);
            RecoveryAddress {
                id: a.id.unwrap_or_else(Uuid::new_v4),
                value: a.value,
                via: a.via,
                created_at: prior.map_or_else(|| a.created_at.unwrap_or(now), |o| o.created_at),
                updated_at: now,
            }
        })
        .collect();
    let mut credentials = BTreeMap::new();
    for (name, c) in p.credentials.unwrap_or_default() {
        let Ok(kind) = name.parse::<CredentialsType>() else {
            return Err(ApiError::bad_request()
                .with_reason("An error occured when applying the JSON patch")
                .with_message(format!("unknown credentials type {name:?}"))
                .into());
        };
        let prior = original.credentials.get(&kind);
        let changed = prior.is_none_or(|o| {
            o.config.as_ref() != Some(&c.config)
                || c.identifiers
                    .as_ref()
                    .is_some_and(|ids| *ids != o.identifiers)
                || o.version != c.version
        });
        credentials.insert(
            kind,
            Credentials {
                id: prior.map_or_else(Uuid::new_v4, |o| o.id),
                kind,
                identifiers: c.identifiers.unwrap_or_default(),
                config: Some(if c.config.is_null() {
                    json!({})
                } else {
                    c.config
                }),
                version: c.version,
                created_at: prior.map_or(now, |o| o.created_at),
                updated_at: match prior {
                    Some(o) if !changed => o.updated_at,
                    _ => now,
                },
            },
        );
    }
    i.credentials = credentials;
    Ok(Patched {
        identity: i,
        state: p.state,
    })
}

/// Parses a state as Kratos validates it.
pub fn parse_state(state: &str) -> Option<IdentityState> {
    state.parse().ok()
}
