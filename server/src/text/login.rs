//! Login flow messages (1010xxx, 4010xxx).

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::format::go_quote;
use super::ids::*;
use super::{Message, flow_expired, string_array};

/// `NewInfoLogin`: the login form's title.
pub fn info_login() -> Message {
    Message::info(INFO_SELF_SERVICE_LOGIN, "Sign in")
}

/// `NewInfoLoginWith`: the button of a social sign-in provider.
pub fn info_login_with(provider: &str, provider_id: &str) -> Message {
    Message::info(
        INFO_SELF_SERVICE_LOGIN_WITH,
        format!("Sign in with {provider}"),
    )
    .with_context([
        ("provider", Value::from(provider)),
        ("provider_id", Value::from(provider_id)),
    ])
}

/// `NewInfoLoginReAuth`: shown on a refresh (re-authentication) login flow.
pub fn info_login_re_auth() -> Message {
    Message::info(
        INFO_SELF_SERVICE_LOGIN_RE_AUTH,
        "Please confirm this action by verifying that it is you.",
    )
}

/// `NewInfoLoginMFA`: shown on a second-factor (AAL2) login flow.
pub fn info_login_mfa() -> Message {
    Message::info(
        INFO_SELF_SERVICE_LOGIN_MFA,
        "Please complete the second authentication challenge.",
    )
}

/// `NewInfoLoginVerify`.
pub fn info_login_verify() -> Message {
    Message::info(INFO_SELF_SERVICE_LOGIN_VERIFY, "Verify")
}

/// `NewInfoLoginTOTPLabel`.
pub fn info_login_totp_label() -> Message {
    Message::info(INFO_SELF_SERVICE_LOGIN_TOTP_LABEL, "Authentication code")
}

/// `NewInfoLoginLookupLabel`.
pub fn info_login_lookup_label() -> Message {
    Message::info(INFO_LOGIN_LOOKUP_LABEL, "Backup recovery code")
}

/// `NewInfoSelfServiceLoginWebAuthn`.
pub fn info_self_service_login_web_authn() -> Message {
    Message::info(
        INFO_SELF_SERVICE_LOGIN_WEB_AUTHN,
        "Sign in with a hardware key",
    )
}

/// `NewInfoLoginTOTP`.
pub fn info_login_totp() -> Message {
    Message::info(INFO_LOGIN_TOTP, "Use Authenticator")
}

/// `NewInfoLoginLookup`.
pub fn info_login_lookup() -> Message {
    Message::info(INFO_LOGIN_LOOKUP, "Use backup recovery code")
}

/// `NewInfoSelfServiceContinueLoginWebAuthn`.
pub fn info_self_service_continue_login_web_authn() -> Message {
    Message::info(
        INFO_SELF_SERVICE_LOGIN_CONTINUE_WEB_AUTHN,
        "Sign in with a hardware key",
    )
}

/// `NewInfoLoginWebAuthnPasswordless`.
pub fn info_login_web_authn_passwordless() -> Message {
    Message::info(
        INFO_SELF_SERVICE_LOGIN_WEB_AUTHN_PASSWORDLESS,
        "Prepare your WebAuthn device (e.g. security key, biometrics scanner, ...) and press continue.",
    )
}

/// `NewInfoSelfServiceLoginContinue`.
pub fn info_self_service_login_continue() -> Message {
    Message::info(INFO_SELF_SERVICE_LOGIN_CONTINUE, "Continue")
}

/// `NewLoginCodeSent`: after a login code was sent to an address the user typed.
pub fn login_code_sent() -> Message {
    Message::info(
        INFO_SELF_SERVICE_LOGIN_CODE_SENT,
        "A code was sent to the address you provided. If you didn't receive it, please check the spelling of the address and try again.",
    )
}

/// `NewInfoSelfServiceLoginCode`.
pub fn info_self_service_login_code() -> Message {
    Message::info(INFO_SELF_SERVICE_LOGIN_CODE, "Send sign in code")
}

/// `NewInfoLoginLinkMessage`: a social sign-in hit an existing account; the user signs in to it
/// with one of the listed methods to link the provider.
pub fn info_login_link_message<C: AsRef<str>, P: AsRef<str>>(
    duplicate_identifier: &str,
    provider: &str,
    new_login_url: &str,
    available_credentials: &[C],
    available_providers: &[P],
) -> Message {
    let identifier = go_quote(duplicate_identifier);
    let text = format!(
        "You tried to sign in with {identifier}, but that email is already used by another account. Sign in to your account with one of the options below to add your account {identifier} at {} as another way to sign in.",
        go_quote(provider),
    );
    Message::info(INFO_SELF_SERVICE_LOGIN_LINK, text).with_context([
        ("duplicateIdentifier", Value::from(duplicate_identifier)),
        ("provider", Value::from(provider)),
        ("newLoginUrl", Value::from(new_login_url)),
        ("duplicate_identifier", Value::from(duplicate_identifier)),
        ("new_login_url", Value::from(new_login_url)),
        (
            "available_credential_types",
            string_array(available_credentials),
        ),
        ("available_providers", string_array(available_providers)),
    ])
}

/// `NewInfoLoginAndLink`.
pub fn info_login_and_link() -> Message {
    Message::info(INFO_SELF_SERVICE_LOGIN_AND_LINK, "Sign in and link")
}

/// `NewInfoLoginWithAndLink`.
pub fn info_login_with_and_link(provider: &str) -> Message {
    Message::info(
        INFO_SELF_SERVICE_LOGIN_WITH_AND_LINK,
        format!("Confirm with {provider}"),
    )
    .with_context([("provider", Value::from(provider))])
}

/// `NewInfoSelfServiceLoginCodeMFA`.
pub fn info_self_service_login_code_mfa() -> Message {
    Message::info(INFO_SELF_SERVICE_LOGIN_CODE_MFA, "Request code to continue")
}

/// `NewInfoSelfServiceLoginPasskey`.
pub fn info_self_service_login_passkey() -> Message {
    Message::info(INFO_SELF_SERVICE_LOGIN_PASSKEY, "Sign in with passkey")
}

/// `NewInfoLoginPassword`.
pub fn info_login_password() -> Message {
    Message::info(INFO_SELF_SERVICE_LOGIN_PASSWORD, "Sign in with password")
}

/// `NewInfoSelfServiceLoginAAL2CodeAddress`: one button per address a second-factor code can go
/// to. `channel` is "email" or "sms".
pub fn info_self_service_login_aal2_code_address(channel: &str, to: &str) -> Message {
    Message::info(
        INFO_SELF_SERVICE_LOGIN_AAL2_CODE_ADDRESS,
        format!("Send code to {to}"),
    )
    .with_context([
        ("address", Value::from(to)),
        ("channel", Value::from(channel)),
    ])
}

/// `NewInfoSelfServiceLoginDeviceAuthn`.
pub fn info_self_service_login_device_authn() -> Message {
    Message::info(
        INFO_SELF_SERVICE_LOGIN_DEVICE_AUTHN,
        "Sign in with a hardware key",
    )
}

/// `NewLoginCodeSentForAuthenticatedUser`: after a code was sent to an address bound to the
/// signed-in identity (refresh and second-factor flows), where the user did not type it.
pub fn login_code_sent_for_authenticated_user() -> Message {
    Message::info(
        INFO_SELF_SERVICE_LOGIN_CODE_SENT_FOR_AUTHENTICATED_USER,
        "A code was sent to your address. If you didn't receive it, please try again.",
    )
}

/// `NewErrorValidationLoginFlowExpired`. `elapsed` is how long ago the flow expired (the
/// clock's now minus `expired_at`).
pub fn error_validation_login_flow_expired(
    expired_at: DateTime<Utc>,
    elapsed: TimeDelta,
) -> Message {
    flow_expired(
        ERROR_VALIDATION_LOGIN_FLOW_EXPIRED,
        "login",
        expired_at,
        elapsed,
    )
}

/// `NewErrorValidationLoginNoStrategyFound`.
pub fn error_validation_login_no_strategy_found() -> Message {
    Message::error(
        ERROR_VALIDATION_LOGIN_NO_STRATEGY_FOUND,
        "Could not find a strategy to log you in with. Did you fill out the form correctly?",
    )
}

/// `NewErrorValidationRegistrationNoStrategyFound`.
pub fn error_validation_registration_no_strategy_found() -> Message {
    Message::error(
        ERROR_VALIDATION_REGISTRATION_NO_STRATEGY_FOUND,
        "Could not find a strategy to sign you up with. Did you fill out the form correctly?",
    )
}

/// `NewErrorValidationSettingsNoStrategyFound`.
pub fn error_validation_settings_no_strategy_found() -> Message {
    Message::error(
        ERROR_VALIDATION_SETTINGS_NO_STRATEGY_FOUND,
        "Could not find a strategy to update your settings. Did you fill out the form correctly?",
    )
}

/// `NewErrorValidationRecoveryNoStrategyFound`.
pub fn error_validation_recovery_no_strategy_found() -> Message {
    Message::error(
        ERROR_VALIDATION_RECOVERY_NO_STRATEGY_FOUND,
        "Could not find a strategy to recover your account with. Did you fill out the form correctly?",
    )
}

/// `NewErrorValidationVerificationNoStrategyFound`.
pub fn error_validation_verification_no_strategy_found() -> Message {
    Message::error(
        ERROR_VALIDATION_VERIFICATION_NO_STRATEGY_FOUND,
        "Could not find a strategy to verify your account with. Did you fill out the form correctly?",
    )
}

/// `NewErrorValidationLoginRetrySuccessful`.
pub fn error_validation_login_retry_successful() -> Message {
    Message::error(
        ERROR_VALIDATION_LOGIN_RETRY_SUCCESS,
        "The request was already completed successfully and can not be retried.",
    )
}

/// `NewErrorValidationLoginCodeInvalidOrAlreadyUsed`.
pub fn error_validation_login_code_invalid_or_already_used() -> Message {
    Message::error(
        ERROR_VALIDATION_LOGIN_CODE_INVALID_OR_ALREADY_USED,
        "The login code is invalid or has already been used. Please try again.",
    )
}

/// `NewErrorValidationLoginLinkedCredentialsDoNotMatch`.
pub fn error_validation_login_linked_credentials_do_not_match() -> Message {
    Message::error(
        ERROR_VALIDATION_LOGIN_LINKED_CREDENTIALS_DO_NOT_MATCH,
        "Linked credentials do not match.",
    )
}

/// `NewErrorValidationAddressUnknown`.
pub fn error_validation_address_unknown() -> Message {
    Message::error(
        ERROR_VALIDATION_LOGIN_ADDRESS_UNKNOWN,
        "The address you entered does not match any known addresses in the current account.",
    )
}

/// `NewErrorValidationIdentityDisabled`.
pub fn error_validation_identity_disabled() -> Message {
    Message::error(
        ERROR_VALIDATION_IDENTITY_DISABLED,
        "This account has been disabled. Please contact support for assistance.",
    )
}
