//! Registration in its API, browser and SPA variants, profile-first and unified styles, with
//! Kratos's validation message ids.

use ory_kratos_client::apis::frontend_api;
use ory_kratos_client::models;
use serde_json::{Value, json};

use crate::flowkit::*;

fn password_body(
    email: &str,
    password: &str,
    csrf: Option<String>,
) -> models::UpdateRegistrationFlowBody {
    let mut m = models::UpdateRegistrationFlowWithPasswordMethod::new(
        "password".into(),
        password.into(),
        json!({ "email": email }),
    );
    m.csrf_token = csrf;
    models::UpdateRegistrationFlowBody::Password(Box::new(m))
}

/// A successful API registration submission: the SDK-typed answer and the raw JSON.
async fn registration_ok(
    ts: &crate::harness::TestServer,
    id: &str,
    body: models::UpdateRegistrationFlowBody,
) -> (models::SuccessfulNativeRegistration, Value) {
    let (status, v) = api_submit(
        ts,
        "registration",
        id,
        serde_json::to_value(body).unwrap(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    (check_success(&v), v)
}

#[tokio::test]
async fn api_registration_issues_a_session_token() {
    let ts = server("").await;
    let sdk = ts.public_sdk();
    let flow = api_init(&ts, "registration", "", None).await;
    assert_eq!(flow["type"], "api");
    assert_eq!(flow["ui"]["method"], "POST");
    assert!(
        flow["ui"]["action"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/self-service/registration?flow={}", fid(&flow)))
    );
    let flow_json = flow.clone();
    assert!(
        node(&flow_json, "csrf_token").is_none(),
        "API flows carry no CSRF token"
    );
    assert!(node(&flow_json, "traits.email").is_some());

    // The flow can be fetched again by id.
    let (status, fetched) = api_fetch(&ts, "registration", &fid(&flow), None).await;
    assert_eq!(status, 200);
    assert_eq!(fid(&fetched), fid(&flow));

    let email = unique_email("api-reg");
    let (ok, ok_raw) =
        registration_ok(&ts, &fid(&flow), password_body(&email, PASSWORD, None)).await;
    let token = ok
        .session_token
        .clone()
        .expect("session hook issues a token");
    assert!(token.starts_with("ory_st_"), "{token}");
    let session = ok.session.clone().expect("session");
    assert_eq!(
        session.identity.as_ref().unwrap().traits,
        Some(json!({ "email": email }))
    );
    let continue_with = ok_raw["continue_with"].clone();
    assert!(
        continue_with
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["action"] == "set_ory_session_token"
                && c["ory_session_token"] == token.as_str()),
        "{continue_with}"
    );
    let whoami = frontend_api::to_session(&sdk, Some(&token), None, None)
        .await
        .unwrap();
    assert_eq!(whoami.id, session.id);
    assert_eq!(whoami.identity.unwrap().id, ok.identity.id);

    // The same identifier cannot register twice; the form says so.
    let flow = api_init(&ts, "registration", "", None).await;
    let err = frontend_api::update_registration_flow(
        &sdk,
        &fid(&flow),
        password_body(&email, PASSWORD, None),
        None,
    )
    .await
    .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 400);
    let ids = message_ids(&body);
    assert!(
        ids.contains(&4000007) || ids.contains(&4000028),
        "duplicate identifier message expected, got {ids:?}"
    );
    // The already-registered flow keeps the submitted traits.
    assert_eq!(
        node(&body, "traits.email").unwrap()["attributes"]["value"],
        email.as_str()
    );
    ts.stop().await;
}

#[tokio::test]
async fn api_registration_validation_messages() {
    let ts = server("").await;
    let http = crate::harness::client();
    let flow = api_init(&ts, "registration", "", None).await;
    let url = format!(
        "{}/self-service/registration?flow={}",
        ts.public_url,
        fid(&flow)
    );
    let post = |body: Value| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let res = http.post(&url).json(&body).send().await.unwrap();
            let status = res.status().as_u16();
            let v: Value = res.json().await.unwrap();
            // Every error answer is still a registration flow the SDK understands.
            if status == 400 {
                let _: models::RegistrationFlow = check_flow(&v);
            }
            (status, v)
        }
    };

    // Missing trait: 4000002 on traits.email.
    let (status, v) =
        post(json!({ "method": "password", "password": PASSWORD, "traits": {} })).await;
    assert_eq!(status, 400);
    assert_eq!(node_message_ids(&v, "traits.email"), vec![4000002], "{v}");

    // Missing password: 4000002 on password.
    let (status, v) =
        post(json!({ "method": "password", "traits": { "email": "x@example.org" } })).await;
    assert_eq!(status, 400);
    assert_eq!(node_message_ids(&v, "password"), vec![4000002], "{v}");

    // Too short: 4000032 (minimum length 8 by default).
    let (status, v) = post(json!({ "method": "password", "password": "short", "traits": { "email": "x@example.org" } })).await;
    assert_eq!(status, 400);
    assert_eq!(node_message_ids(&v, "password"), vec![4000032], "{v}");
    let msg = &node(&v, "password").unwrap()["messages"][0];
    assert_eq!(msg["context"]["min_length"], 8);
    assert_eq!(msg["context"]["actual_length"], 5);
    assert!(
        node(&v, "password").unwrap()["attributes"]["value"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "passwords are never echoed"
    );

    // Too similar to the identifier: 4000031.
    let (status, v) = post(json!({ "method": "password", "password": "similar@example.org1", "traits": { "email": "similar@example.org" } })).await;
    assert_eq!(status, 400);
    assert_eq!(node_message_ids(&v, "password"), vec![4000031], "{v}");

    // Invalid email format is a trait validation message (4000001 family), not a crash.
    let (status, v) = post(json!({ "method": "password", "password": PASSWORD, "traits": { "email": "not-an-email" } })).await;
    assert_eq!(status, 400);
    assert!(!node_message_ids(&v, "traits.email").is_empty(), "{v}");

    // Unknown method: no strategy found.
    let (status, v) =
        post(json!({ "method": "carrier-pigeon", "traits": { "email": "x@example.org" } })).await;
    assert_eq!(status, 400);
    assert!(!message_ids(&v).is_empty(), "{v}");

    // After all that, a valid submission still succeeds on the same flow.
    let (status, v) = post(json!({ "method": "password", "password": PASSWORD, "traits": { "email": unique_email("valid") } })).await;
    assert_eq!(status, 200, "{v}");
    ts.stop().await;
}

#[tokio::test]
async fn profile_first_registration_takes_two_steps() {
    let ts = server("").await;
    let sdk = ts.public_sdk();
    let flow = api_init(&ts, "registration", "", None).await;
    let v = flow.clone();
    assert!(
        node(&v, "password").is_none(),
        "profile first: no password field yet"
    );
    assert_eq!(
        node(&v, "method").unwrap()["attributes"]["value"],
        "profile"
    );

    let email = unique_email("two-step");
    let body = models::UpdateRegistrationFlowBody::Profile(Box::new(
        models::UpdateRegistrationFlowWithProfileMethod::new(
            "profile".into(),
            json!({ "email": email }),
        ),
    ));
    let err = frontend_api::update_registration_flow(&sdk, &fid(&flow), body, None)
        .await
        .unwrap_err();
    let (status, step2) = sdk_error_body(err);
    assert_eq!(
        status, 400,
        "an intermediate step answers 400 with the flow"
    );
    let _: models::RegistrationFlow = check_flow(&step2);
    assert!(node(&step2, "password").is_some(), "{step2}");
    assert_eq!(
        node(&step2, "traits.email").unwrap()["attributes"]["type"],
        "hidden"
    );
    assert_eq!(
        node(&step2, "traits.email").unwrap()["attributes"]["value"],
        email.as_str()
    );
    assert!(
        message_ids(&step2).contains(&1040009),
        "choose a credential: {step2}"
    );

    let (ok, _) = registration_ok(&ts, &fid(&flow), password_body(&email, PASSWORD, None)).await;
    assert!(ok.session_token.is_some());
    ts.stop().await;
}

#[tokio::test]
async fn unified_registration_shows_one_form() {
    let ts = server("selfservice: { flows: { registration: { style: unified } } }").await;
    let flow = api_init(&ts, "registration", "", None).await;
    let v = flow.clone();
    assert!(node(&v, "password").is_some());
    assert!(node(&v, "traits.email").is_some());
    let (ok, _) = registration_ok(
        &ts,
        &fid(&flow),
        password_body(&unique_email("unified"), PASSWORD, None),
    )
    .await;
    assert!(ok.session.is_some());
    ts.stop().await;
}

#[tokio::test]
async fn browser_registration_redirects_and_sets_cookies() {
    let ts = server("").await;
    let b = Browser::new(&ts);
    let id = b
        .init(
            "/self-service/registration/browser",
            "http://ui.test/registration?flow=",
        )
        .await;
    let csrf_cookie = kratos::selfservice::flow::csrf::cookie_name(&ts.app);
    assert!(b.has_cookie(&csrf_cookie), "the CSRF cookie is set on init");

    let flow = b.flow("registration", &id).await;
    assert_eq!(flow["type"], "browser");
    let _: models::RegistrationFlow = check_flow(&flow);

    // A validation error sends the browser back to the UI with the same flow, now with messages.
    let email = unique_email("browser-reg");
    let res = b
        .submit(
            &flow,
            &[
                ("traits.email", &email),
                ("password", "short"),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        location(&res),
        format!("http://ui.test/registration?flow={id}")
    );
    let flow = b.flow("registration", &id).await;
    assert_eq!(node_message_ids(&flow, "password"), vec![4000032]);
    assert_eq!(
        node(&flow, "traits.email").unwrap()["attributes"]["value"],
        email.as_str()
    );

    // Success: the session cookie is set and the browser goes to the default return URL.
    let res = b
        .submit(
            &flow,
            &[
                ("traits.email", &email),
                ("password", PASSWORD),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "http://ui.test/");
    assert!(b.has_cookie("ory_kratos_session"));
    let whoami = frontend_api::to_session(&ts.public_sdk(), None, Some(&b.cookie_header()), None)
        .await
        .unwrap();
    assert_eq!(
        whoami.identity.unwrap().traits,
        Some(json!({ "email": email }))
    );

    // With a session, registration init goes straight to the return URL.
    let res = b
        .get(&format!(
            "{}/self-service/registration/browser",
            ts.public_url
        ))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "http://ui.test/");
    ts.stop().await;
}

#[tokio::test]
async fn spa_registration_answers_json_with_cookies() {
    let ts = server("").await;
    let b = Browser::new(&ts);
    let spa = b.spa_sdk();
    let (status, flow) = b
        .spa_init("registration", "return_to=http://ui.test/welcome")
        .await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(flow["type"], "browser");
    assert_eq!(flow["return_to"], "http://ui.test/welcome");
    let csrf = csrf_of(&flow);
    // The flow can be fetched with the browser's cookies.
    let fetched = b.flow("registration", &fid(&flow)).await;
    assert_eq!(fid(&fetched), fid(&flow));

    let email = unique_email("spa-reg");
    let (status, ok_raw) = b
        .spa_submit(
            "registration",
            &fid(&flow),
            serde_json::to_value(password_body(&email, PASSWORD, Some(csrf))).unwrap(),
        )
        .await;
    assert_eq!(status, 200, "{ok_raw}");
    let ok: models::SuccessfulNativeRegistration = check_success(&ok_raw);
    assert!(
        ok.session_token.is_none(),
        "browsers get a cookie, not a token"
    );
    assert!(ok.session.is_some());
    let continue_with = ok_raw["continue_with"].clone();
    assert!(
        continue_with
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["action"] == "redirect_browser_to"
                && c["redirect_browser_to"] == "http://ui.test/welcome"),
        "{continue_with}"
    );
    assert!(b.has_cookie("ory_kratos_session"));
    let whoami = frontend_api::to_session(&spa, None, None, None)
        .await
        .unwrap();
    assert_eq!(whoami.identity.unwrap().id, ok.identity.id);

    // With a session, SPAs get session_already_available.
    let err = frontend_api::create_browser_registration_flow(&spa, None, None, None, None, None)
        .await
        .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], "session_already_available");
    ts.stop().await;
}

#[tokio::test]
async fn registration_can_be_disabled() {
    let ts = server("selfservice: { flows: { registration: { enabled: false } } }").await;
    let err =
        frontend_api::create_native_registration_flow(&ts.public_sdk(), None, None, None, None)
            .await
            .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], "self_service_flow_disabled");
    ts.stop().await;
}

const CUSTOMER_SCHEMA: &str = r#"{
  "$id": "https://schemas.kratos-rs.test/customer.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string", "format": "email", "title": "E-Mail",
          "ory.sh/kratos": { "credentials": { "password": { "identifier": true } } }
        },
        "company": { "type": "string", "title": "Company" }
      },
      "required": ["email", "company"]
    }
  }
}"#;

#[tokio::test]
async fn registration_with_a_selectable_identity_schema() {
    let default = crate::harness::base64_encode(crate::harness::DEFAULT_SCHEMA);
    let customer = crate::harness::base64_encode(CUSTOMER_SCHEMA);
    let ts = server(&format!(
        r#"identity:
  schemas:
    - {{ id: default, url: "base64://{default}" }}
    - {{ id: customer, url: "base64://{customer}", selfservice_selectable: true }}
    - {{ id: internal, url: "base64://{customer}" }}
"#
    ))
    .await;
    let flow = api_init(&ts, "registration", "identity_schema=customer", None).await;
    assert_eq!(flow["identity_schema"], "customer");
    assert!(node(&flow, "traits.company").is_some(), "{flow}");

    // The schema's own rules apply: company is required.
    let (status, v) = api_submit(
        &ts,
        "registration",
        &fid(&flow),
        json!({ "method": "password", "password": PASSWORD, "traits": { "email": unique_email("customer") } }),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(node_message_ids(&v, "traits.company"), vec![4000002], "{v}");
    let (ok, _) = registration_ok(
        &ts,
        &fid(&flow),
        models::UpdateRegistrationFlowBody::Password(Box::new(
            models::UpdateRegistrationFlowWithPasswordMethod::new(
                "password".into(),
                PASSWORD.into(),
                json!({ "email": unique_email("customer"), "company": "Acme" }),
            ),
        )),
    )
    .await;
    assert_eq!(ok.identity.schema_id, "customer");

    // Schemas that are not selectable, or unknown, are refused.
    for schema in ["internal", "does-not-exist"] {
        let res = crate::harness::client()
            .get(format!(
                "{}/self-service/registration/api?identity_schema={schema}",
                ts.public_url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{schema}: {:?}", res.text().await);
    }
    ts.stop().await;
}
