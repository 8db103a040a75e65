//! The admin identity API through the official `ory_kratos_client` SDK (which must deserialize
//! every answer), plus the raw-HTTP edge cases the SDK cannot send: malformed bodies, wrong
//! content types, bad ids, oversized bodies, and the `Link` header of keyset pagination.

use ory_kratos_client::apis::Error as SdkError;
use ory_kratos_client::apis::identity_api as api;
use ory_kratos_client::models;
use serde_json::{Value, json};

use crate::harness::{TestServer, client};

/// Any typed value from a JSON literal (the SDK's builders are verbose for nested bodies).
pub fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// The status and Kratos error body of a failed SDK call.
pub fn sdk_error<T: std::fmt::Debug, R: std::fmt::Debug>(
    res: Result<R, SdkError<T>>,
) -> (u16, Value) {
    match res {
        Err(SdkError::ResponseError(rc)) => (
            rc.status.as_u16(),
            serde_json::from_str(&rc.content)
                .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {}", rc.content)),
        ),
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// Asserts Kratos's error envelope: `{"error":{"code","status","message",...}}`.
pub fn assert_kratos_error(body: &Value, code: u16) {
    let e = &body["error"];
    assert_eq!(e["code"], code, "{body}");
    assert!(
        e["status"].as_str().is_some_and(|s| !s.is_empty()),
        "{body}"
    );
    assert!(
        e["message"].as_str().is_some_and(|s| !s.is_empty()),
        "{body}"
    );
}

pub async fn create(ts: &TestServer, body: Value) -> models::Identity {
    api::create_identity(&ts.admin_sdk(), Some(from_json(body)))
        .await
        .unwrap()
}

/// The query of `listIdentities`; what is not set is left out, as the SDK's `None`s are.
#[derive(Default)]
pub struct ListQuery<'a> {
    pub per_page: Option<i64>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    pub page_token: Option<&'a str>,
    pub ids: Option<Vec<String>>,
    pub credentials_identifier: Option<&'a str>,
    pub include_credential: Option<Vec<String>>,
}

/// `listIdentities` through the SDK.
pub async fn list(
    sdk: &ory_kratos_client::apis::configuration::Configuration,
    q: ListQuery<'_>,
) -> Result<Vec<models::Identity>, SdkError<api::ListIdentitiesError>> {
    api::list_identities(
        sdk,
        q.per_page,
        q.page,
        q.page_size,
        q.page_token,
        None,
        q.ids,
        q.credentials_identifier,
        None,
        q.include_credential,
        None,
    )
    .await
}

fn person(email: &str) -> Value {
    json!({ "schema_id": "default", "traits": { "email": email } })
}

#[tokio::test]
async fn create_get_update_patch_delete() {
    let ts = TestServer::start("").await;
    let sdk = ts.admin_sdk();

    let created = create(
        &ts,
        json!({
            "schema_id": "default",
            "traits": { "email": "Ann@Example.org", "name": { "first": "Ann" } },
            "metadata_public": { "plan": "pro" },
            "metadata_admin": { "notes": "vip" },
            "external_id": "crm-1",
            "credentials": { "password": { "config": { "password": "a plaintext import" } } }
        }),
    )
    .await;
    assert_eq!(created.schema_id, "default");
    assert!(
        created.schema_url.ends_with("/schemas/ZGVmYXVsdA"),
        "{}",
        created.schema_url
    );
    assert_eq!(created.state, Some(models::identity::StateEnum::Active));
    assert_eq!(created.external_id.as_deref(), Some("crm-1"));
    assert_eq!(
        created.metadata_admin,
        Some(Some(json!({ "notes": "vip" })))
    );
    // The schema extension made the address verifiable and recoverable.
    let addresses = created.verifiable_addresses.clone().unwrap();
    assert_eq!(addresses.len(), 1);
    assert_eq!(addresses[0].value, "ann@example.org");
    assert!(!addresses[0].verified);
    assert_eq!(created.recovery_addresses.clone().unwrap().len(), 1);
    // Credentials are listed without their secrets.
    let password = &created.credentials.clone().unwrap()["password"];
    assert_eq!(
        password.identifiers,
        Some(vec!["ann@example.org".to_string()])
    );
    assert_eq!(password.config, None);

    // Get, with and without the password's config.
    let got = api::get_identity(&sdk, &created.id, None).await.unwrap();
    assert_eq!(got.id, created.id);
    assert_eq!(got.credentials.unwrap()["password"].config, None);
    let got = api::get_identity(&sdk, &created.id, Some(vec!["password".into()]))
        .await
        .unwrap();
    let config = got.credentials.unwrap()["password"].config.clone().unwrap();
    assert!(
        config["hashed_password"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$"),
        "{config}"
    );

    // PUT replaces traits, metadata and state; the password stays.
    let mut update: models::UpdateIdentityBody = from_json(json!({
        "schema_id": "default",
        "state": "inactive",
        "traits": { "email": "ann@example.org", "name": { "first": "Anne", "last": "Smith" } },
        "metadata_public": { "plan": "team" }
    }));
    update.external_id = Some("crm-1".into());
    let updated = api::update_identity(&sdk, &created.id, Some(update))
        .await
        .unwrap();
    assert_eq!(updated.state, Some(models::identity::StateEnum::Inactive));
    assert!(updated.state_changed_at.is_some());
    assert_eq!(updated.traits.clone().unwrap()["name"]["first"], "Anne");
    assert_eq!(
        updated.metadata_public,
        Some(Some(json!({ "plan": "team" })))
    );
    assert_eq!(
        updated.metadata_admin,
        Some(None),
        "PUT without it clears it"
    );
    assert!(updated.credentials.unwrap().contains_key("password"));

    // PUT with invalid traits is refused and changes nothing.
    let bad: models::UpdateIdentityBody = from_json(json!({
        "schema_id": "default", "state": "active", "traits": { "email": 42 }
    }));
    let (status, body) = sdk_error(api::update_identity(&sdk, &created.id, Some(bad)).await);
    assert_eq!(status, 400);
    assert_kratos_error(&body, 400);

    // JSON Patch.
    let patches: Vec<models::JsonPatch> = from_json(json!([
        { "op": "replace", "path": "/traits/name/first", "value": "Annie" },
        { "op": "add", "path": "/metadata_admin", "value": { "tier": 2 } },
        { "op": "replace", "path": "/state", "value": "active" }
    ]));
    let patched = api::patch_identity(&sdk, &created.id, Some(patches))
        .await
        .unwrap();
    assert_eq!(patched.traits.unwrap()["name"]["first"], "Annie");
    assert_eq!(patched.metadata_admin, Some(Some(json!({ "tier": 2 }))));
    assert_eq!(patched.state, Some(models::identity::StateEnum::Active));

    // Patching the id or a path that does not exist is refused.
    for patch in [
        json!([{ "op": "replace", "path": "/id", "value": uuid::Uuid::new_v4().to_string() }]),
        json!([{ "op": "remove", "path": "/traits/does_not_exist" }]),
    ] {
        let (status, body) =
            sdk_error(api::patch_identity(&sdk, &created.id, Some(from_json(patch.clone()))).await);
        assert_eq!(status, 400, "{patch} -> {body}");
        assert_kratos_error(&body, 400);
    }
    let after = api::get_identity(&sdk, &created.id, None).await.unwrap();
    assert_eq!(after.id, created.id);
    assert_eq!(after.traits.unwrap()["name"]["first"], "Annie");

    // Get by external id.
    let by_external = api::get_identity_by_external_id(&sdk, "crm-1", None)
        .await
        .unwrap();
    assert_eq!(by_external.id, created.id);
    let (status, body) =
        sdk_error(api::get_identity_by_external_id(&sdk, "crm-unknown", None).await);
    assert_eq!(status, 404);
    assert_kratos_error(&body, 404);

    // Delete; then it is gone everywhere.
    api::delete_identity(&sdk, &created.id).await.unwrap();
    let (status, body) = sdk_error(api::get_identity(&sdk, &created.id, None).await);
    assert_eq!(status, 404);
    assert_kratos_error(&body, 404);
    let (status, _) = sdk_error(api::delete_identity(&sdk, &created.id).await);
    assert_eq!(status, 404);
    let (status, _) = sdk_error(api::get_identity_by_external_id(&sdk, "crm-1", None).await);
    assert_eq!(status, 404);
    ts.stop().await;
}

#[tokio::test]
async fn create_validates_traits_and_refuses_duplicates() {
    let ts = TestServer::start("").await;
    let sdk = ts.admin_sdk();

    // Not an email: Kratos's 400 with the JSON Schema location in the reason.
    let (status, body) =
        sdk_error(api::create_identity(&sdk, Some(from_json(person("not-an-email")))).await);
    assert_eq!(status, 400);
    assert_kratos_error(&body, 400);
    assert_eq!(body["error"]["status"], "Bad Request");
    assert_eq!(
        body["error"]["message"],
        "The request was malformed or contained invalid parameters"
    );
    let reason = body["error"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("I[#/traits/email] S[#/properties/traits/properties/email/format]"),
        "{reason}"
    );

    // A required trait missing, and a trait the schema does not allow.
    for traits in [
        json!({}),
        json!({ "email": "x@example.org", "nickname": "x" }),
    ] {
        let (status, body) = sdk_error(
            api::create_identity(
                &sdk,
                Some(from_json(
                    json!({ "schema_id": "default", "traits": traits }),
                )),
            )
            .await,
        );
        assert_eq!(status, 400, "{body}");
        assert_kratos_error(&body, 400);
        assert!(
            body["error"]["reason"].as_str().unwrap().starts_with("I["),
            "{body}"
        );
    }

    // An unknown schema and an invalid state.
    let (status, body) = sdk_error(
        api::create_identity(
            &sdk,
            Some(from_json(
                json!({ "schema_id": "nope", "traits": { "email": "y@example.org" } }),
            )),
        )
        .await,
    );
    assert_eq!(status, 400, "{body}");
    assert_kratos_error(&body, 400);

    // Nothing was stored by the failed attempts.
    let all = list(&sdk, ListQuery::default()).await.unwrap();
    assert!(all.is_empty(), "{all:?}");

    // The same identifier twice (case-insensitively) is a 409.
    create(&ts, person("dup@example.org")).await;
    let (status, body) = sdk_error(
        api::create_identity(
            &sdk,
            Some(from_json(json!({
                "schema_id": "default",
                "traits": { "email": "DUP@example.org" },
                "credentials": { "password": { "config": { "password": "another one" } } }
            }))),
        )
        .await,
    );
    assert_eq!(status, 409, "{body}");
    assert_kratos_error(&body, 409);
    assert_eq!(
        body["error"]["reason"],
        "This identity conflicts with another identity that already exists."
    );
    // So is a taken external id.
    create(&ts, json!({ "schema_id": "default", "traits": { "email": "e1@example.org" }, "external_id": "ext" })).await;
    let (status, _) = sdk_error(
        api::create_identity(
            &sdk,
            Some(from_json(json!({ "schema_id": "default", "traits": { "email": "e2@example.org" }, "external_id": "ext" }))),
        )
        .await,
    );
    assert_eq!(status, 409);
    ts.stop().await;
}

/// The `next` target of a `Link` header, if any.
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, rel) = part.split_once(';')?;
        (rel.trim() == "rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

#[tokio::test]
async fn list_filters_and_keyset_pagination() {
    let ts = TestServer::start("").await;
    let sdk = ts.admin_sdk();
    let mut ids = Vec::new();
    for n in 0..5 {
        let i = create(&ts, person(&format!("user{n}@example.org"))).await;
        ids.push(i.id);
    }
    let mut sorted = ids.clone();
    sorted.sort();

    // Everything, ordered by id.
    let all = list(&sdk, ListQuery::default()).await.unwrap();
    assert_eq!(all.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), sorted);

    // By credentials identifier (normalised like logins are).
    let found = list(
        &sdk,
        ListQuery {
            credentials_identifier: Some("USER3@example.org"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, ids[3]);
    let none = list(
        &sdk,
        ListQuery {
            credentials_identifier: Some("nobody@example.org"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(none.is_empty());

    // By ids (the SDK repeats the parameter).
    let some = list(
        &sdk,
        ListQuery {
            ids: Some(vec![ids[1].clone(), ids[4].clone()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut want = vec![ids[1].clone(), ids[4].clone()];
    want.sort();
    assert_eq!(some.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), want);

    // Two filters at once, and a malformed id.
    let (status, body) = sdk_error(
        list(
            &sdk,
            ListQuery {
                ids: Some(vec![ids[0].clone()]),
                credentials_identifier: Some("user0@example.org"),
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(status, 400);
    assert_kratos_error(&body, 400);
    let (status, body) = sdk_error(
        list(
            &sdk,
            ListQuery {
                ids: Some(vec!["not-a-uuid".into()]),
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(status, 400);
    assert_kratos_error(&body, 400);

    // Keyset pagination: follow `rel="next"` until it disappears.
    let http = client();
    let mut seen = Vec::new();
    let mut url = format!("{}/admin/identities?page_size=2", ts.admin_url);
    let mut pages = 0;
    loop {
        let res = http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let link = res
            .headers()
            .get("link")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(link.contains("rel=\"first\""), "{link}");
        assert!(link.contains("page_size=2"), "{link}");
        let next = next_link(res.headers());
        let page: Vec<models::Identity> = res.json().await.unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.into_iter().map(|i| i.id));
        pages += 1;
        match next {
            Some(target) => url = format!("{}{target}", ts.admin_url),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, sorted);

    // The same through the SDK with a page token taken from the header.
    let res = http
        .get(format!("{}/admin/identities?page_size=3", ts.admin_url))
        .send()
        .await
        .unwrap();
    let next = next_link(res.headers()).unwrap();
    let token = url::Url::parse(&format!("{}{next}", ts.admin_url))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "page_token")
        .unwrap()
        .1
        .into_owned();
    let rest = list(
        &sdk,
        ListQuery {
            page_size: Some(3),
            page_token: Some(&token),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        rest.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        sorted[3..]
    );

    // Forged tokens and out-of-range sizes are 400s.
    for query in ["page_token=forged", "page_size=0", "page_size=abc"] {
        let res = http
            .get(format!("{}/admin/identities?{query}", ts.admin_url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{query}");
        assert_kratos_error(&res.json().await.unwrap(), 400);
    }

    // Kratos's legacy page/per_page mode (zero-based pages) still works, with a total count.
    let legacy = list(
        &sdk,
        ListQuery {
            per_page: Some(2),
            page: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        legacy.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        sorted[2..4]
    );
    let res = http
        .get(format!(
            "{}/admin/identities?page=1&per_page=2",
            ts.admin_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-total-count").unwrap(), "5");
    assert!(next_link(res.headers()).is_some());

    // `include_credential` on lists.
    let with_creds = list(
        &sdk,
        ListQuery {
            include_credential: Some(vec!["password".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(with_creds.len(), 5);
    ts.stop().await;
}

#[tokio::test]
async fn batch_create_reports_each_item() {
    let ts = TestServer::start("").await;
    let sdk = ts.admin_sdk();
    create(&ts, person("taken@example.org")).await;
    let patch_ids: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let body: models::PatchIdentitiesBody = from_json(json!({
        "identities": [
            { "patch_id": patch_ids[0], "create": person("b0@example.org") },
            { "patch_id": patch_ids[1], "create": {
                "schema_id": "default", "traits": { "email": "b1@example.org" },
                "credentials": { "password": { "config": { "hashed_password":
                    "$2a$05$Ro0CUfOqk6cXEKf3dyaM7OdrSwLG1U2chqnSzd9GvjXIGyUTIA9ui" } } } } },
            { "patch_id": patch_ids[2], "create": person("not-an-email") },
            { "patch_id": patch_ids[3], "create": person("taken@example.org") },
        ]
    }));
    let res = api::batch_patch_identities(&sdk, Some(body)).await.unwrap();
    let items = res.identities.unwrap();
    assert_eq!(items.len(), 4);
    use models::identity_patch_response::ActionEnum;
    for (item, patch_id) in items.iter().zip(&patch_ids) {
        assert_eq!(item.patch_id.as_ref(), Some(patch_id));
    }
    assert_eq!(items[0].action, Some(ActionEnum::Create));
    assert_eq!(items[1].action, Some(ActionEnum::Create));
    assert_eq!(items[2].action, Some(ActionEnum::Error));
    assert_eq!(items[3].action, Some(ActionEnum::Error));
    let invalid = items[2].error.clone().unwrap().unwrap();
    assert_eq!(invalid["code"], 400, "{invalid}");
    let conflict = items[3].error.clone().unwrap().unwrap();
    assert_eq!(conflict["code"], 409, "{conflict}");

    // The created ones exist, with their imported credentials.
    let b1 = api::get_identity(
        &sdk,
        items[1].identity.as_ref().unwrap(),
        Some(vec!["password".into()]),
    )
    .await
    .unwrap();
    assert_eq!(b1.traits.unwrap()["email"], "b1@example.org");
    assert_eq!(
        b1.credentials.unwrap()["password"].config.clone().unwrap()["hashed_password"],
        "$2a$05$Ro0CUfOqk6cXEKf3dyaM7OdrSwLG1U2chqnSzd9GvjXIGyUTIA9ui"
    );
    let all = list(&sdk, ListQuery::default()).await.unwrap();
    assert_eq!(all.len(), 3, "taken@, b0@, b1@");

    // More than 1000 items are refused as a whole.
    let many: Vec<Value> = (0..1001)
        .map(|n| json!({ "create": person(&format!("m{n}@example.org")) }))
        .collect();
    let (status, body) = sdk_error(
        api::batch_patch_identities(&sdk, Some(from_json(json!({ "identities": many })))).await,
    );
    assert_eq!(status, 400);
    assert_kratos_error(&body, 400);
    ts.stop().await;
}

#[tokio::test]
async fn delete_credentials() {
    let ts = TestServer::start("").await;
    let sdk = ts.admin_sdk();
    let both = create(
        &ts,
        json!({
            "schema_id": "default",
            "traits": { "email": "linked@example.org" },
            "credentials": {
                "password": { "config": { "password": "secret secret" } },
                "oidc": { "config": { "providers": [
                    { "provider": "github", "subject": "123" },
                    { "provider": "google", "subject": "abc" }
                ] } }
            }
        }),
    )
    .await;
    let creds = both.credentials.clone().unwrap();
    let mut oidc = creds["oidc"].identifiers.clone().unwrap();
    oidc.sort();
    assert_eq!(oidc, vec!["github:123", "google:abc"]);

    // An OIDC link needs its identifier; an unknown one is a 404.
    let (status, body) =
        sdk_error(api::delete_identity_credentials(&sdk, &both.id, "oidc", None).await);
    assert_eq!(status, 400, "{body}");
    let (status, body) = sdk_error(
        api::delete_identity_credentials(&sdk, &both.id, "oidc", Some("github:999")).await,
    );
    assert_eq!(status, 404, "{body}");
    api::delete_identity_credentials(&sdk, &both.id, "oidc", Some("github:123"))
        .await
        .unwrap();
    let got = api::get_identity(&sdk, &both.id, Some(vec!["oidc".into()]))
        .await
        .unwrap();
    let oidc = &got.credentials.unwrap()["oidc"];
    assert_eq!(oidc.identifiers, Some(vec!["google:abc".to_string()]));
    let providers = &oidc.config.as_ref().unwrap()["providers"];
    assert_eq!(providers.as_array().unwrap().len(), 1);
    assert_eq!(providers[0]["provider"], "google");

    // The password can go while the OIDC link remains a first factor.
    api::delete_identity_credentials(&sdk, &both.id, "password", None)
        .await
        .unwrap();
    let got = api::get_identity(&sdk, &both.id, Some(vec!["password".into()]))
        .await
        .unwrap();
    let password = got.credentials.unwrap().get("password").cloned();
    assert!(
        password
            .and_then(|p| p.config)
            .is_none_or(|c| c.get("hashed_password").is_none()),
        "the password hash is gone"
    );

    // The last first factor cannot be removed; unknown types and missing credentials are 404s.
    let (status, body) = sdk_error(
        api::delete_identity_credentials(&sdk, &both.id, "oidc", Some("google:abc")).await,
    );
    assert_eq!(status, 400, "{body}");
    assert_kratos_error(&body, 400);
    let (status, body) =
        sdk_error(api::delete_identity_credentials(&sdk, &both.id, "totp", None).await);
    assert_eq!(status, 404, "{body}");
    assert_kratos_error(&body, 404);
    let (status, _) =
        sdk_error(api::delete_identity_credentials(&sdk, &both.id, "no-such-type", None).await);
    assert_eq!(status, 404);
    let (status, _) = sdk_error(
        api::delete_identity_credentials(&sdk, &uuid::Uuid::new_v4().to_string(), "password", None)
            .await,
    );
    assert_eq!(status, 404);
    ts.stop().await;
}

#[tokio::test]
async fn routes_with_and_without_admin_prefix_and_public_redirect() {
    let ts = TestServer::start("").await;
    let created = create(&ts, person("route@example.org")).await;
    let http = client();

    // The admin port answers with and without the `/admin` prefix.
    for path in [
        format!("/admin/identities/{}", created.id),
        format!("/identities/{}", created.id),
    ] {
        let res = http
            .get(format!("{}{path}", ts.admin_url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let got: models::Identity = res.json().await.unwrap();
        assert_eq!(got.id, created.id);
    }
    let res = http
        .post(format!("{}/identities", ts.admin_url))
        .json(&person("route2@example.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let created2: models::Identity = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("{}/identities/{}", ts.admin_url, created2.id)
    );

    // The public port redirects identity requests to the admin API, as Kratos does.
    for path in [
        format!(
            "/admin/identities/{}?include_credential=password",
            created.id
        ),
        format!("/identities/{}?include_credential=password", created.id),
    ] {
        let res = http
            .get(format!("{}{path}", ts.public_url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 307, "{path}");
        assert_eq!(
            res.headers().get("location").unwrap().to_str().unwrap(),
            format!(
                "{}/admin/identities/{}?include_credential=password",
                ts.admin_url, created.id
            )
        );
    }
    ts.stop().await;
}

#[tokio::test]
async fn malformed_requests_are_client_errors() {
    let ts = TestServer::start("").await;
    let created = create(&ts, person("edge@example.org")).await;
    let http = client();
    let identities = format!("{}/admin/identities", ts.admin_url);
    let one = format!("{identities}/{}", created.id);

    async fn expect(res: reqwest::Response, status: u16) -> Value {
        assert_eq!(res.status().as_u16(), status);
        assert!(
            res.headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let body: Value = res.json().await.unwrap();
        assert_kratos_error(&body, status);
        body
    }

    // Malformed JSON and unknown fields on create.
    for body in [
        r#"{"schema_id":"default","traits":"#,
        "[]",
        r#"{"traits":{},"nope":1}"#,
    ] {
        let res = http
            .post(&identities)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let err = expect(res, 400).await;
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Unable to decode JSON payload"),
            "{err}"
        );
    }
    // Kratos decodes create bodies as JSON whatever the content type: a form body is a 400.
    let res = http
        .post(&identities)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("schema_id=default&traits.email=x%40example.org")
        .send()
        .await
        .unwrap();
    expect(res, 400).await;
    // ... and a JSON body is accepted whatever its content type says, as by Kratos.
    let res = http
        .post(&identities)
        .header("content-type", "text/plain")
        .body(person("plain@example.org").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // PUT accepts only application/json, and not an empty body.
    let res = http
        .put(&one)
        .header("content-type", "text/plain")
        .body(r#"{"schema_id":"default","traits":{"email":"edge@example.org"}}"#)
        .send()
        .await
        .unwrap();
    let err = expect(res, 400).await;
    assert!(
        err["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("Content-Type"),
        "{err}"
    );
    let res = http
        .put(&one)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    expect(res, 400).await;
    let res = http
        .put(&one)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    expect(res, 400).await;
    // Malformed JSON Patch documents.
    for body in ["{}", "not json", r#"[{"op":"explode","path":"/traits"}]"#] {
        let res = http
            .patch(&one)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        expect(res, 400).await;
    }
    // Malformed batch bodies.
    let res = http
        .patch(&identities)
        .header("content-type", "application/json")
        .body(r#"{"identities":[{"create":{"traits":{}, "bogus": true}}]}"#)
        .send()
        .await
        .unwrap();
    expect(res, 400).await;

    // Ids that are not UUIDs are a client error (400), not an unknown identity.
    for (method, path) in [
        (reqwest::Method::GET, "/admin/identities/not-a-uuid"),
        (reqwest::Method::DELETE, "/admin/identities/not-a-uuid"),
        (reqwest::Method::PATCH, "/admin/identities/not-a-uuid"),
        (
            reqwest::Method::DELETE,
            "/admin/identities/not-a-uuid/credentials/password",
        ),
    ] {
        let res = http
            .request(method.clone(), format!("{}{path}", ts.admin_url))
            .header("content-type", "application/json")
            .body("[]")
            .send()
            .await
            .unwrap();
        let err = expect(res, 400).await;
        assert_eq!(err["error"]["status"], "Bad Request", "{method} {path}");
    }
    let res = http
        .put(format!("{}/admin/identities/not-a-uuid", ts.admin_url))
        .json(&person("edge@example.org"))
        .send()
        .await
        .unwrap();
    expect(res, 400).await;
    // A bad `include_credential` value.
    let res = http
        .get(format!("{one}?include_credential=nonsense"))
        .send()
        .await
        .unwrap();
    expect(res, 400).await;

    // Oversized bodies are refused before they are read in full (the admin limit is 32 MiB).
    let huge = format!(
        r#"{{"schema_id":"default","traits":{{"email":"big@example.org","pad":"{}"}}}}"#,
        "x".repeat(33 << 20)
    );
    let res = http
        .post(&identities)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    expect(res, 413).await;
    let res = http
        .post(format!("{}/admin/identities", ts.public_url))
        .header("content-type", "application/json")
        .body(format!(r#"{{"pad":"{}"}}"#, "x".repeat(2 << 20)))
        .send()
        .await
        .unwrap();
    expect(res, 413).await;

    // Nothing above changed the identity.
    let after = api::get_identity(&ts.admin_sdk(), &created.id, None)
        .await
        .unwrap();
    assert_eq!(after.traits, created.traits);
    ts.stop().await;
}
