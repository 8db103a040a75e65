//! Verification flow messages (1080xxx, 4070xxx).

use chrono::{DateTime, TimeDelta, Utc};

use super::ids::*;
use super::{Message, flow_expired};

/// `NewVerificationEmailSent`.
pub fn verification_email_sent() -> Message {
    Message::info(
        INFO_SELF_SERVICE_VERIFICATION_EMAIL_SENT,
        "An email containing a verification link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
    )
}

/// `NewInfoSelfServiceVerificationSuccessful`.
pub fn info_self_service_verification_successful() -> Message {
    Message::success(
        INFO_SELF_SERVICE_VERIFICATION_SUCCESSFUL,
        "You successfully verified your email address.",
    )
}

/// `NewVerificationEmailWithCodeSent`.
pub fn verification_email_with_code_sent() -> Message {
    Message::info(
        INFO_SELF_SERVICE_VERIFICATION_EMAIL_WITH_CODE_SENT,
        "An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
    )
}

/// `NewVerificationPhoneWithCodeSent`.
pub fn verification_phone_with_code_sent() -> Message {
    Message::info(
        INFO_SELF_SERVICE_VERIFICATION_PHONE_WITH_CODE_SENT,
        "A text message containing a verification code has been sent to the phone number you provided. If you have not received a text message, check the spelling of the number and make sure to use the number you registered with.",
    )
}

/// `NewInfoSelfServiceVerificationPhoneSuccessful`.
pub fn info_self_service_verification_phone_successful() -> Message {
    Message::success(
        INFO_SELF_SERVICE_VERIFICATION_PHONE_SUCCESSFUL,
        "You successfully verified your phone number.",
    )
}

/// `VerificationCodeSentMessage`: the "code sent" message for the channel the code went out
/// over; "sms" gets the phone wording, every other channel the email wording.
pub fn verification_code_sent_message(via: &str) -> Message {
    if via == "sms" {
        verification_phone_with_code_sent()
    } else {
        verification_email_with_code_sent()
    }
}

/// `NewErrorValidationVerificationTokenInvalidOrAlreadyUsed`.
pub fn error_validation_verification_token_invalid_or_already_used() -> Message {
    Message::error(
        ERROR_VALIDATION_VERIFICATION_TOKEN_INVALID_OR_ALREADY_USED,
        "The verification token is invalid or has already been used. Please retry the flow.",
    )
}

/// `NewErrorValidationVerificationRetrySuccess`.
pub fn error_validation_verification_retry_success() -> Message {
    Message::error(
        ERROR_VALIDATION_VERIFICATION_RETRY_SUCCESS,
        "The request was already completed successfully and can not be retried.",
    )
}

/// `NewErrorValidationVerificationStateFailure`.
pub fn error_validation_verification_state_failure() -> Message {
    Message::error(
        ERROR_VALIDATION_VERIFICATION_STATE_FAILURE,
        "The verification flow reached a failure state and must be retried.",
    )
}

/// `NewErrorValidationVerificationFlowExpired`. `elapsed` is how long ago the flow expired.
pub fn error_validation_verification_flow_expired(
    expired_at: DateTime<Utc>,
    elapsed: TimeDelta,
) -> Message {
    flow_expired(
        ERROR_VALIDATION_VERIFICATION_FLOW_EXPIRED,
        "verification",
        expired_at,
        elapsed,
    )
}

/// `NewErrorValidationVerificationCodeInvalidOrAlreadyUsed`.
pub fn error_validation_verification_code_invalid_or_already_used() -> Message {
    Message::error(
        ERROR_VALIDATION_VERIFICATION_CODE_INVALID_OR_ALREADY_USED,
        "The verification code is invalid or has already been used. Please try again.",
    )
}
