//! Creating and updating identities with Kratos's rules. This is what the admin API and the
//! self-service flows (registration, settings, recovery, verification) call:
//!
//! - [`IdentityManager::validate`] checks traits against the identity's schema and applies what
//!   the `ory.sh/kratos` extension declares: credential identifiers (password, webauthn, code),
//!   verifiable and recovery addresses (existing addresses keep their id and verification status
//!   when their value is unchanged), and the available assurance level;
//! - [`IdentityManager::create`] validates and inserts in one transaction; identifiers or
//!   addresses owned by another identity give [`Error::DuplicateCredentials`] (409), with login
//!   hints when `selfservice.flows.registration.login_hints` is on;
//! - [`IdentityManager::update`] validates and replaces the stored identity; without
//!   [`UpdateOptions::allow_write_protected`] it refuses changes to credentials and verifiable
//!   addresses (Kratos's 403 for unprivileged updates, e.g. settings' profile method).
//!
//! Invalid traits are [`Error::Validation`]: a 400 on the admin API, per-field UI messages in flows.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use super::credentials::{
    self, AalPolicy, CodeAddressConfig, CodeConfig, OidcConfig, PasswordConfig,
};
use super::model::{
    CredentialsType, Identity, RecoveryAddress, VerifiableAddress, VerifiableAddressStatus,
};
use super::schema::{Extracted, schema_url};
use crate::app::App;
use crate::error::{ApiError, Error, Result};
use crate::persistence::identities::{self, Expand};

/// Options of [`IdentityManager::update`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UpdateOptions {
    /// Allow changes to credentials and verifiable addresses (admin API, recovery, verification).
    pub allow_write_protected: bool,
}

impl UpdateOptions {
    pub const PRIVILEGED: UpdateOptions = UpdateOptions {
        allow_write_protected: true,
    };
}

/// A new identity's identifier or address is taken. The hints (which ways the existing account
/// can sign in) are filled when `selfservice.flows.registration.login_hints` is enabled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DuplicateCredentials {
    /// Credential types the existing identity can sign in with, sorted.
    pub available_credential_types: Vec<String>,
    /// OIDC providers the existing identity is linked to, sorted.
    pub available_oidc_providers: Vec<String>,
    /// The identifier that collided (not for OIDC subjects).
    pub identifier_hint: String,
}

impl DuplicateCredentials {
    pub fn has_hints(&self) -> bool {
        !self.available_credential_types.is_empty()
            || !self.available_oidc_providers.is_empty()
            || !self.identifier_hint.is_empty()
    }
}

/// Kratos's 403 when an unprivileged update touches credentials or verifiable addresses.
pub fn protected_field_modified() -> Error {
    ApiError::forbidden()
        .with_reason("A field was modified that updates one or more credentials-related settings. This action was blocked because an unprivileged method was used to execute the update. This is either a configuration issue or a bug and should be reported to the system administrator.")
        .into()
}

/// The outcome of one item of [`IdentityManager::create_many`].
pub type CreateOutcome = std::result::Result<Identity, Error>;

/// Identity operations with Kratos's rules; cheap to construct (`app.identities()`).
pub struct IdentityManager<'a> {
    app: &'a App,
    policy: AalPolicy,
}

impl App {
    pub fn identities(&self) -> IdentityManager<'_> {
        IdentityManager {
            app: self,
            policy: AalPolicy::default(),
        }
    }
}

/// Lower-cases and trims addresses, defaults their channel and status, and keeps `verified_at`
/// consistent with `verified`, as Kratos's persister does before every write.
pub fn normalize_addresses(identity: &mut Identity) {
    let now = crate::persistence::now();
    for a in &mut identity.verifiable_addresses {
        a.value = a.value.trim().to_lowercase();
        if a.via.is_empty() {
            a.via = "email".into();
        }
        if a.verified && a.verified_at.is_none() {
            a.verified_at = Some(now);
        }
        if !a.verified {
            a.verified_at = None;
        }
    }
    for a in &mut identity.recovery_addresses {
        a.value = a.value.trim().to_lowercase();
        if a.via.is_empty() {
            a.via = "email".into();
        }
    }
}

fn set_identifiers(identity: &mut Identity, kind: CredentialsType, identifiers: &[String]) {
    let now = crate::persistence::now();
    match identity.credentials.get_mut(&kind) {
        Some(c) => {
            if c.identifiers != identifiers {
                c.identifiers = identifiers.to_vec();
                c.updated_at = now;
            }
        }
        None => identity.set_credentials(kind, identifiers.to_vec(), json!({})),
    }
}

/// Applies what the schema extension found to `identity` (Kratos's credential, verification and
/// recovery extensions).
pub fn apply_extracted(identity: &mut Identity, extracted: &Extracted) {
    let now = crate::persistence::now();
    if !extracted.password_identifiers.is_empty() {
        set_identifiers(
            identity,
            CredentialsType::Password,
            &extracted.password_identifiers,
        );
    }
    if !extracted.webauthn_identifiers.is_empty() {
        set_identifiers(
            identity,
            CredentialsType::Webauthn,
            &extracted.webauthn_identifiers,
        );
    }
    if !extracted.code_addresses.is_empty() {
        let config = CodeConfig {
            addresses: extracted
                .code_addresses
                .iter()
                .map(|a| CodeAddressConfig {
                    channel: a.channel.as_str().into(),
                    address: a.address.clone(),
                })
                .collect(),
        };
        let config = serde_json::to_value(config).unwrap_or_else(|_| json!({}));
        let identifiers = extracted.code_identifiers();
        let is_new = !identity.credentials.contains_key(&CredentialsType::Code);
        identity.set_credentials(CredentialsType::Code, identifiers, config);
        if is_new && let Some(c) = identity.credentials.get_mut(&CredentialsType::Code) {
            c.version = 1;
        }
    }

    let mut verifiable = Vec::with_capacity(extracted.verifiable_addresses.len());
    for (value, via) in &extracted.verifiable_addresses {
        let existing = identity
            .verifiable_addresses
            .iter()
            .find(|a| &a.value == value && a.via == via.as_str());
        verifiable.push(match existing {
            Some(a) => a.clone(),
            None => VerifiableAddress {
                id: Uuid::new_v4(),
                value: value.clone(),
                verified: false,
                via: via.as_str().into(),
                status: VerifiableAddressStatus::Pending,
                verified_at: None,
                created_at: now,
                updated_at: now,
            },
        });
    }
    identity.verifiable_addresses = verifiable;

    let mut recovery = Vec::with_capacity(extracted.recovery_addresses.len());
    for (value, via) in &extracted.recovery_addresses {
        let existing = identity
            .recovery_addresses
            .iter()
            .find(|a| &a.value == value && a.via == via.as_str());
        recovery.push(match existing {
            Some(a) => a.clone(),
            None => RecoveryAddress {
                id: Uuid::new_v4(),
                value: value.clone(),
                via: via.as_str().into(),
                created_at: now,
                updated_at: now,
            },
        });
    }
    identity.recovery_addresses = recovery;
}

/// SQLSTATEs of deadlocks and serialization failures: the transaction is safe to run again.
fn is_retryable(err: &Error) -> bool {
    match err {
        Error::Database(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40001" | "40P01" | "1213"))
                || db.message().contains("Deadlock found")
        }
        _ => false,
    }
}

fn is_unique_violation(err: &Error) -> bool {
    match err {
        Error::Database(sqlx::Error::Database(db)) => db.is_unique_violation(),
        Error::Api(api) => api.code == 409,
        _ => false,
    }
}

impl IdentityManager<'_> {
    /// Uses `policy` to decide which credentials count towards the available AAL.
    pub fn with_policy(mut self, policy: AalPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Fills in `schema_url` from the public base URL.
    pub fn render(&self, identity: &mut Identity) {
        identity.schema_url = schema_url(&self.app.config().public_base_url(), &identity.schema_id);
    }

    /// Validates traits against the identity's schema (the default one when unset) and applies
    /// the extension's identifiers and addresses, then normalises addresses and recomputes the
    /// available AAL. Returns what the extension found (e.g. the TOTP account name).
    pub fn validate(&self, identity: &mut Identity) -> Result<Extracted> {
        let schemas = self.app.schemas.current();
        if identity.schema_id.is_empty() {
            identity.schema_id = schemas.default_id().to_string();
        }
        let schema = schemas.get(&identity.schema_id)?;
        if identity.traits.is_null() {
            identity.traits = json!({});
        }
        let extracted = schema.validate_traits(&identity.traits)?;
        apply_extracted(identity, &extracted);
        normalize_addresses(identity);
        identity.available_aal = Some(credentials::available_aal(identity, &self.policy).into());
        self.render(identity);
        Ok(extracted)
    }

    /// Validates and stores a new identity. The identity is updated in place with what was
    /// stored (identifiers, addresses, `schema_url`).
    pub async fn create(&self, identity: &mut Identity) -> Result<()> {
        self.validate(identity)?;
        self.insert(identity).await
    }

    async fn insert(&self, identity: &Identity) -> Result<()> {
        let mut attempt = 0;
        loop {
            let result = async {
                let mut tx = self.app.db.begin().await?;
                identities::insert(tx.conn(), identity).await?;
                tx.commit().await
            }
            .await;
            match result {
                Err(e) if is_retryable(&e) && attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(10 * attempt)).await;
                }
                Err(e) if is_unique_violation(&e) => {
                    return Err(self.duplicate_credentials(identity).await);
                }
                other => return other,
            }
        }
    }

    /// Validates and stores many identities, each on its own (Kratos's batch import): one
    /// outcome per input, in order. Invalid traits are 400s, taken identifiers 409s.
    pub async fn create_many(&self, identities: Vec<Identity>) -> Vec<CreateOutcome> {
        let mut out = Vec::with_capacity(identities.len());
        for mut identity in identities {
            let result = match self.validate(&mut identity) {
                Ok(_) => self.insert(&identity).await.map(|()| identity),
                Err(e) => Err(e),
            };
            out.push(result);
        }
        out
    }

    /// Validates `identity` and replaces the stored one with it. `updated_at` is set to now.
    pub async fn update(&self, identity: &mut Identity, options: UpdateOptions) -> Result<()> {
        self.validate(identity)?;
        let mut attempt = 0;
        loop {
            let result = async {
                let mut tx = self.app.db.begin().await?;
                let original = identities::get(tx.conn(), identity.id, Expand::EVERYTHING).await?;
                if !options.allow_write_protected {
                    let creds_changed = original.credentials.len() != identity.credentials.len()
                        || original.credentials.iter().any(|(k, c)| {
                            identity.credentials.get(k).is_none_or(|n| {
                                n.identifiers != c.identifiers || n.config != c.config
                            })
                        });
                    let addresses_changed =
                        original.verifiable_addresses != identity.verifiable_addresses;
                    if creds_changed || addresses_changed {
                        return Err(protected_field_modified());
                    }
                }
                identity.created_at = original.created_at;
                identity.updated_at = crate::persistence::now();
                identities::update(tx.conn(), identity).await?;
                tx.commit().await?;
                self.app.session_cache.invalidate_identity(identity.id);
                Ok(())
            }
            .await;
            match result {
                Err(e) if is_retryable(&e) && attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(10 * attempt)).await;
                }
                Err(e) if is_unique_violation(&e) => {
                    return Err(ApiError::unique_violation().into());
                }
                other => return other,
            }
        }
    }

    /// Loads an identity (with `schema_url` rendered), or 404.
    pub async fn get(&self, id: Uuid, expand: Expand) -> Result<Identity> {
        let mut c = self.app.db.conn().await?;
        let mut identity = identities::get(c.conn(), id, expand).await?;
        self.render(&mut identity);
        Ok(identity)
    }

    /// Deletes an identity and everything it owns, or 404.
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        let mut c = self.app.db.conn().await?;
        let deleted = identities::delete(c.conn(), id).await?;
        self.app.session_cache.invalidate_identity(id);
        if deleted {
            Ok(())
        } else {
            Err(ApiError::not_found()
                .with_message("Unable to locate the resource")
                .into())
        }
    }

    /// How many first-factor credentials the identity has (deleting the last one is refused).
    pub fn count_first_factor(&self, identity: &Identity) -> usize {
        credentials::count_first_factor(identity, &self.policy)
    }

    /// Builds the duplicate-credentials error for `identity`, with hints when enabled.
    async fn duplicate_credentials(&self, identity: &Identity) -> Error {
        let mut dup = DuplicateCredentials::default();
        if self.app.config().selfservice.flows.registration.login_hints {
            match self.conflicting_identity(identity).await {
                Ok(Some((found, hint, kind))) => fill_hints(&mut dup, &found, &hint, &kind),
                Ok(None) => {}
                Err(e) => return e,
            }
        }
        Error::DuplicateCredentials(Box::new(dup))
    }

    /// The stored identity an identifier or address of `identity` collides with: the identity,
    /// the colliding value and its credential type or address channel.
    pub async fn conflicting_identity(
        &self,
        identity: &Identity,
    ) -> Result<Option<(Identity, String, String)>> {
        let mut c = self.app.db.conn().await?;
        for (kind, cred) in &identity.credentials {
            for identifier in &cred.identifiers {
                if let Some(found) =
                    identities::find_by_identifier(c.conn(), *kind, identifier, Expand::EVERYTHING)
                        .await?
                    && found.id != identity.id
                {
                    return Ok(Some((found, identifier.clone(), kind.as_str().into())));
                }
            }
        }
        for a in &identity.verifiable_addresses {
            if let Some(owner) =
                identities::find_verifiable_address_owner(c.conn(), &a.via, &a.value).await?
                && owner != identity.id
            {
                let found = identities::get(c.conn(), owner, Expand::EVERYTHING).await?;
                return Ok(Some((found, a.value.clone(), a.via.clone())));
            }
        }
        for a in &identity.recovery_addresses {
            if let Some(owner) =
                identities::find_recovery_address_owner(c.conn(), &a.via, &a.value).await?
                && owner != identity.id
            {
                let found = identities::get(c.conn(), owner, Expand::EVERYTHING).await?;
                return Ok(Some((found, a.value.clone(), a.via.clone())));
            }
        }
        Ok(None)
    }
}

/// Kratos's login hints: the first-factor methods of the existing account.
fn fill_hints(dup: &mut DuplicateCredentials, found: &Identity, hint: &str, kind: &str) {
    if kind != "oidc" && !hint.trim().is_empty() {
        dup.identifier_hint = hint.trim().to_string();
    }
    for (kind, cred) in &found.credentials {
        let Some(config) = &cred.config else { continue };
        match kind {
            CredentialsType::Password => {
                if dup.identifier_hint.is_empty() && cred.identifiers.len() == 1 {
                    dup.identifier_hint = cred.identifiers[0].clone();
                }
                let hashed = serde_json::from_value::<PasswordConfig>(config.clone())
                    .map(|p| !p.hashed_password.is_empty())
                    .unwrap_or(false);
                if hashed {
                    dup.available_credential_types.push(kind.as_str().into());
                }
            }
            CredentialsType::Code => dup.available_credential_types.push(kind.as_str().into()),
            CredentialsType::Oidc => {
                let providers = serde_json::from_value::<OidcConfig>(config.clone())
                    .map(|o| o.providers.into_iter().map(|p| p.provider).collect())
                    .unwrap_or_default();
                dup.available_credential_types.push(kind.as_str().into());
                dup.available_oidc_providers = providers;
            }
            CredentialsType::Webauthn | CredentialsType::Passkey => {
                if dup.identifier_hint.is_empty() && cred.identifiers.len() == 1 {
                    dup.identifier_hint = cred.identifiers[0].clone();
                }
                let passwordless = config
                    .get("credentials")
                    .and_then(Value::as_array)
                    .is_some_and(|cs| {
                        cs.iter().any(|c| {
                            c.get("is_passwordless").and_then(Value::as_bool) == Some(true)
                        })
                    });
                if passwordless {
                    dup.available_credential_types.push(kind.as_str().into());
                }
            }
            _ => {}
        }
    }
    dup.available_credential_types.sort();
    dup.available_oidc_providers.sort();
}
