//! Rules of Kratos's configuration schema that span several keys (which hooks are allowed where,
//! exclusive options, provider-specific requirements), checked on the typed configuration after
//! structural validation. Also warnings about settings that are valid but surprising.

use url::Url;

use super::hooks::{Hook, WebHookConfig};
use super::model::{Config, HashAlgorithm};
use super::schema::Problem;
use super::selfservice::{OidcProvider, OidcProviderKind};

/// Hooks usable before any flow, and after flows without method-specific hooks.
const GENERIC: &[&str] = &["web_hook", "b2b_sso", "organization"];
const LOGIN_AFTER: &[&str] = &[
    "revoke_active_sessions",
    "require_verified_address",
    "web_hook",
    "verification",
    "show_verification_ui",
    "b2b_sso",
    "organization",
];
const LOGIN_AFTER_OIDC: &[&str] = &[
    "revoke_active_sessions",
    "web_hook",
    "require_verified_address",
    "b2b_sso",
    "organization",
];
const REGISTRATION_AFTER_METHOD: &[&str] = &[
    "session",
    "web_hook",
    "show_verification_ui",
    "b2b_sso",
    "organization",
];
const SETTINGS_AFTER_METHOD: &[&str] = &["web_hook", "revoke_active_sessions"];
const SETTINGS_AFTER_PROFILE: &[&str] = &[
    "web_hook",
    "show_verification_ui",
    "b2b_sso",
    "organization",
];
const RECOVERY_AFTER: &[&str] = &["web_hook", "revoke_active_sessions"];

struct HookList<'a> {
    path: String,
    hooks: &'a [Hook],
    allowed: &'static [&'static str],
}

fn hook_lists(config: &Config) -> Vec<HookList<'_>> {
    let flows = &config.selfservice.flows;
    let (login, registration, settings) = (
        &flows.login.after,
        &flows.registration.after,
        &flows.settings.after,
    );
    let lists: Vec<(&str, &[Hook], &'static [&'static str])> = vec![
        (
            "login.before.hooks",
            flows.login.before.hooks.as_slice(),
            GENERIC,
        ),
        (
            "registration.before.hooks",
            flows.registration.before.hooks.as_slice(),
            GENERIC,
        ),
        (
            "settings.before.hooks",
            flows.settings.before.hooks.as_slice(),
            GENERIC,
        ),
        (
            "recovery.before.hooks",
            flows.recovery.before.hooks.as_slice(),
            GENERIC,
        ),
        (
            "verification.before.hooks",
            flows.verification.before.hooks.as_slice(),
            GENERIC,
        ),
        ("login.after.hooks", login.hooks.as_slice(), LOGIN_AFTER),
        (
            "login.after.password.hooks",
            login.password.hooks.as_slice(),
            LOGIN_AFTER,
        ),
        (
            "login.after.webauthn.hooks",
            login.webauthn.hooks.as_slice(),
            LOGIN_AFTER,
        ),
        (
            "login.after.passkey.hooks",
            login.passkey.hooks.as_slice(),
            LOGIN_AFTER,
        ),
        (
            "login.after.code.hooks",
            login.code.hooks.as_slice(),
            LOGIN_AFTER,
        ),
        (
            "login.after.totp.hooks",
            login.totp.hooks.as_slice(),
            LOGIN_AFTER,
        ),
        (
            "login.after.lookup_secret.hooks",
            login.lookup_secret.hooks.as_slice(),
            LOGIN_AFTER,
        ),
        (
            "login.after.oidc.hooks",
            login.oidc.hooks.as_slice(),
            LOGIN_AFTER_OIDC,
        ),
        (
            "registration.after.hooks",
            registration.hooks.as_slice(),
            GENERIC,
        ),
        (
            "registration.after.password.hooks",
            registration.password.hooks.as_slice(),
            REGISTRATION_AFTER_METHOD,
        ),
        (
            "registration.after.webauthn.hooks",
            registration.webauthn.hooks.as_slice(),
            REGISTRATION_AFTER_METHOD,
        ),
        (
            "registration.after.passkey.hooks",
            registration.passkey.hooks.as_slice(),
            REGISTRATION_AFTER_METHOD,
        ),
        (
            "registration.after.oidc.hooks",
            registration.oidc.hooks.as_slice(),
            REGISTRATION_AFTER_METHOD,
        ),
        (
            "registration.after.code.hooks",
            registration.code.hooks.as_slice(),
            REGISTRATION_AFTER_METHOD,
        ),
        ("settings.after.hooks", settings.hooks.as_slice(), GENERIC),
        (
            "settings.after.password.hooks",
            settings.password.hooks.as_slice(),
            SETTINGS_AFTER_METHOD,
        ),
        (
            "settings.after.totp.hooks",
            settings.totp.hooks.as_slice(),
            SETTINGS_AFTER_METHOD,
        ),
        (
            "settings.after.oidc.hooks",
            settings.oidc.hooks.as_slice(),
            SETTINGS_AFTER_METHOD,
        ),
        (
            "settings.after.webauthn.hooks",
            settings.webauthn.hooks.as_slice(),
            SETTINGS_AFTER_METHOD,
        ),
        (
            "settings.after.passkey.hooks",
            settings.passkey.hooks.as_slice(),
            SETTINGS_AFTER_METHOD,
        ),
        (
            "settings.after.lookup_secret.hooks",
            settings.lookup_secret.hooks.as_slice(),
            SETTINGS_AFTER_METHOD,
        ),
        (
            "settings.after.profile.hooks",
            settings.profile.hooks.as_slice(),
            SETTINGS_AFTER_PROFILE,
        ),
        (
            "verification.after.hooks",
            flows.verification.after.hooks.as_slice(),
            GENERIC,
        ),
        (
            "recovery.after.hooks",
            flows.recovery.after.hooks.as_slice(),
            RECOVERY_AFTER,
        ),
    ];
    lists
        .into_iter()
        .map(|(path, hooks, allowed)| HookList {
            path: format!("selfservice.flows.{path}"),
            hooks,
            allowed,
        })
        .collect()
}

/// Every configured hook with its key path.
pub(crate) fn all_hooks(config: &Config) -> Vec<(String, &Hook)> {
    hook_lists(config)
        .into_iter()
        .flat_map(|list| {
            let path = list.path;
            list.hooks
                .iter()
                .enumerate()
                .map(move |(i, hook)| (format!("{path}[{i}]"), hook))
        })
        .collect()
}

/// Cross-key rules: errors refuse the configuration, warnings are logged.
pub(crate) fn check(config: &Config) -> (Vec<Problem>, Vec<String>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    for list in hook_lists(config) {
        for (i, hook) in list.hooks.iter().enumerate() {
            let path = format!("{}[{i}]", list.path);
            if !list.allowed.contains(&hook.kind()) {
                errors.push(Problem::new(
                    format!("{path}.hook"),
                    format!(
                        "hook {:?} is not allowed here (allowed: {})",
                        hook.kind(),
                        list.allowed.join(", ")
                    ),
                ));
            }
            if let Hook::WebHook { config } = hook {
                check_web_hook(config, &format!("{path}.config"), &mut errors);
            }
        }
    }

    let methods = &config.selfservice.methods;
    if methods.code.passwordless_enabled && methods.code.mfa_enabled {
        errors.push(Problem::new(
            "selfservice.methods.code",
            "passwordless_enabled and mfa_enabled cannot both be true",
        ));
    }
    if methods.webauthn.enabled && methods.webauthn.config.is_none() {
        errors.push(Problem::new(
            "selfservice.methods.webauthn.config",
            "required when webauthn is enabled",
        ));
    }
    if let Some(rp) = methods.webauthn.config.as_ref().and_then(|c| c.rp.as_ref())
        && rp.origin.is_some()
        && rp.origins.is_some()
    {
        errors.push(Problem::new(
            "selfservice.methods.webauthn.config.rp",
            "set either origin or origins, not both",
        ));
    }
    if methods.passkey.enabled && methods.passkey.config.is_none() {
        errors.push(Problem::new(
            "selfservice.methods.passkey.config",
            "required when passkey is enabled",
        ));
    }
    for (i, provider) in methods.oidc.config.providers.iter().enumerate() {
        check_oidc_provider(
            provider,
            &format!("selfservice.methods.oidc.config.providers[{i}]"),
            &mut errors,
        );
    }

    for (i, origin) in config.serve.public.cors.allowed_origins.iter().enumerate() {
        let path = format!("serve.public.cors.allowed_origins[{i}]");
        if let Err(reason) = check_cors_origin(origin) {
            errors.push(Problem::new(path, reason));
        }
    }

    let cipher_algorithm = config
        .ciphers
        .as_ref()
        .and_then(|ciphers| ciphers.0.get("algorithm"))
        .and_then(|algorithm| algorithm.as_str());
    if matches!(cipher_algorithm, Some("aes" | "xchacha20-poly1305"))
        && config.secrets.cipher.is_empty()
    {
        errors.push(Problem::new(
            "secrets.cipher",
            "required when ciphers.algorithm is aes or xchacha20-poly1305",
        ));
    }
    for (i, secret) in config.secrets.cipher.iter().enumerate() {
        if secret.len() != 32 {
            warnings.push(format!(
                "secrets.cipher[{i}]: is {} bytes long; only secrets of exactly 32 bytes are used as keys",
                secret.len()
            ));
        }
    }

    let identity = &config.identity;
    let watches_cluster = config.kubernetes_identity_schemas().is_some();
    if !watches_cluster
        && !identity
            .schemas
            .iter()
            .any(|schema| schema.id == identity.default_schema_id)
    {
        warnings.push(format!(
            "identity.default_schema_id: no schema with id {:?} in identity.schemas; flows without an explicit schema will fail",
            identity.default_schema_id
        ));
    }
    for (i, schema) in identity.schemas.iter().enumerate() {
        if identity.schemas[..i]
            .iter()
            .any(|earlier| earlier.id == schema.id)
        {
            warnings.push(format!(
                "identity.schemas[{i}].id: duplicate id {:?}; the first entry wins",
                schema.id
            ));
        }
    }

    if config.selfservice.flows.registration.enable_legacy_one_step {
        warnings.push(
            "selfservice.flows.registration.enable_legacy_one_step: deprecated, use selfservice.flows.registration.style: unified"
                .to_string(),
        );
    }
    if config.hashers.algorithm == HashAlgorithm::Bcrypt
        && config.hashers.bcrypt.cost != config.bcrypt_cost()
    {
        warnings.push(format!(
            "hashers.bcrypt.cost: {} is below the minimum of 12 outside dev mode; using 12",
            config.hashers.bcrypt.cost
        ));
    }
    (errors, warnings)
}

fn check_web_hook(hook: &WebHookConfig, path: &str, errors: &mut Vec<Problem>) {
    if hook.response.ignore && hook.response.parse {
        errors.push(Problem::new(
            format!("{path}.response"),
            "ignore and parse cannot both be true",
        ));
    }
    if hook.response.ignore && hook.can_interrupt {
        errors.push(Problem::new(
            format!("{path}.can_interrupt"),
            "cannot be true when response.ignore is true (an ignored response cannot interrupt)",
        ));
    }
}

fn check_oidc_provider(provider: &OidcProvider, path: &str, errors: &mut Vec<Problem>) {
    let filled = |value: Option<&str>| value.is_some_and(|v| !v.is_empty());
    let client_secret = filled(provider.client_secret.as_deref().map(String::as_str));
    let apple_keys = [
        ("apple_team_id", filled(provider.apple_team_id.as_deref())),
        (
            "apple_private_key_id",
            filled(provider.apple_private_key_id.as_deref()),
        ),
        (
            "apple_private_key",
            filled(provider.apple_private_key.as_deref().map(String::as_str)),
        ),
    ];
    if provider.provider == OidcProviderKind::Microsoft {
        if provider.microsoft_tenant.is_none() {
            errors.push(Problem::new(
                format!("{path}.microsoft_tenant"),
                "required for the microsoft provider",
            ));
        }
    } else if provider.microsoft_tenant.is_some() {
        errors.push(Problem::new(
            format!("{path}.microsoft_tenant"),
            "only allowed for the microsoft provider",
        ));
    }
    if provider.provider == OidcProviderKind::Apple {
        for (key, set) in apple_keys {
            if !set {
                errors.push(Problem::new(
                    format!("{path}.{key}"),
                    "required for the apple provider",
                ));
            }
        }
        if client_secret {
            errors.push(Problem::new(
                format!("{path}.client_secret"),
                "not allowed for the apple provider (it is derived from the private key)",
            ));
        }
    } else {
        if !client_secret {
            errors.push(Problem::new(
                format!("{path}.client_secret"),
                "missing required key",
            ));
        }
        for (key, set) in apple_keys {
            if set {
                errors.push(Problem::new(
                    format!("{path}.{key}"),
                    "only allowed for the apple provider",
                ));
            }
        }
    }
}

fn check_cors_origin(origin: &str) -> Result<(), String> {
    if origin.is_empty() {
        return Err("must not be empty".to_string());
    }
    if origin.matches('*').count() > 1 {
        return Err("may contain at most one * wildcard".to_string());
    }
    if origin == "*" {
        return Ok(());
    }
    // The wildcard stands for part of a host name; check the rest is a URL.
    Url::parse(&origin.replace('*', "wildcard"))
        .map(drop)
        .map_err(|err| format!("invalid origin {origin:?} ({err})"))
}
