//! The bodies of the admin create/update endpoints and the import of credentials they carry:
//! passwords (plaintext, hashed with the configured hasher; or a hash in one of the formats Kratos
//! imports, stored as is and re-hashed on the next login), OIDC and SAML provider links.

use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::credentials::{OidcConfig, OidcProvider, PasswordConfig, oidc_identifier};
use super::model::{
    CredentialsType, Identity, IdentityState, RecoveryAddress, VerifiableAddress,
    VerifiableAddressStatus,
};
use crate::app::App;
use crate::error::{ApiError, Result};

/// `createIdentityBody`. Unknown fields are refused, as Kratos's strict decoder does.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIdentityBody {
    #[serde(default)]
    pub schema_id: String,
    #[serde(default)]
    pub traits: Value,
    #[serde(default)]
    pub credentials: Option<ImportCredentials>,
    #[serde(default)]
    pub verifiable_addresses: Option<Vec<ImportVerifiableAddress>>,
    #[serde(default)]
    pub recovery_addresses: Option<Vec<ImportRecoveryAddress>>,
    #[serde(default)]
    pub metadata_public: Value,
    #[serde(default)]
    pub metadata_admin: Value,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub organization_id: Option<Uuid>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// `updateIdentityBody`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateIdentityBody {
    #[serde(default)]
    pub schema_id: String,
    #[serde(default)]
    pub traits: Value,
    #[serde(default)]
    pub credentials: Option<ImportCredentials>,
    #[serde(default)]
    pub metadata_public: Value,
    #[serde(default)]
    pub metadata_admin: Value,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// `identityWithCredentials`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportCredentials {
    #[serde(default)]
    pub password: Option<ImportPassword>,
    #[serde(default)]
    pub oidc: Option<ImportProviders>,
    #[serde(default)]
    pub saml: Option<ImportProviders>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportPassword {
    #[serde(default)]
    pub config: ImportPasswordConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportPasswordConfig {
    #[serde(default)]
    pub hashed_password: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub use_password_migration_hook: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportProviders {
    #[serde(default)]
    pub config: ImportProvidersConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportProvidersConfig {
    #[serde(default)]
    pub providers: Vec<ImportProvider>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportProvider {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub use_auto_link: bool,
    #[serde(default)]
    pub organization: Option<Uuid>,
}

/// A verifiable address in an import (ids and timestamps are accepted and replaced).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportVerifiableAddress {
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub via: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub verified_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRecoveryAddress {
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub via: String,
    #[serde(default)]
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Kratos's message for an invalid `state`.
pub fn parse_state(state: &str) -> Result<IdentityState> {
    state.parse().map_err(|()| {
        ApiError::bad_request()
            .with_reason("identity state is not valid")
            .into()
    })
}

fn metadata(v: Value) -> Option<Value> {
    if v.is_null() { None } else { Some(v) }
}

impl CreateIdentityBody {
    /// Whether this body carries a plaintext password (these count against the batch limit).
    pub fn has_plaintext_password(&self) -> bool {
        self.credentials
            .as_ref()
            .and_then(|c| c.password.as_ref())
            .is_some_and(|p| !p.config.password.is_empty())
    }

    /// The identity this body describes, with its credentials imported. Not yet validated.
    pub async fn into_identity(self, app: &App) -> Result<Identity> {
        let state = match self.state.as_deref() {
            None | Some("") => IdentityState::Active,
            Some(s) => parse_state(s)?,
        };
        let mut identity = Identity::new(self.schema_id, self.traits);
        identity.state = state;
        identity.metadata_public = metadata(self.metadata_public);
        identity.metadata_admin = metadata(self.metadata_admin);
        identity.organization_id = self.organization_id;
        identity.external_id = self.external_id.filter(|e| !e.is_empty());
        let now = identity.created_at;
        // Lower-cased here, as Kratos does, so that the schema extension recognises them.
        for a in self.verifiable_addresses.unwrap_or_default() {
            let status = match a.status.as_str() {
                "" if a.verified => VerifiableAddressStatus::Completed,
                "" => VerifiableAddressStatus::Pending,
                s => s.parse().map_err(|()| {
                    ApiError::bad_request().with_reason(format!(
                        "The verifiable address status {s:?} is not valid; use pending, sent or completed."
                    ))
                })?,
            };
            identity.verifiable_addresses.push(VerifiableAddress {
                id: Uuid::new_v4(),
                value: a.value.trim().to_lowercase(),
                verified: a.verified,
                via: if a.via.is_empty() {
                    "email".into()
                } else {
                    a.via
                },
                status,
                verified_at: a.verified_at.map(crate::persistence::truncate_micros),
                created_at: now,
                updated_at: now,
            });
        }
        for a in self.recovery_addresses.unwrap_or_default() {
            identity.recovery_addresses.push(RecoveryAddress {
                id: Uuid::new_v4(),
                value: a.value.trim().to_lowercase(),
                via: if a.via.is_empty() {
                    "email".into()
                } else {
                    a.via
                },
                created_at: now,
                updated_at: now,
            });
        }
        if let Some(creds) = self.credentials {
            import_credentials(app, &mut identity, creds).await?;
        }
        Ok(identity)
    }
}

/// Imports credentials into `identity` (Kratos's `importCredentials`). Password identifiers are
/// set afterwards by schema validation.
pub async fn import_credentials(
    app: &App,
    identity: &mut Identity,
    creds: ImportCredentials,
) -> Result<()> {
    if let Some(password) = creds.password {
        let config = password.config;
        let value = if config.use_password_migration_hook {
            serde_json::to_value(PasswordConfig {
                hashed_password: String::new(),
                use_password_migration_hook: true,
            })?
        } else {
            // Password policies are deliberately not applied: imported users must be able to
            // sign in with the password they had.
            let hashed = if !config.password.is_empty() {
                super::hashing::hash(app, &config.password).await?
            } else {
                config.hashed_password
            };
            super::hashing::check_import_format(&hashed)?;
            json!({ "hashed_password": hashed })
        };
        let identifiers = identity
            .credentials
            .get(&CredentialsType::Password)
            .map(|c| c.identifiers.clone())
            .unwrap_or_default();
        identity.set_credentials(CredentialsType::Password, identifiers, value);
    }
    for (kind, providers) in [
        (CredentialsType::Oidc, creds.oidc),
        (CredentialsType::Saml, creds.saml),
    ] {
        let Some(providers) = providers else { continue };
        let (mut identifiers, mut config) = match identity.credentials.get(&kind) {
            Some(existing) => (
                existing.identifiers.clone(),
                existing
                    .config
                    .clone()
                    .and_then(|c| serde_json::from_value::<OidcConfig>(c).ok())
                    .unwrap_or_default(),
            ),
            None => (Vec::new(), OidcConfig::default()),
        };
        for p in providers.config.providers {
            identifiers.push(oidc_identifier(&p.provider, &p.subject));
            config.providers.push(OidcProvider {
                subject: p.subject,
                provider: p.provider,
                organization: p.organization.map(|o| o.to_string()).unwrap_or_default(),
                use_auto_link: kind == CredentialsType::Oidc && p.use_auto_link,
                ..Default::default()
            });
        }
        identity.set_credentials(kind, identifiers, serde_json::to_value(config)?);
    }
    Ok(())
}
