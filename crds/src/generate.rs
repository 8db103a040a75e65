//! The committed CRD files: `crds/<name>.yaml` for `kubectl apply --server-side -f crds/`, and the
//! same definitions as Helm templates under `charts/kratos-operator/templates/crds/`.
//!
//! `crdgen` writes them; a test fails when the committed files differ from what the types
//! generate, so neither copy can drift.

use std::path::PathBuf;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::Value;

use crate::{IdentitySchema, KratosInstance};

/// Directory of the Helm templates holding the CRDs, relative to the repository root.
pub const CHART_CRD_DIR: &str = "charts/kratos-operator/templates/crds";
/// Directory of the plain CRD files, relative to the repository root.
pub const CRD_DIR: &str = "crds";

const HEADER: &str = "# Generated from the types in crds/src by `cargo run -p kratos-crds --bin crdgen`.\n# Do not edit: a test fails when this file differs from the generated one.\n";

/// All CustomResourceDefinitions of the operator, as installed.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        unwrap_descriptions(IdentitySchema::crd()),
        unwrap_descriptions(KratosInstance::crd()),
    ]
}

/// Joins the hard-wrapped lines of doc comments, keeping paragraph breaks: `kubectl explain`
/// wraps descriptions itself and would otherwise print ragged half-empty lines.
///
/// Also sorts the keys of free-form values (such as `default`): whether `serde_json` keeps
/// insertion order depends on which other crates share the build, and the output must not.
fn unwrap_descriptions(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = std::mem::take(map).into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                map.extend(entries);
                for (key, child) in map.iter_mut() {
                    match child {
                        Value::String(text) if key == "description" => *text = unwrap(text),
                        _ => walk(child),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    fn unwrap(text: &str) -> String {
        text.split("\n\n")
            .map(|paragraph| {
                paragraph
                    .split('\n')
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    }
    let Ok(mut value) = serde_json::to_value(&crd) else {
        return crd;
    };
    walk(&mut value);
    serde_json::from_value(value).unwrap_or(crd)
}

/// A generated file: its path relative to the repository root, and its content.
pub struct GeneratedFile {
    pub path: PathBuf,
    pub content: String,
}

/// Every file `crdgen` writes.
pub fn generated_files() -> Result<Vec<GeneratedFile>, serde_saphyr::SerializeError> {
    let mut files = Vec::new();
    for crd in crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        files.push(GeneratedFile {
            path: PathBuf::from(CRD_DIR).join(format!("{name}.yaml")),
            content: format!("{HEADER}{}", serde_saphyr::to_string(&crd)?),
        });
        files.push(GeneratedFile {
            path: PathBuf::from(CHART_CRD_DIR).join(format!("{name}.yaml")),
            content: chart_template(crd)?,
        });
    }
    Ok(files)
}

/// The CRD as a Helm template: installed only with `crds.install`, and kept by `helm uninstall`
/// (deleting a CRD deletes every IdentitySchema and KratosInstance with it).
fn chart_template(
    mut crd: CustomResourceDefinition,
) -> Result<String, serde_saphyr::SerializeError> {
    crd.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert("helm.sh/resource-policy".into(), "keep".into());
    Ok(format!(
        "{HEADER}{{{{- if .Values.crds.install }}}}\n{}{{{{- end }}}}\n",
        serde_saphyr::to_string(&crd)?
    ))
}
