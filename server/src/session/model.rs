//! Sessions, serialised as Kratos does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::{CredentialsType, Identity};

/// Authenticator assurance level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Aal {
    #[default]
    Aal0,
    Aal1,
    Aal2,
    Aal3,
}

impl Aal {
    pub fn as_str(self) -> &'static str {
        match self {
            Aal::Aal0 => "aal0",
            Aal::Aal1 => "aal1",
            Aal::Aal2 => "aal2",
            Aal::Aal3 => "aal3",
        }
    }

    pub fn parse(s: &str) -> Option<Aal> {
        match s {
            "aal0" => Some(Aal::Aal0),
            "aal1" => Some(Aal::Aal1),
            "aal2" => Some(Aal::Aal2),
            "aal3" => Some(Aal::Aal3),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthenticationMethod {
    pub method: CredentialsType,
    pub aal: Aal,
    pub completed_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub provider: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organization: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: Uuid,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub id: Uuid,
    /// Rendered as "active and not expired and identity active", like Kratos.
    pub active: bool,
    pub expires_at: DateTime<Utc>,
    pub authenticated_at: DateTime<Utc>,
    pub authenticator_assurance_level: Aal,
    pub authentication_methods: Vec<AuthenticationMethod>,
    pub issued_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    pub devices: Vec<Device>,
    #[serde(skip)]
    pub identity_id: Uuid,
}

impl Session {
    /// Active, unexpired, and its identity (when loaded) is active.
    pub fn is_active(&self) -> bool {
        self.active
            && self.expires_at > Utc::now()
            && self.identity.as_ref().is_none_or(Identity::is_active)
    }

    pub fn authenticated_via(&self, method: CredentialsType) -> bool {
        self.authentication_methods
            .iter()
            .any(|m| m.method == method)
    }

    /// Records a completed authentication and recomputes the assurance level.
    pub fn completed_login_for(&mut self, method: CredentialsType, aal: Aal) {
        self.authentication_methods.push(AuthenticationMethod {
            method,
            aal,
            completed_at: crate::persistence::now(),
            provider: String::new(),
            organization: String::new(),
        });
        self.authenticator_assurance_level = assurance_level(&self.authentication_methods);
    }

    /// The JSON sent to clients: `active` is the effective state, the identity has no secrets.
    pub fn for_client(mut self) -> Self {
        self.active = self.is_active();
        self.identity = self.identity.map(Identity::public_view);
        self
    }
}

/// Kratos's rule: first and second factor → aal2; only first factors → aal1.
pub fn assurance_level(methods: &[AuthenticationMethod]) -> Aal {
    let aal1 = methods.iter().any(|m| m.aal == Aal::Aal1);
    let aal2 = methods.iter().any(|m| m.aal == Aal::Aal2);
    match (aal1, aal2, methods.is_empty()) {
        (true, true, _) => Aal::Aal2,
        (true, false, _) => Aal::Aal1,
        (_, _, false) => Aal::Aal1,
        _ => Aal::Aal0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(m: CredentialsType, aal: Aal) -> AuthenticationMethod {
        AuthenticationMethod {
            method: m,
            aal,
            completed_at: Utc::now(),
            provider: String::new(),
            organization: String::new(),
        }
    }

    #[test]
    fn assurance_levels() {
        assert_eq!(assurance_level(&[]), Aal::Aal0);
        assert_eq!(
            assurance_level(&[method(CredentialsType::Password, Aal::Aal1)]),
            Aal::Aal1
        );
        assert_eq!(
            assurance_level(&[
                method(CredentialsType::Password, Aal::Aal1),
                method(CredentialsType::Totp, Aal::Aal2)
            ]),
            Aal::Aal2
        );
        // A second factor alone does not make aal2.
        assert_eq!(
            assurance_level(&[method(CredentialsType::Totp, Aal::Aal2)]),
            Aal::Aal1
        );
    }
}
