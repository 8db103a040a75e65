//! Recovery flow messages (1060xxx, 4060xxx).

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::format::{go_json_time, go_minutes_2f};
use super::ids::*;
use super::{Message, flow_expired};

/// `NewRecoverySuccessful`: after recovery, with the privileged session's deadline. `remaining`
/// is the time left until `privileged_session_expires_at`.
pub fn recovery_successful(
    privileged_session_expires_at: DateTime<Utc>,
    remaining: TimeDelta,
) -> Message {
    let expires_at = go_json_time(&privileged_session_expires_at);
    Message::success(
        INFO_SELF_SERVICE_RECOVERY_SUCCESSFUL,
        format!(
            "You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next {} minutes.",
            go_minutes_2f(remaining)
        ),
    )
    .with_context([
        ("privilegedSessionExpiresAt", expires_at.clone()),
        ("privileged_session_expires_at", expires_at),
        (
            "privileged_session_expires_at_unix",
            Value::from(privileged_session_expires_at.timestamp()),
        ),
    ])
}

/// `NewRecoveryEmailSent`.
pub fn recovery_email_sent() -> Message {
    Message::info(
        INFO_SELF_SERVICE_RECOVERY_EMAIL_SENT,
        "An email containing a recovery link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
    )
}

/// `NewRecoveryEmailWithCodeSent`.
pub fn recovery_email_with_code_sent() -> Message {
    Message::info(
        INFO_SELF_SERVICE_RECOVERY_EMAIL_WITH_CODE_SENT,
        "An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
    )
}

/// `NewRecoveryCodeRecoverySelectAddressSent`: after a code was sent to the address the user
/// picked from the masked list.
pub fn recovery_code_recovery_select_address_sent(masked_address: &str) -> Message {
    Message::info(
        INFO_SELF_SERVICE_RECOVERY_MESSAGE_MASKED_WITH_CODE_SENT,
        format!(
            "A recovery code has been sent to {masked_address}. If you have not received it, check the spelling of the address and make sure to use the address you registered with."
        ),
    )
    .with_context([("masked_address", Value::from(masked_address))])
}

/// `NewRecoveryAskForFullAddress`.
pub fn recovery_ask_for_full_address() -> Message {
    Message::info(
        INFO_SELF_SERVICE_RECOVERY_ASK_FOR_FULL_ADDRESS,
        "Recover access to your account by providing your recovery address in full.",
    )
}

/// `NewRecoveryAskToChooseAddress`.
pub fn recovery_ask_to_choose_address() -> Message {
    Message::info(
        INFO_SELF_SERVICE_RECOVERY_ASK_TO_CHOOSE_ADDRESS,
        "How do you want to recover your account?",
    )
}

/// `NewRecoveryBack`.
pub fn recovery_back() -> Message {
    Message::info(INFO_SELF_SERVICE_RECOVERY_BACK, "Back")
}

/// `NewRecoveryAskAnyRecoveryAddress`: the label of the recovery address input.
pub fn recovery_ask_any_recovery_address() -> Message {
    Message::info(INFO_NODE_LABEL_RECOVERY_ADDRESS, "Recovery address")
}

/// `NewErrorValidationRecoveryRetrySuccess`.
pub fn error_validation_recovery_retry_success() -> Message {
    Message::error(
        ERROR_VALIDATION_RECOVERY_RETRY_SUCCESS,
        "The request was already completed successfully and can not be retried.",
    )
}

/// `NewErrorValidationRecoveryStateFailure`.
pub fn error_validation_recovery_state_failure() -> Message {
    Message::error(
        ERROR_VALIDATION_RECOVERY_STATE_FAILURE,
        "The recovery flow reached a failure state and must be retried.",
    )
}

/// `NewErrorValidationRecoveryTokenInvalidOrAlreadyUsed`.
pub fn error_validation_recovery_token_invalid_or_already_used() -> Message {
    Message::error(
        ERROR_VALIDATION_RECOVERY_TOKEN_INVALID_OR_ALREADY_USED,
        "The recovery token is invalid or has already been used. Please retry the flow.",
    )
}

/// `NewErrorValidationRecoveryFlowExpired`. `elapsed` is how long ago the flow expired.
pub fn error_validation_recovery_flow_expired(
    expired_at: DateTime<Utc>,
    elapsed: TimeDelta,
) -> Message {
    flow_expired(
        ERROR_VALIDATION_RECOVERY_FLOW_EXPIRED,
        "recovery",
        expired_at,
        elapsed,
    )
}

/// `NewErrorValidationRecoveryCodeInvalidOrAlreadyUsed`.
pub fn error_validation_recovery_code_invalid_or_already_used() -> Message {
    Message::error(
        ERROR_VALIDATION_RECOVERY_CODE_INVALID_OR_ALREADY_USED,
        "The recovery code is invalid or has already been used. Please try again.",
    )
}
