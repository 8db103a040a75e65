//! The Kubernetes examples parse as the CRD types, their schemas pass (or, for the intentionally
//! invalid one, fail) the operator's checks, and each IdentitySchema example carries exactly the
//! plain JSON schema of the same name under examples/identity-schemas/.

use std::path::{Path, PathBuf};

use kratos_crds::{IdentitySchema, KratosInstance, check_identity_schema};
use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn documents(path: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn identity_schema_examples_mirror_the_json_schemas() {
    let mut valid = 0;
    for path in yaml_files(&examples().join("kubernetes/schemas")) {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let [document] = documents(&path).try_into().unwrap();
        let schema: IdentitySchema = serde_json::from_value(document).unwrap();
        assert_eq!(schema.metadata.name.as_deref(), Some(name.as_str()));
        let problems = check_identity_schema(&schema.spec.schema);
        if name == "invalid" {
            let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
            assert!(
                pointers.contains(&"/properties/traits/properties/email/type"),
                "{problems:?}"
            );
            continue;
        }
        assert!(problems.is_empty(), "{name}: {problems:?}");
        let json_path = examples().join(format!("identity-schemas/{name}.schema.json"));
        let plain: Value =
            serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        assert_eq!(
            schema.spec.schema,
            plain,
            "{} differs from {}",
            path.display(),
            json_path.display()
        );
        valid += 1;
    }
    assert_eq!(valid, 4, "email-password, phone, username and customer");
}

#[test]
fn instance_examples_parse() {
    let mut instances = 0;
    for path in yaml_files(&examples().join("kubernetes")) {
        for document in documents(&path) {
            if document["kind"] == "KratosInstance" {
                let instance: KratosInstance = serde_json::from_value(document)
                    .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
                assert!(instance.metadata.name.unwrap().len() <= 40);
                instances += 1;
            }
        }
    }
    assert_eq!(instances, 2, "minimal-postgres and production");
}
