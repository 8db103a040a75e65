//! The crate's error type, and the one place where errors become HTTP responses in Kratos's JSON
//! error shape (`{"error": {"id", "code", "status", "reason", "message", ...}}`).

use std::borrow::Cow;

use http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while serving a request or running a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error meant for the client, rendered as-is.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// A database error. Unique violations become 409, lost connections 503, the rest 500.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A bug or an unexpected condition: logged in full, shown to the client as a generic 500.
    #[error("internal error: {0}")]
    Internal(String),
    /// The configuration is invalid (at start or on reload).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Messages for a self-service form (validation errors, invalid credentials, ...): flows
    /// attach them to their fields and re-render; elsewhere they are a 400.
    #[error("{0}")]
    Form(Box<FormErrors>),
    /// Identity traits failed schema validation: a 400 whose reason lists every problem; flows
    /// attach the individual errors (with JSON pointers and UI messages) to form nodes.
    #[error("{0}")]
    Validation(Box<crate::identity::validation::ValidationErrors>),
    /// An identifier or address of a new identity belongs to another identity: a 409; flows show
    /// Kratos's "duplicate credentials" message, with login hints when enabled.
    #[error("duplicate credentials")]
    DuplicateCredentials(Box<crate::identity::manager::DuplicateCredentials>),
}

/// One message for a form, on a field (`traits.email`, `password`) or on the whole form.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMessage {
    pub field: Option<String>,
    pub message: crate::text::Message,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FormErrors {
    pub messages: Vec<FieldMessage>,
}

impl std::fmt::Display for FormErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .messages
            .iter()
            .map(|m| match &m.field {
                Some(field) => format!("{field}: {}", m.message.text),
                None => m.message.text.clone(),
            })
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl FormErrors {
    pub fn field(field: &str, message: crate::text::Message) -> Self {
        FormErrors {
            messages: vec![FieldMessage {
                field: Some(field.to_string()),
                message,
            }],
        }
    }
    pub fn global(message: crate::text::Message) -> Self {
        FormErrors {
            messages: vec![FieldMessage {
                field: None,
                message,
            }],
        }
    }
    pub fn push(&mut self, field: Option<&str>, message: crate::text::Message) {
        self.messages.push(FieldMessage {
            field: field.map(str::to_string),
            message,
        });
    }
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

impl From<FormErrors> for Error {
    fn from(e: FormErrors) -> Self {
        Error::Form(Box::new(e))
    }
}

impl Error {
    pub fn internal(message: impl std::fmt::Display) -> Self {
        Error::Internal(message.to_string())
    }

    /// The client-facing form of this error. Internal details are never included.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            Error::Api(api) => (**api).clone(),
            Error::Database(err) => database_api_error(err),
            Error::Validation(errors) => ApiError::bad_request().with_reason(errors.reason()),
            Error::DuplicateCredentials(_) => ApiError::unique_violation(),
            Error::Internal(_) | Error::Config(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Error::Form(form) => ApiError::bad_request().with_reason(form.to_string()),
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.to_api_error().code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The API error if this is one, for callers that branch on ids (e.g. flow error handling).
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Database(sqlx::Error::RowNotFound))
            || self.status() == StatusCode::NOT_FOUND
    }
}

impl From<ApiError> for Error {
    fn from(err: ApiError) -> Self {
        Error::Api(Box::new(err))
    }
}

impl From<crate::identity::validation::ValidationErrors> for Error {
    fn from(errors: crate::identity::validation::ValidationErrors) -> Self {
        Error::Validation(Box::new(errors))
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Internal(format!("JSON: {err}"))
    }
}

fn database_api_error(err: &sqlx::Error) -> ApiError {
    match err {
        sqlx::Error::RowNotFound => ApiError::not_found(),
        sqlx::Error::Database(db) if db.is_unique_violation() => ApiError::unique_violation(),
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => ApiError::new(StatusCode::SERVICE_UNAVAILABLE)
            .with_reason("The database is currently unavailable, please retry later."),
        _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// Kratos's (herodot's) JSON error body.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ApiError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Cow<'static, str>>,
    pub code: u16,
    pub status: Cow<'static, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
    pub message: String,
    /// Fields some errors carry next to `error` in the envelope, e.g. `redirect_browser_to` or
    /// `use_flow_id`.
    #[serde(skip)]
    pub envelope: Option<Map<String, Value>>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)?;
        if let Some(reason) = &self.reason {
            write!(f, ": {reason}")?;
        }
        Ok(())
    }
}

impl ApiError {
    /// An error with the default message Kratos uses for this status.
    pub fn new(status: StatusCode) -> Self {
        ApiError {
            id: None,
            code: status.as_u16(),
            status: Cow::Borrowed(status.canonical_reason().unwrap_or("Unknown")),
            request: None,
            reason: None,
            details: None,
            message: default_message(status).to_string(),
            envelope: None,
        }
    }

    pub fn bad_request() -> Self {
        Self::new(StatusCode::BAD_REQUEST)
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND)
    }
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED)
    }
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN)
    }
    pub fn conflict() -> Self {
        Self::new(StatusCode::CONFLICT)
    }
    pub fn gone() -> Self {
        Self::new(StatusCode::GONE)
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR)
    }
    /// What Kratos answers when a write hits a unique constraint (sqlcon's error).
    pub fn unique_violation() -> Self {
        Self::conflict().with_message(
            "Unable to insert or update resource because a resource with that value exists already",
        )
    }

    pub fn with_id(mut self, id: &'static str) -> Self {
        self.id = Some(Cow::Borrowed(id));
        self
    }
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details
            .get_or_insert_with(Map::new)
            .insert(key.to_string(), value.into());
        self
    }

    /// Adds a field next to `error` in the envelope.
    pub fn with_envelope(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.envelope
            .get_or_insert_with(Map::new)
            .insert(key.to_string(), value.into());
        self
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `{"error": {...}}` envelope.
    pub fn to_body(&self) -> Value {
        let mut body = Map::new();
        body.insert(
            "error".into(),
            serde_json::to_value(self).unwrap_or(Value::Null),
        );
        if let Some(extra) = &self.envelope {
            body.extend(extra.clone());
        }
        Value::Object(body)
    }
}

/// herodot's default messages, which Kratos returns when no more specific message applies.
fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "The requested resource could not be found",
        StatusCode::UNAUTHORIZED => "The request could not be authorized",
        StatusCode::FORBIDDEN => "The requested action was forbidden",
        StatusCode::BAD_REQUEST => "The request was malformed or contained invalid parameters",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "The request is using an unknown content type",
        StatusCode::CONFLICT => "The resource could not be created due to a conflict",
        StatusCode::BAD_GATEWAY => "Upstream error",
        StatusCode::GONE => "The requested resource is no longer available",
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large",
        StatusCode::METHOD_NOT_ALLOWED => "The requested method is not allowed for this resource",
        StatusCode::SERVICE_UNAVAILABLE => "The service is temporarily unavailable",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        _ => "An internal server error occurred, please contact the system administrator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_kratos_error_envelope() {
        let body = ApiError::forbidden()
            .with_id("security_csrf_violation")
            .with_reason("no csrf token")
            .to_body();
        assert_eq!(body["error"]["id"], "security_csrf_violation");
        assert_eq!(body["error"]["code"], 403);
        assert_eq!(body["error"]["status"], "Forbidden");
        assert_eq!(body["error"]["reason"], "no csrf token");
        assert_eq!(
            body["error"]["message"],
            "The requested action was forbidden"
        );
        assert!(body["error"].get("details").is_none());
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = Error::internal("connection string postgres://secret@db");
        let api = err.to_api_error();
        assert_eq!(api.code, 500);
        assert!(!serde_json::to_string(&api).unwrap().contains("secret"));
    }

    #[test]
    fn lost_database_is_503() {
        assert_eq!(
            Error::Database(sqlx::Error::PoolTimedOut).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            Error::Database(sqlx::Error::RowNotFound).status(),
            StatusCode::NOT_FOUND
        );
    }
}
