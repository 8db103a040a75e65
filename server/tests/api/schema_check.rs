//! `POST /admin/x/schemas/check` and `GET /admin/x/schemas` (kratos-rs extensions).

use ory_kratos_client::apis::identity_api;
use ory_kratos_client::models::{CreateIdentityBody, IdentityPatch, PatchIdentitiesBody};
use serde_json::{Value, json};

use crate::harness::{DEFAULT_SCHEMA, TestServer, client};

/// The default schema with `name` (first and last) required.
fn stricter_schema() -> Value {
    let mut schema: Value = serde_json::from_str(DEFAULT_SCHEMA).unwrap();
    schema["properties"]["traits"]["required"] = json!(["email", "name"]);
    schema["properties"]["traits"]["properties"]["name"]["required"] = json!(["first", "last"]);
    schema
}

#[tokio::test]
async fn the_check_streams_through_the_identities_of_the_schema_id() {
    let srv = TestServer::start("").await;
    // More identities than one batch (500), so the keyset paging is exercised; every third one
    // has no name and would fail the stricter schema.
    let total = 640;
    for chunk in (0..total).collect::<Vec<_>>().chunks(200) {
        let patches = chunk
            .iter()
            .map(|n| {
                let traits = if n % 3 == 0 {
                    json!({"email": format!("user{n}@example.org")})
                } else {
                    json!({"email": format!("user{n}@example.org"), "name": {"first": "Ada", "last": "L"}})
                };
                let mut patch = IdentityPatch::new();
                patch.create = Some(Box::new(CreateIdentityBody::new("default".into(), traits)));
                patch
            })
            .collect();
        let mut body = PatchIdentitiesBody::new();
        body.identities = Some(patches);
        let created = identity_api::batch_patch_identities(&srv.admin_sdk(), Some(body))
            .await
            .unwrap();
        assert_eq!(created.identities.unwrap().len(), chunk.len());
    }
    let failing = (0..total).filter(|n| n % 3 == 0).count() as u64;

    let http = client();
    let check = |schema: Value, schema_id: &str| {
        let http = http.clone();
        let url = format!("{}/admin/x/schemas/check", srv.admin_url);
        let body = json!({"schema_id": schema_id, "schema": schema, "max_samples": 3});
        async move {
            let res = http.post(url).json(&body).send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };

    // The schema in force: everyone passes.
    let current: Value = serde_json::from_str(DEFAULT_SCHEMA).unwrap();
    let (status, report) = check(current.clone(), "default").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["checked"], total);
    assert_eq!(report["failed"], 0);
    assert_eq!(report["samples"], json!([]));
    assert_eq!(report["content_hash"], kratos_crds::content_hash(&current));

    // The stricter schema: the nameless third fails, with pointers to the missing trait.
    let (status, report) = check(stricter_schema(), "default").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["checked"], total);
    assert_eq!(report["failed"], failing);
    let samples = report["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 3);
    for sample in samples {
        let identity = identity_api::get_identity(
            &srv.admin_sdk(),
            sample["identity_id"].as_str().unwrap(),
            None,
        )
        .await
        .unwrap();
        assert!(identity.traits.unwrap().get("name").is_none());
        let errors = sample["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| e["pointer"] == "#/traits/name"
                && e["schema_pointer"] == "#/properties/traits/required"
                && e["message"].as_str().unwrap().contains("name")),
            "{errors:?}"
        );
    }

    // Another schema id has no identities.
    let (status, report) = check(stricter_schema(), "partner").await;
    assert_eq!(status, 200);
    assert_eq!(
        (report["checked"].clone(), report["failed"].clone()),
        (json!(0), json!(0))
    );

    // A candidate that does not compile, or breaks the extension, is a 400 with the reason.
    let (status, report) = check(json!({"type": 7}), "default").await;
    assert_eq!(status, 400, "{report}");
    assert!(
        report["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("does not compile"),
        "{report}"
    );
    let mut broken = stricter_schema();
    broken["properties"]["traits"]["properties"]["email"]["ory.sh/kratos"]["verification"]["via"] =
        json!("pigeon");
    let (status, report) = check(broken, "default").await;
    assert_eq!(status, 400, "{report}");

    // The status endpoint lists the schemas in force with the operator's content hash; this
    // server does not watch a cluster.
    let res = http
        .get(format!("{}/admin/x/schemas", srv.admin_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let listing: Value = res.json().await.unwrap();
    assert_eq!(listing["default_schema_id"], "default");
    assert_eq!(listing["schemas"][0]["id"], "default");
    assert_eq!(
        listing["schemas"][0]["content_hash"],
        kratos_crds::content_hash(&current)
    );
    assert_eq!(listing["kubernetes"], Value::Null);
    srv.stop().await;
}
