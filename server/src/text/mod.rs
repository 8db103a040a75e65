//! Kratos's UI messages: the `{id, text, type, context}` objects found in a flow's `ui.messages`
//! and in each node's `messages` and `meta.label`.
//!
//! UIs switch on the numeric id and may render their own text from `context`, so both are an API
//! contract. Every constructor here reproduces what Kratos produces, byte for byte in the text
//! (including Go's number, quoting and time formatting) and key for key in the context.
//!
//! Naming: a constructor is the Go constructor's name without the `New` prefix, in snake_case —
//! `NewInfoLogin` → [`info_login`], `NewValidationErrorRequired` → [`validation_error_required`],
//! `NewInfoNodeLabelGenerated` → [`info_node_label_generated`]. Acronyms are one word (`TOTP` →
//! `totp`, `OIDC` → `oidc`, `AAL2` → `aal2`, `TOTPQRCode` → `totp_qr_code`) and `WebAuthn` /
//! `DeviceAuthn` split like any camel-case word (`web_authn`, `device_authn`). Each constructor's
//! doc names its Go original, so searching for the Go name finds it. Ids are in [`ids`], re-exported
//! here, named after Go's `text.ID` constants (`ErrorValidationInvalidCredentials` →
//! [`ERROR_VALIDATION_INVALID_CREDENTIALS`]).
//!
//! Durations that Kratos computes from the wall clock ("expired 1.00 minutes ago") are parameters,
//! so callers pass their clock's reading and tests stay deterministic.

mod format;
pub mod ids;
mod login;
mod node;
mod recovery;
mod registration;
mod settings;
mod system;
mod validation;
mod verification;

#[cfg(test)]
mod catalogue_tests;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use ids::*;
pub use login::*;
pub use node::*;
pub use recovery::*;
pub use registration::*;
pub use settings::*;
pub use system::*;
pub use validation::*;
pub use verification::*;

/// How a UI should present a message.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    Info,
    Error,
    Success,
}

/// One UI message (`uiText` in Kratos's API).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Message {
    pub id: u32,
    /// American English text; UIs may translate by id.
    pub text: String,
    pub r#type: MessageType,
    /// The values the text was built from, for UIs that render their own text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

impl Message {
    fn new(id: u32, r#type: MessageType, text: impl Into<String>) -> Self {
        Self {
            id,
            text: text.into(),
            r#type,
            context: None,
        }
    }

    fn info(id: u32, text: impl Into<String>) -> Self {
        Self::new(id, MessageType::Info, text)
    }

    fn error(id: u32, text: impl Into<String>) -> Self {
        Self::new(id, MessageType::Error, text)
    }

    fn success(id: u32, text: impl Into<String>) -> Self {
        Self::new(id, MessageType::Success, text)
    }

    /// Sets the context object. Keys are inserted in sorted order, which is how Go's
    /// `json.Marshal` writes a map, whichever map flavour serde_json is built with.
    fn with_context<const N: usize>(mut self, mut entries: [(&str, Value); N]) -> Self {
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let map = entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect();
        self.context = Some(Value::Object(map));
        self
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The "flow expired" error every flow shares, apart from the flow's name.
fn flow_expired(id: u32, flow: &str, expired_at: DateTime<Utc>, elapsed: TimeDelta) -> Message {
    Message::error(
        id,
        format!(
            "The {flow} flow expired {} minutes ago, please try again.",
            format::go_minutes_2f(elapsed)
        ),
    )
    .with_context([
        ("expired_at", format::go_json_time(&expired_at)),
        ("expired_at_unix", Value::from(expired_at.timestamp())),
    ])
}

/// A JSON array of strings, as Go marshals a `[]string`.
fn string_array<S: AsRef<str>>(items: &[S]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|item| Value::String(item.as_ref().to_owned()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_in_kratos_shape() -> Result<(), serde_json::Error> {
        let plain = serde_json::to_string(&info_login())?;
        assert_eq!(plain, r#"{"id":1010001,"text":"Sign in","type":"info"}"#);

        let with_context = serde_json::to_string(&error_validation_min_length(5, 3))?;
        assert_eq!(
            with_context,
            r#"{"id":4000003,"text":"length must be >= 5, but got 3","type":"error","context":{"actual_length":3,"min_length":5}}"#
        );

        let success = serde_json::to_value(info_self_service_settings_update_success())?;
        assert_eq!(success["type"], json!("success"));
        Ok(())
    }

    #[test]
    fn round_trips_through_json() -> Result<(), serde_json::Error> {
        for message in [
            info_login(),
            validation_error_required("traits.email"),
            info_self_service_settings_update_success(),
        ] {
            let back: Message = serde_json::from_str(&serde_json::to_string(&message)?)?;
            assert_eq!(back, message);
        }
        let null_context: Message =
            serde_json::from_str(r#"{"id":1,"text":"t","type":"error","context":null}"#)?;
        assert_eq!(null_context.context, None);
        assert_eq!(null_context.r#type, MessageType::Error);
        Ok(())
    }

    #[test]
    fn displays_its_text() {
        assert_eq!(
            error_validation_invalid_credentials().to_string(),
            "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number."
        );
    }
}
