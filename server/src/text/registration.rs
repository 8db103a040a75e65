//! Registration flow messages (1040xxx, 4040xxx).

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::ids::*;
use super::{Message, flow_expired};

/// `NewInfoRegistration`: the registration form's title.
pub fn info_registration() -> Message {
    Message::info(INFO_SELF_SERVICE_REGISTRATION, "Sign up")
}

/// `NewInfoRegistrationWith`: the button of a social sign-up provider.
pub fn info_registration_with(provider: &str, provider_id: &str) -> Message {
    Message::info(
        INFO_SELF_SERVICE_REGISTRATION_WITH,
        format!("Sign up with {provider}"),
    )
    .with_context([
        ("provider", Value::from(provider)),
        ("provider_id", Value::from(provider_id)),
    ])
}

/// `NewInfoRegistrationContinue`.
pub fn info_registration_continue() -> Message {
    Message::info(INFO_SELF_SERVICE_REGISTRATION_CONTINUE, "Continue")
}

/// `NewInfoSelfServiceRegistrationRegisterWebAuthn`.
pub fn info_self_service_registration_register_web_authn() -> Message {
    Message::info(
        INFO_SELF_SERVICE_REGISTRATION_REGISTER_WEB_AUTHN,
        "Sign up with security key",
    )
}

/// `NewRegistrationEmailWithCodeSent`.
pub fn registration_email_with_code_sent() -> Message {
    Message::info(
        INFO_SELF_SERVICE_REGISTRATION_EMAIL_WITH_CODE_SENT,
        "A code has been sent to the address(es) you provided. If you have not received a message, check the spelling of the address and retry the registration.",
    )
}

/// `NewInfoSelfServiceRegistrationRegisterCode`.
pub fn info_self_service_registration_register_code() -> Message {
    Message::info(
        INFO_SELF_SERVICE_REGISTRATION_REGISTER_CODE,
        "Send sign up code",
    )
}

/// `NewInfoSelfServiceRegistrationRegisterPasskey`.
pub fn info_self_service_registration_register_passkey() -> Message {
    Message::info(
        INFO_SELF_SERVICE_REGISTRATION_REGISTER_PASSKEY,
        "Sign up with passkey",
    )
}

/// `NewInfoRegistrationBack`.
pub fn info_registration_back() -> Message {
    Message::info(INFO_SELF_SERVICE_REGISTRATION_BACK, "Back")
}

/// `NewInfoSelfServiceChooseCredentials`.
pub fn info_self_service_choose_credentials() -> Message {
    Message::info(
        INFO_SELF_SERVICE_REGISTRATION_CHOOSE_CREDENTIALS,
        "Please choose a credential to authenticate yourself with.",
    )
}

/// `NewErrorValidationRegistrationFlowExpired`. `elapsed` is how long ago the flow expired.
pub fn error_validation_registration_flow_expired(
    expired_at: DateTime<Utc>,
    elapsed: TimeDelta,
) -> Message {
    flow_expired(
        ERROR_VALIDATION_REGISTRATION_FLOW_EXPIRED,
        "registration",
        expired_at,
        elapsed,
    )
}

/// `NewErrorValidationRegistrationRetrySuccessful`.
pub fn error_validation_registration_retry_successful() -> Message {
    Message::error(
        ERROR_VALIDATION_REGISTRATION_RETRY_SUCCESS,
        "The request was already completed successfully and can not be retried.",
    )
}

/// `NewErrorValidationRegistrationCodeInvalidOrAlreadyUsed`.
pub fn error_validation_registration_code_invalid_or_already_used() -> Message {
    Message::error(
        ERROR_VALIDATION_REGISTRATION_CODE_INVALID_OR_ALREADY_USED,
        "The registration code is invalid or has already been used. Please try again.",
    )
}
