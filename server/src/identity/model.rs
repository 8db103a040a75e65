//! The identity aggregate, serialised exactly as Kratos does.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialsType {
    Password,
    Oidc,
    Totp,
    LookupSecret,
    Webauthn,
    Code,
    Passkey,
    Profile,
    Saml,
    LinkRecovery,
    CodeRecovery,
}

impl CredentialsType {
    pub const ALL: [CredentialsType; 11] = [
        Self::Password,
        Self::Oidc,
        Self::Totp,
        Self::LookupSecret,
        Self::Webauthn,
        Self::Code,
        Self::Passkey,
        Self::Profile,
        Self::Saml,
        Self::LinkRecovery,
        Self::CodeRecovery,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Oidc => "oidc",
            Self::Totp => "totp",
            Self::LookupSecret => "lookup_secret",
            Self::Webauthn => "webauthn",
            Self::Code => "code",
            Self::Passkey => "passkey",
            Self::Profile => "profile",
            Self::Saml => "saml",
            Self::LinkRecovery => "link_recovery",
            Self::CodeRecovery => "code_recovery",
        }
    }
}

impl fmt::Display for CredentialsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CredentialsType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IdentityState {
    #[default]
    Active,
    Inactive,
}

impl IdentityState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }
}

impl FromStr for IdentityState {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            _ => Err(()),
        }
    }
}

/// One credential of an identity (e.g. its password hash), with the identifiers it can be found by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(skip)]
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: CredentialsType,
    pub identifiers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum VerifiableAddressStatus {
    #[default]
    Pending,
    Sent,
    Completed,
}

impl VerifiableAddressStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Completed => "completed",
        }
    }
}

impl FromStr for VerifiableAddressStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "pending" => Ok(Self::Pending),
            "sent" => Ok(Self::Sent),
            "completed" => Ok(Self::Completed),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifiableAddress {
    pub id: Uuid,
    pub value: String,
    pub verified: bool,
    pub via: String,
    pub status: VerifiableAddressStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryAddress {
    pub id: Uuid,
    pub value: String,
    pub via: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    pub id: Uuid,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub credentials: BTreeMap<CredentialsType, Credentials>,
    pub schema_id: String,
    /// Filled in when rendering, from the public base URL.
    pub schema_url: String,
    pub state: IdentityState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_changed_at: Option<DateTime<Utc>>,
    pub traits: Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verifiable_addresses: Vec<VerifiableAddress>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recovery_addresses: Vec<RecoveryAddress>,
    /// Shown to the identity itself (whoami); `null` when unset.
    pub metadata_public: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_admin: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Always rendered (`null` when unset), as Kratos does.
    pub organization_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The highest assurance level this identity's credentials allow (`aal1`/`aal2`), cached.
    #[serde(skip)]
    pub available_aal: Option<String>,
}

impl Identity {
    pub fn new(schema_id: impl Into<String>, traits: Value) -> Self {
        let now = crate::persistence::now();
        Identity {
            id: Uuid::new_v4(),
            credentials: BTreeMap::new(),
            schema_id: schema_id.into(),
            schema_url: String::new(),
            state: IdentityState::Active,
            state_changed_at: Some(now),
            traits,
            verifiable_addresses: vec![],
            recovery_addresses: vec![],
            metadata_public: None,
            metadata_admin: None,
            created_at: now,
            updated_at: now,
            organization_id: None,
            external_id: None,
            available_aal: None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.state == IdentityState::Active
    }

    /// The view applications see (whoami, self-service flows): no credentials, no admin metadata.
    pub fn public_view(mut self) -> Self {
        self.credentials.clear();
        self.metadata_admin = None;
        self
    }

    /// The admin view: credentials without their secret configuration, unless declassified.
    pub fn admin_view(mut self, declassify: &[CredentialsType]) -> Self {
        for (kind, cred) in self.credentials.iter_mut() {
            if !declassify.contains(kind) {
                cred.config = None;
            }
        }
        self
    }

    pub fn credentials_of(&self, kind: CredentialsType) -> Option<&Credentials> {
        self.credentials.get(&kind)
    }

    /// Sets or replaces a credential, keeping its id and creation time when it already exists.
    pub fn set_credentials(
        &mut self,
        kind: CredentialsType,
        identifiers: Vec<String>,
        config: Value,
    ) {
        let now = crate::persistence::now();
        match self.credentials.get_mut(&kind) {
            Some(existing) => {
                existing.identifiers = identifiers;
                existing.config = Some(config);
                existing.updated_at = now;
            }
            None => {
                self.credentials.insert(
                    kind,
                    Credentials {
                        id: Uuid::new_v4(),
                        kind,
                        identifiers,
                        config: Some(config),
                        version: 0,
                        created_at: now,
                        updated_at: now,
                    },
                );
            }
        }
    }
}

/// The URL path of a schema: Kratos addresses schemas by the base64url of their id.
pub fn schema_path(schema_id: &str) -> String {
    use base64::Engine;
    format!(
        "schemas/{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(schema_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_type_round_trips() {
        for t in CredentialsType::ALL {
            assert_eq!(t.as_str().parse::<CredentialsType>(), Ok(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
    }

    #[test]
    fn public_view_strips_secrets() {
        let mut i = Identity::new("default", serde_json::json!({"email": "a@b.c"}));
        i.metadata_admin = Some(serde_json::json!({"x": 1}));
        i.set_credentials(
            CredentialsType::Password,
            vec!["a@b.c".into()],
            serde_json::json!({"hashed_password": "h"}),
        );
        let v = serde_json::to_value(i.clone().public_view()).unwrap();
        assert!(v.get("credentials").is_none());
        assert!(v.get("metadata_admin").is_none());
        assert!(v.get("metadata_public").unwrap().is_null());
        let v = serde_json::to_value(i.admin_view(&[])).unwrap();
        assert_eq!(v["credentials"]["password"]["identifiers"][0], "a@b.c");
        assert!(v["credentials"]["password"].get("config").is_none());
    }

    #[test]
    fn schema_paths_are_base64url() {
        assert_eq!(schema_path("default"), "schemas/ZGVmYXVsdA");
    }
}
