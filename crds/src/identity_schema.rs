//! `IdentitySchema`: one identity traits JSON Schema, as a namespaced Kubernetes object.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema_util::{conditions_schema, free_form_object};

/// Desired state of an IdentitySchema.
// Printer columns repeat `type_ = ...`, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kratos.rs",
    version = "v1alpha1",
    kind = "IdentitySchema",
    plural = "identityschemas",
    namespaced,
    status = "IdentitySchemaStatus",
    shortname = "idschema",
    category = "kratos",
    doc = "An identity schema: the JSON Schema that the traits of identities must satisfy, with the \
           `ory.sh/kratos` extension that marks identifiers, verifiable and recoverable addresses. \
           KratosInstances select IdentitySchemas by label (spec.identity.schemaSelector) in their \
           own namespace.",
    printcolumn(
        name = "Schema ID",
        type_ = "string",
        json_path = ".spec.id",
        description = "The schema id that identities reference"
    ),
    printcolumn(
        name = "Valid",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Valid")].status"#,
        description = "Whether the schema compiles and its ory.sh/kratos extension is well-formed"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Valid")].reason"#,
        description = "Why the schema is (not) valid"
    ),
    printcolumn(
        name = "Used By",
        type_ = "string",
        json_path = ".status.usedBy[*].instance",
        description = "KratosInstances that select this schema"
    ),
    printcolumn(
        name = "Hash",
        type_ = "string",
        json_path = ".status.contentHash",
        priority = 1,
        description = "Content hash of spec.schema"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySchemaSpec {
    /// The schema id: identities store it (`schema_id`) and self-service flows select it with the
    /// `identity_schema` query parameter. It must be unique among the schemas an instance serves.
    /// Immutable, because stored identities keep referring to it: to introduce a new id, create a
    /// new IdentitySchema.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$"),
        extend("x-kubernetes-validations" = [{
            "rule": "self == oldSelf",
            "message": "id is immutable: identities store it; create a new IdentitySchema for a new id"
        }])
    )]
    pub id: String,

    /// Whether browsers and apps may pick this schema explicitly in self-service registration
    /// (`?identity_schema=<id>`). The instance's default schema is always usable.
    #[serde(default)]
    pub selfservice_selectable: bool,

    /// The JSON Schema (draft-07 unless `$schema` says otherwise) describing identity traits:
    /// `properties.traits` must be an object schema with at least one property. Trait properties
    /// carry the `ory.sh/kratos` extension to mark login identifiers
    /// (`credentials.password.identifier`), verifiable and recoverable addresses
    /// (`verification.via`, `recovery.via`: email or sms), and similar. Remote `$ref`s are not
    /// fetched; keep the schema self-contained.
    #[schemars(schema_with = "free_form_object")]
    pub schema: Value,

    /// How a change to `schema` that existing identities would no longer satisfy is handled.
    #[serde(default)]
    pub compatibility: Compatibility,
}

/// Handling of schema changes that would invalidate identities already stored under this id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Compatibility {
    /// `Reject` (default): before a changed schema takes effect, the stored identities with this
    /// schema id are checked against it, and the change is held back (the last accepted schema
    /// stays in force) if any would fail; the result is reported in status. `Allow`: the change
    /// takes effect regardless, and identities that no longer validate must be fixed by their next
    /// update.
    #[serde(default)]
    pub policy: CompatibilityPolicy,
}

/// See `Compatibility.policy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CompatibilityPolicy {
    /// Hold back a change that existing identities would fail.
    #[default]
    Reject,
    /// Apply the change even if existing identities would fail it.
    Allow,
}

/// Observed state of an IdentitySchema, written by the operator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySchemaStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// `Valid`: the schema compiles as a JSON Schema and its `ory.sh/kratos` extension is
    /// well-formed (reasons: SchemaValid, SchemaInvalid). `Ready`: the schema can be served
    /// (reasons: SchemaValid, SchemaInvalid).
    #[serde(default)]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,

    /// Content hash of spec.schema: `sha256:` and the hex SHA-256 of its canonical JSON (object
    /// keys sorted, no insignificant whitespace). Servers report the hash they serve, so the two
    /// can be compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,

    /// Problems found in spec.schema, each located by a JSON Pointer (RFC 6901) relative to
    /// spec.schema. Empty when the schema is valid. At most 25 entries are listed.
    #[serde(default)]
    pub validation_errors: Vec<SchemaValidationError>,

    /// KratosInstances in this namespace whose schemaSelector selects this schema.
    #[serde(default)]
    pub used_by: Vec<SchemaUser>,

    /// The version of spec.schema that servers serve. The operator copies spec.schema here once
    /// it is valid and, under the `Reject` policy, once the compatibility check found no stored
    /// identity that would fail it; a change that is held back leaves the previous version here.
    /// Servers watching the cluster serve only this content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<AcceptedSchema>,

    /// The last compatibility check of spec.schema against the stored identities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility_check: Option<CompatibilityCheckResult>,

    /// Which content the using instances' servers report serving for this schema id, asked on
    /// each instance's admin Service (one replica answers per query), and how many replicas
    /// the instance's Deployment reports ready. All replicas watch the same object, so ready
    /// replicas converge on the same content within about a second.
    #[serde(default)]
    pub served_by: Vec<SchemaServing>,
}

/// The accepted version of an identity schema, the one servers serve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedSchema {
    /// Content hash of `schema` (same definition as status.contentHash).
    pub content_hash: String,
    /// metadata.generation whose spec.schema was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// The accepted JSON Schema.
    #[schemars(schema_with = "free_form_object")]
    pub schema: Value,
}

/// Outcome of checking a schema version against the identities stored under its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompatibilityCheckResult {
    /// Content hash of the checked schema.
    pub content_hash: String,
    /// The KratosInstance whose database was checked.
    pub instance: String,
    /// Identities with this schema id that were checked.
    pub checked: i64,
    /// How many of them do not satisfy the checked schema.
    pub failed: i64,
    /// A few failing identities with the reasons, for a first look.
    #[serde(default)]
    pub samples: Vec<IncompatibleIdentity>,
}

/// A stored identity that a schema version would invalidate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncompatibleIdentity {
    /// The identity's id.
    pub identity_id: String,
    /// Its problems; pointers are relative to the identity document (`#/traits/...`).
    pub errors: Vec<SchemaValidationError>,
}

/// What an instance's servers serve for this schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaServing {
    /// Name of the KratosInstance.
    pub instance: String,
    /// Content hash reported by the instance's servers; unset when they could not be asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// Ready replicas of the instance's Deployment.
    pub ready_replicas: i32,
}

/// One problem in an identity schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaValidationError {
    /// JSON Pointer (RFC 6901) to the offending location, relative to spec.schema; empty for the
    /// schema root.
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

/// A KratosInstance that selects a schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchemaUser {
    /// Name of the KratosInstance (same namespace).
    pub instance: String,
    /// Whether the schema is that instance's default schema.
    #[serde(default)]
    pub default: bool,
}
