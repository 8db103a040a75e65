//! Typed views of credential configurations, in Kratos's JSON shapes, and the assurance level an
//! identity's credentials allow.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{CredentialsType, Identity};

/// `credentials.password.config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PasswordConfig {
    #[serde(default)]
    pub hashed_password: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub use_password_migration_hook: bool,
}

/// One linked provider of `credentials.oidc.config` (and `saml`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OidcProvider {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub initial_id_token: String,
    #[serde(default)]
    pub initial_access_token: String,
    #[serde(default)]
    pub initial_refresh_token: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organization: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub use_auto_link: bool,
}

/// `credentials.oidc.config` / `credentials.saml.config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OidcConfig {
    #[serde(default)]
    pub providers: Vec<OidcProvider>,
}

/// The identifier of an OIDC/SAML link: `provider:subject`.
pub fn oidc_identifier(provider: &str, subject: &str) -> String {
    format!("{provider}:{subject}")
}

/// One address of `credentials.code.config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeAddressConfig {
    pub channel: String,
    pub address: String,
}

/// `credentials.code.config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeConfig {
    #[serde(default)]
    pub addresses: Vec<CodeAddressConfig>,
}

/// Settings that decide which credentials count towards an assurance level (they mirror
/// `selfservice.methods.*` and the password migration hook).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AalPolicy {
    /// `selfservice.methods.code.passwordless_enabled`
    pub code_passwordless: bool,
    /// `selfservice.methods.code.mfa_enabled`
    pub code_mfa: bool,
    /// `selfservice.methods.password.config.migrate_hook.enabled`
    pub password_migration_hook: bool,
}

fn config_of(identity: &Identity, kind: CredentialsType) -> Option<(&Value, &[String])> {
    let c = identity.credentials.get(&kind)?;
    Some((c.config.as_ref()?, c.identifiers.as_slice()))
}

fn has_identifier(identifiers: &[String]) -> bool {
    identifiers.iter().any(|i| !i.is_empty())
}

fn webauthn_credentials(config: &Value) -> impl Iterator<Item = &Value> {
    config
        .get("credentials")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// How many credentials can sign the identity in as a first factor (Kratos's per-strategy count).
pub fn count_first_factor(identity: &Identity, policy: &AalPolicy) -> usize {
    let mut n = 0;
    if let Some((cfg, ids)) = config_of(identity, CredentialsType::Password)
        && let Ok(p) = serde_json::from_value::<PasswordConfig>(cfg.clone())
        && has_identifier(ids)
        && (!p.hashed_password.is_empty()
            || (policy.password_migration_hook && p.use_password_migration_hook))
    {
        n += 1;
    }
    for kind in [CredentialsType::Oidc, CredentialsType::Saml] {
        if let Some((cfg, ids)) = config_of(identity, kind)
            && let Ok(o) = serde_json::from_value::<OidcConfig>(cfg.clone())
        {
            for id in ids {
                let Some((provider, subject)) = id.split_once(':') else {
                    continue;
                };
                n += o
                    .providers
                    .iter()
                    .filter(|p| {
                        p.organization.is_empty()
                            && p.provider == provider
                            && p.subject == subject
                            && !p.subject.is_empty()
                            && !p.provider.is_empty()
                    })
                    .count();
            }
        }
    }
    if let Some((cfg, ids)) = config_of(identity, CredentialsType::Webauthn) {
        n += webauthn_credentials(cfg)
            .filter(|c| c.get("is_passwordless").and_then(Value::as_bool) == Some(true))
            .filter(|_| has_identifier(ids))
            .count();
    }
    if let Some((cfg, ids)) = config_of(identity, CredentialsType::Passkey)
        && has_identifier(ids)
    {
        n += webauthn_credentials(cfg).count();
    }
    if policy.code_passwordless {
        n += 1;
    }
    n
}

/// How many second factors the identity has set up.
pub fn count_multi_factor(identity: &Identity, policy: &AalPolicy) -> usize {
    let mut n = 0;
    if let Some((cfg, _)) = config_of(identity, CredentialsType::Totp)
        && cfg
            .get("totp_url")
            .and_then(Value::as_str)
            .is_some_and(|u| u.starts_with("otpauth://"))
    {
        n += 1;
    }
    if let Some((cfg, _)) = config_of(identity, CredentialsType::LookupSecret)
        && cfg
            .get("recovery_codes")
            .and_then(Value::as_array)
            .is_some_and(|c| !c.is_empty())
    {
        n += 1;
    }
    if let Some((cfg, _)) = config_of(identity, CredentialsType::Webauthn) {
        n += webauthn_credentials(cfg)
            .filter(|c| c.get("is_passwordless").and_then(Value::as_bool) != Some(true))
            .count();
    }
    if policy.code_mfa
        && let Some((cfg, _)) = config_of(identity, CredentialsType::Code)
        && let Ok(c) = serde_json::from_value::<CodeConfig>(cfg.clone())
        && !c.addresses.is_empty()
    {
        n += 1;
    }
    n
}

/// `aal2` with any second factor, `aal1` with a first factor only, else `aal0`.
pub fn available_aal(identity: &Identity, policy: &AalPolicy) -> &'static str {
    if count_multi_factor(identity, policy) > 0 {
        "aal2"
    } else if count_first_factor(identity, policy) > 0 {
        "aal1"
    } else {
        "aal0"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn assurance_levels() {
        let policy = AalPolicy::default();
        let mut i = Identity::new("default", json!({}));
        assert_eq!(available_aal(&i, &policy), "aal0");
        i.set_credentials(CredentialsType::Password, vec!["a@b.c".into()], json!({}));
        assert_eq!(
            available_aal(&i, &policy),
            "aal0",
            "no hash, no first factor"
        );
        i.set_credentials(
            CredentialsType::Password,
            vec!["a@b.c".into()],
            json!({"hashed_password": "$2a$..."}),
        );
        assert_eq!(available_aal(&i, &policy), "aal1");
        i.set_credentials(
            CredentialsType::Totp,
            vec![],
            json!({"totp_url": "otpauth://totp/x?secret=ABC"}),
        );
        assert_eq!(available_aal(&i, &policy), "aal2");
        i.set_credentials(
            CredentialsType::Oidc,
            vec!["google:1".into(), "github:2".into()],
            json!({"providers": [{"provider": "google", "subject": "1"}, {"provider": "github", "subject": "2"}]}),
        );
        assert_eq!(count_first_factor(&i, &policy), 3);
    }
}
