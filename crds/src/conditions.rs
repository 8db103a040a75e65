//! Condition types and reasons the operator writes: a stable vocabulary that users, alerts and
//! tests may rely on. Events use the same reasons.

/// Condition types.
pub mod types {
    /// IdentitySchema and KratosInstance: usable / serving.
    pub const READY: &str = "Ready";
    /// IdentitySchema: compiles and has a well-formed `ory.sh/kratos` extension.
    pub const VALID: &str = "Valid";
    /// IdentitySchema: spec.schema is accepted (stored identities satisfy it, or the policy
    /// allows the change) and is what servers serve.
    pub const ACCEPTED: &str = "Accepted";
    /// KratosInstance: a migration or rollout is under way.
    pub const PROGRESSING: &str = "Progressing";
    /// KratosInstance: something needs attention.
    pub const DEGRADED: &str = "Degraded";
}

/// Condition and event reasons.
pub mod reasons {
    // IdentitySchema
    /// The schema passed all checks.
    pub const SCHEMA_VALID: &str = "SchemaValid";
    /// The schema failed a check; see status.validationErrors.
    pub const SCHEMA_INVALID: &str = "SchemaInvalid";
    /// The stored identities satisfy spec.schema; it is served.
    pub const SCHEMA_COMPATIBLE: &str = "SchemaCompatible";
    /// Stored identities would fail spec.schema and the policy is Reject: the change is held
    /// back and status.accepted stays in force.
    pub const INCOMPATIBLE_CHANGE: &str = "IncompatibleChange";
    /// Stored identities fail spec.schema but the policy is Allow: it is served anyway.
    pub const INCOMPATIBLE_CHANGE_ALLOWED: &str = "IncompatibleChangeAllowed";
    /// The compatibility check could not run (no instance server answered); retried.
    pub const COMPATIBILITY_UNKNOWN: &str = "CompatibilityUnknown";

    // KratosInstance: healthy states
    /// All replicas run the desired configuration and are ready.
    pub const ALL_REPLICAS_READY: &str = "AllReplicasReady";
    /// spec.replicas is 0.
    pub const SCALED_TO_ZERO: &str = "ScaledToZero";
    /// Nothing is rolling out.
    pub const ROLLOUT_COMPLETE: &str = "RolloutComplete";
    /// No problem found.
    pub const AS_EXPECTED: &str = "AsExpected";

    // KratosInstance: progress
    /// The Deployment is rolling out or pods are not ready yet.
    pub const ROLLING_OUT: &str = "RollingOut";
    /// The migration Job for the desired image runs.
    pub const MIGRATING: &str = "Migrating";
    /// The migration Job for the desired image succeeded.
    pub const MIGRATION_SUCCEEDED: &str = "MigrationSucceeded";
    /// The rendered configuration or a referenced Secret changed; the pods roll.
    pub const CONFIG_CHANGED: &str = "ConfigChanged";
    /// The operator created the `<instance>-secrets` Secret.
    pub const SECRETS_GENERATED: &str = "SecretsGenerated";

    // KratosInstance: problems
    /// A referenced Secret does not exist.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    /// A referenced Secret lacks the referenced key.
    pub const SECRET_KEY_NOT_FOUND: &str = "SecretKeyNotFound";
    /// A referenced Secret value has the wrong format.
    pub const SECRET_INVALID: &str = "SecretInvalid";
    /// The selector matches no valid IdentitySchema.
    pub const NO_IDENTITY_SCHEMAS: &str = "NoIdentitySchemas";
    /// The default schema id is not among the served schemas, or none was given for several.
    pub const DEFAULT_SCHEMA_NOT_FOUND: &str = "DefaultSchemaNotFound";
    /// A selected IdentitySchema is invalid: it is left out, or its last good version is kept.
    pub const SCHEMA_REJECTED: &str = "SchemaRejected";
    /// Two selected IdentitySchemas share a schema id: the older one is served.
    pub const DUPLICATE_SCHEMA_ID: &str = "DuplicateSchemaId";
    /// spec.config is unusable (e.g. a required key is missing).
    pub const INVALID_CONFIG: &str = "InvalidConfig";
    /// spec.config set keys the operator owns or that must come from Secrets; they were dropped.
    pub const CONFIG_KEY_OVERRIDDEN: &str = "ConfigKeyOverridden";
    /// The migration Job failed; the pods keep the previous image.
    pub const MIGRATION_FAILED: &str = "MigrationFailed";
    /// Applying a child object failed.
    pub const APPLY_FAILED: &str = "ApplyFailed";
}
