//! Custom resource types of the kratos-rs operator (API group `kratos.rs`, version `v1alpha1`):
//! [`IdentitySchema`] and [`KratosInstance`], the generated CustomResourceDefinitions, the
//! condition vocabulary, and the identity schema checks shared by the operator and the server.

pub mod conditions;
pub mod content_hash;
pub mod generate;
pub mod identity_schema;
pub mod kratos_instance;
pub mod schema_check;
mod schema_util;

pub use content_hash::content_hash;
pub use identity_schema::{
    AcceptedSchema, Compatibility, CompatibilityCheckResult, CompatibilityPolicy, IdentitySchema,
    IdentitySchemaSpec, IdentitySchemaStatus, IncompatibleIdentity, SchemaServing, SchemaUser,
    SchemaValidationError,
};
pub use kratos_instance::{KratosInstance, KratosInstanceSpec, KratosInstanceStatus};
pub use schema_check::check_identity_schema;

/// API group of the custom resources.
pub const GROUP: &str = "kratos.rs";
/// API version of the custom resources.
pub const VERSION: &str = "v1alpha1";
