//! System errors (5000xxx) and the captcha label.

use serde_json::Value;

use super::Message;
use super::ids::*;

/// `NewErrorSystemGeneric`: an internal error's reason, shown as is.
pub fn error_system_generic(reason: &str) -> Message {
    Message::error(ERROR_SYSTEM_GENERIC, reason).with_context([("reason", Value::from(reason))])
}

/// `NewErrorSystemNoAuthenticationMethodsAvailable`.
pub fn error_system_no_authentication_methods_available() -> Message {
    Message::error(
        ERROR_SYSTEM_NO_AUTHENTICATION_METHODS_AVAILABLE,
        "No authentication methods are available. Please contact the system administrator.",
    )
}

/// `NewErrorSystemOrganizationNoSSOProvidersAvailable`.
pub fn error_system_organization_no_sso_providers_available() -> Message {
    Message::error(
        ERROR_SYSTEM_ORGANIZATION_NO_SSO_PROVIDERS_AVAILABLE,
        "Your organization requires SSO authentication, but no SSO provider is configured. Please contact the system administrator.",
    )
}

/// `NewCaptchaContainerMessage`: the label of the captcha node.
pub fn captcha_container_message() -> Message {
    Message::info(
        INFO_NODE_LABEL_CAPTCHA,
        "Please complete the captcha challenge to continue.",
    )
}
