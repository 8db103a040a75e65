//! Hand-written OpenAPI fragments for fields schemars cannot describe the Kubernetes way.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// An arbitrary JSON object kept as-is by the API server (no pruning of unknown fields).
pub(crate) fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Like [`free_form_object`], for an optional field.
pub(crate) fn optional_free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Standard `metav1.Condition` list, keyed by `type` so server-side apply merges per condition.
pub(crate) fn conditions_schema(generator: &mut SchemaGenerator) -> Schema {
    let condition = Condition::json_schema(generator);
    json_schema!({
        "type": "array",
        "items": condition,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"]
    })
}
