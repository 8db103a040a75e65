//! The two things password import needs from password hashing.

use crate::app::App;
use crate::error::{ApiError, Result};

/// Hashes a plaintext password with the configured hasher, on the bounded hashing pool.
pub async fn hash(app: &App, password: &str) -> Result<String> {
    app.hasher.hash(password).await
}

/// Accepts a hash only in a format Kratos imports (400 otherwise).
///
/// Kratos checks the prefix only; we also parse the rest, because a garbled hash can never be
/// verified and would lock its user out silently.
pub fn check_import_format(hash: &str) -> Result<()> {
    if crate::hash::identify(hash).is_none() {
        return Err(ApiError::bad_request()
            .with_reason("The imported password does not match any known hash format. For more information see https://www.ory.sh/dr/2")
            .into());
    }
    crate::hash::validate_import(hash).map(|_| ())
}
