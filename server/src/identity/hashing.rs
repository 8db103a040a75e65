//! The two things password import needs from password hashing.

use crate::app::App;
use crate::error::Result;

/// Hashes a plaintext password with the configured hasher, on the bounded pool.
pub async fn hash(app: &App, password: &str) -> Result<String> {
    app.hasher.hash(password).await
}

/// Accepts a hash only in a format Kratos imports (400 otherwise).
pub fn check_import_format(hash: &str) -> Result<()> {
    crate::hash::validate_import(hash).map(|_| ())
}
