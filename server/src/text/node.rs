//! Labels of UI nodes (1070xxx).

use serde_json::Value;

use super::Message;
use super::ids::*;

/// A free-text label under the generic label id, as Kratos uses for the masked addresses a
/// recovery code can be sent to (Kratos builds this one inline rather than with a constructor).
pub fn info_node_label(text: &str) -> Message {
    Message::info(INFO_NODE_LABEL, text)
}

/// `NewInfoNodeInputPassword`.
pub fn info_node_input_password() -> Message {
    Message::info(INFO_NODE_LABEL_INPUT_PASSWORD, "Password")
}

/// `NewInfoNodeLabelGenerated`: a label taken from the identity schema; `title` is the field's
/// title (or its name when it has none), `name` the node's name.
pub fn info_node_label_generated(title: &str, name: &str) -> Message {
    Message::info(INFO_NODE_LABEL_GENERATED, title)
        .with_context([("title", Value::from(title)), ("name", Value::from(name))])
}

/// `NewInfoNodeLabelSave`.
pub fn info_node_label_save() -> Message {
    Message::info(INFO_NODE_LABEL_SAVE, "Save")
}

/// `NewInfoNodeLabelID`.
pub fn info_node_label_id() -> Message {
    Message::info(INFO_NODE_LABEL_ID, "ID")
}

/// `NewInfoNodeLabelSubmit`.
pub fn info_node_label_submit() -> Message {
    Message::info(INFO_NODE_LABEL_SUBMIT, "Submit")
}

/// `NewInfoNodeLabelVerifyOTP`.
pub fn info_node_label_verify_otp() -> Message {
    Message::info(INFO_NODE_LABEL_VERIFY_OTP, "Verify code")
}

/// `NewInfoNodeInputEmail`.
pub fn info_node_input_email() -> Message {
    Message::info(INFO_NODE_LABEL_EMAIL, "Email")
}

/// `NewInfoNodeResendOTP`.
pub fn info_node_resend_otp() -> Message {
    Message::info(INFO_NODE_LABEL_RESEND_OTP, "Resend code")
}

/// `NewInfoNodeLabelContinue`.
pub fn info_node_label_continue() -> Message {
    Message::info(INFO_NODE_LABEL_CONTINUE, "Continue")
}

/// `NewInfoNodeLabelRecoveryCode`.
pub fn info_node_label_recovery_code() -> Message {
    Message::info(INFO_NODE_LABEL_RECOVERY_CODE, "Recovery code")
}

/// `NewInfoNodeLabelVerificationCode`.
pub fn info_node_label_verification_code() -> Message {
    Message::info(INFO_NODE_LABEL_VERIFICATION_CODE, "Verification code")
}

/// `NewInfoNodeLabelRegistrationCode`.
pub fn info_node_label_registration_code() -> Message {
    Message::info(INFO_NODE_LABEL_REGISTRATION_CODE, "Registration code")
}

/// `NewInfoNodeLabelLoginCode`.
pub fn info_node_label_login_code() -> Message {
    Message::info(INFO_NODE_LABEL_LOGIN_CODE, "Login code")
}

/// `NewInfoNodeLoginAndLinkCredential`.
pub fn info_node_login_and_link_credential() -> Message {
    Message::info(
        INFO_NODE_LABEL_LOGIN_AND_LINK_CREDENTIAL,
        "Login and link credential",
    )
}

/// `NewInfoNodeInputPhoneNumber`.
pub fn info_node_input_phone_number() -> Message {
    Message::info(INFO_NODE_LABEL_PHONE_NUMBER, "Phone number")
}

/// `NewInfoNodeInputEmailOrPhone`.
pub fn info_node_input_email_or_phone() -> Message {
    Message::info(INFO_NODE_LABEL_EMAIL_OR_PHONE, "Email or phone number")
}
