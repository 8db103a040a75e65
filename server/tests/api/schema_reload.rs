//! Outside a cluster, a changed `file://` identity schema takes effect without a restart, and a
//! broken one leaves the last good schema in force.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{TestServer, client};

fn schema(required: &[&str]) -> String {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": { "traits": {
            "type": "object",
            "properties": {
                "email": { "type": "string", "format": "email",
                    "ory.sh/kratos": { "credentials": { "password": { "identifier": true } } } },
                "name": { "type": "string" }
            },
            "required": required,
        }}
    })
    .to_string()
}

/// Status of creating an identity with only an email, through the admin API.
async fn create_without_name(ts: &TestServer, n: usize) -> u16 {
    client()
        .post(format!("{}/admin/identities", ts.admin_url))
        .json(
            &json!({ "schema_id": "default", "traits": { "email": format!("u{n}@example.org") } }),
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn schemas_in_force(ts: &TestServer) -> String {
    let set: Value = client()
        .get(format!("{}/admin/x/schemas", ts.admin_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    set.to_string()
}

#[tokio::test]
async fn a_changed_schema_file_is_served_without_restart_and_a_broken_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("person.json");
    std::fs::write(&path, schema(&["email"])).unwrap();
    let ts = TestServer::start(&format!(
        "identity:\n  schemas:\n    - id: default\n      url: file://{}\n",
        path.display()
    ))
    .await;
    assert_eq!(create_without_name(&ts, 0).await, 201);

    std::fs::write(&path, schema(&["email", "name"])).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 1;
    while create_without_name(&ts, n).await != 400 {
        assert!(
            Instant::now() < deadline,
            "the changed schema was not applied"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A document that is not JSON: refused, the last good schema (name required) stays.
    let before = schemas_in_force(&ts).await;
    std::fs::write(&path, "{ not json").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(create_without_name(&ts, 1000).await, 400);
    assert_eq!(schemas_in_force(&ts).await, before);
    ts.stop().await;
}
