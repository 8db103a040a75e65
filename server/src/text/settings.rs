//! Settings flow messages (1050xxx, 4050xxx).

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::format::{go_json_time, go_time_string};
use super::ids::*;
use super::{Message, flow_expired};

/// `NewInfoSelfServiceSettingsUpdateSuccess`.
pub fn info_self_service_settings_update_success() -> Message {
    Message::success(
        INFO_SELF_SERVICE_SETTINGS_UPDATE_SUCCESS,
        "Your changes have been saved!",
    )
}

/// `NewInfoSelfServiceSettingsUpdateLinkOIDC`.
pub fn info_self_service_settings_update_link_oidc(provider: &str) -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_UPDATE_LINK_OIDC,
        format!("Link {provider}"),
    )
    .with_context([("provider", Value::from(provider))])
}

/// `NewInfoSelfServiceSettingsUpdateUnlinkOIDC`.
pub fn info_self_service_settings_update_unlink_oidc(provider: &str) -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_UPDATE_UNLINK_OIDC,
        format!("Unlink {provider}"),
    )
    .with_context([("provider", Value::from(provider))])
}

/// `NewInfoSelfServiceSettingsUpdateUnlinkTOTP`.
pub fn info_self_service_settings_update_unlink_totp() -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_UPDATE_UNLINK_TOTP,
        "Unlink TOTP Authenticator App",
    )
}

/// `NewInfoSelfServiceSettingsTOTPQRCode`.
pub fn info_self_service_settings_totp_qr_code() -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_TOTP_QR_CODE,
        "Authenticator app QR code",
    )
}

/// `NewInfoSelfServiceSettingsTOTPSecret`: the TOTP secret itself, for manual entry.
pub fn info_self_service_settings_totp_secret(secret: &str) -> Message {
    Message::info(INFO_SELF_SERVICE_SETTINGS_TOTP_SECRET, secret)
        .with_context([("secret", Value::from(secret))])
}

/// `NewInfoSelfServiceSettingsRevealLookup`.
pub fn info_self_service_settings_reveal_lookup() -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_REVEAL_LOOKUP,
        "Reveal backup recovery codes",
    )
}

/// `NewInfoSelfServiceSettingsRegenerateLookup`.
pub fn info_self_service_settings_regenerate_lookup() -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_REGENERATE_LOOKUP,
        "Generate new backup recovery codes",
    )
}

/// `NewInfoSelfServiceSettingsLookupSecret`: one unused backup recovery code.
pub fn info_self_service_settings_lookup_secret(secret: &str) -> Message {
    Message::info(INFO_SELF_SERVICE_SETTINGS_LOOKUP_SECRET, secret)
        .with_context([("secret", Value::from(secret))])
}

/// `NewInfoSelfServiceSettingsLookupSecretsLabel`.
pub fn info_self_service_settings_lookup_secrets_label() -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_LOOKUP_SECRET_LABEL,
        "These are your back up recovery codes. Please keep them in a safe place!",
    )
}

/// `NewInfoSelfServiceSettingsLookupConfirm`.
pub fn info_self_service_settings_lookup_confirm() -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_LOOKUP_CONFIRM,
        "Confirm backup recovery codes",
    )
}

/// `NewInfoSelfServiceSettingsRegisterWebAuthn`.
pub fn info_self_service_settings_register_web_authn() -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_REGISTER_WEB_AUTHN,
        "Add security key",
    )
}

/// `NewInfoSelfServiceRegisterWebAuthnDisplayName`.
pub fn info_self_service_register_web_authn_display_name() -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_REGISTER_WEB_AUTHN_DISPLAY_NAME,
        "Name of the security key",
    )
}

/// `NewInfoSelfServiceSettingsLookupSecretUsed`: a backup recovery code already used at
/// `used_at`.
pub fn info_self_service_settings_lookup_secret_used(used_at: DateTime<Utc>) -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_LOOKUP_SECRET_USED,
        format!("Secret was used at {}", go_time_string(&used_at)),
    )
    .with_context([
        ("used_at", go_json_time(&used_at)),
        ("used_at_unix", Value::from(used_at.timestamp())),
    ])
}

/// `NewInfoSelfServiceSettingsLookupSecretList`: the text of the lookup-codes node. `secrets`
/// are the codes as displayed (Kratos shows "used" for a used one), `codes` one message per code
/// ([`info_self_service_settings_lookup_secret`] or
/// [`info_self_service_settings_lookup_secret_used`]), carried in the context.
pub fn info_self_service_settings_lookup_secret_list<S: AsRef<str>>(
    secrets: &[S],
    codes: &[Message],
) -> Message {
    let text = secrets
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    // Messages always serialise; the fallback only keeps this infallible.
    let codes = serde_json::to_value(codes).unwrap_or(Value::Array(Vec::new()));
    Message::info(INFO_SELF_SERVICE_SETTINGS_LOOKUP_SECRET_LIST, text)
        .with_context([("secrets", codes)])
}

/// `NewInfoSelfServiceSettingsDisableLookup`.
pub fn info_self_service_settings_disable_lookup() -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_DISABLE_LOOKUP,
        "Disable this method",
    )
}

/// `NewInfoSelfServiceSettingsTOTPSecretLabel`.
pub fn info_self_service_settings_totp_secret_label() -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_TOTP_SECRET_LABEL,
        "This is your authenticator app secret. Use it if you can not scan the QR code.",
    )
}

/// `NewInfoSelfServiceRemoveWebAuthn`: the remove button of one security key. Kratos passes
/// "unnamed" for a key without a display name.
pub fn info_self_service_remove_web_authn(name: &str, created_at: DateTime<Utc>) -> Message {
    remove_key(
        INFO_SELF_SERVICE_SETTINGS_REMOVE_WEB_AUTHN,
        format!("Remove security key \"{name}\""),
        name,
        created_at,
    )
}

/// `NewInfoSelfServiceSettingsRegisterPasskey`.
pub fn info_self_service_settings_register_passkey() -> Message {
    Message::info(INFO_SELF_SERVICE_SETTINGS_REGISTER_PASSKEY, "Add passkey")
}

/// `NewInfoSelfServiceRemovePasskey`: the remove button of one passkey.
pub fn info_self_service_remove_passkey(name: &str, created_at: DateTime<Utc>) -> Message {
    remove_key(
        INFO_SELF_SERVICE_SETTINGS_REMOVE_PASSKEY,
        format!("Remove passkey \"{name}\""),
        name,
        created_at,
    )
}

fn remove_key(id: u32, text: String, name: &str, created_at: DateTime<Utc>) -> Message {
    Message::info(id, text).with_context([
        ("display_name", Value::from(name)),
        ("added_at", go_json_time(&created_at)),
        ("added_at_unix", Value::from(created_at.timestamp())),
    ])
}

/// `NewInfoSelfServiceSettingsManagedByOrganization`.
pub fn info_self_service_settings_managed_by_organization() -> Message {
    Message::info(
        INFO_SELF_SERVICE_SETTINGS_MANAGED_BY_ORGANIZATION,
        "Your account is managed by your organization. To change these settings, contact your organization administrator.",
    )
}

/// `NewErrorValidationSettingsFlowExpired`. `elapsed` is how long ago the flow expired.
pub fn error_validation_settings_flow_expired(
    expired_at: DateTime<Utc>,
    elapsed: TimeDelta,
) -> Message {
    flow_expired(
        ERROR_VALIDATION_SETTINGS_FLOW_EXPIRED,
        "settings",
        expired_at,
        elapsed,
    )
}

/// `NewErrorValidationSettingsTooManyAddressChanges`.
pub fn error_validation_settings_too_many_address_changes() -> Message {
    Message::error(
        ERROR_VALIDATION_SETTINGS_TOO_MANY_ADDRESS_CHANGES,
        "You can only change one address at a time. Please update each address separately.",
    )
}
