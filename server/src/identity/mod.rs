//! Identities: the model, identity schemas and trait validation, the identity manager used by the
//! admin API and the self-service flows, and the admin identity API.

pub mod admin;
pub mod credentials;
mod hashing;
pub mod import;
pub mod manager;
pub mod model;
pub mod paging;
pub mod patch;
pub mod schema;
pub mod validation;
pub mod view;

pub use manager::{DuplicateCredentials, IdentityManager, UpdateOptions};
pub use model::{Credentials, CredentialsType, Identity, IdentityState};
pub use schema::{IdentitySchema, SchemaRegistry, SchemaSet};
pub use validation::{ValidationError, ValidationErrors, Violation};
