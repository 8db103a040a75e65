//! Login in its API, browser and SPA variants: credentials, refresh, session_already_available,
//! return_to, expiry, and the account-enumeration rule.

use ory_kratos_client::apis::frontend_api;
use ory_kratos_client::models;
use serde_json::{Value, json};

use crate::flowkit::*;

async fn native_login_flow(ts: &crate::harness::TestServer) -> Value {
    api_init(ts, "login", "", None).await
}

#[tokio::test]
async fn api_login_returns_a_session_token() {
    let ts = server("").await;
    let email = unique_email("api-login");
    let identity_id = create_identity(&ts, &email, PASSWORD).await;
    let sdk = ts.public_sdk();
    let flow = native_login_flow(&ts).await;
    assert_eq!(flow["type"], "api");
    assert_eq!(flow["refresh"], false);
    assert_eq!(flow["requested_aal"], "aal1");
    let v = flow.clone();
    assert!(node(&v, "identifier").is_some() && node(&v, "password").is_some());
    let (status, fetched) = api_fetch(&ts, "login", &fid(&flow), None).await;
    assert_eq!(status, 200);
    assert_eq!(fid(&fetched), fid(&flow));

    // Identifiers are matched case-insensitively and trimmed.
    let ok = frontend_api::update_login_flow(
        &sdk,
        &fid(&flow),
        password_login(&format!("  {}", email.to_uppercase()), PASSWORD, None),
        None,
        None,
    )
    .await
    .unwrap();
    let token = ok.session_token.unwrap();
    assert!(token.starts_with("ory_st_"));
    assert_eq!(ok.session.identity.as_ref().unwrap().id, identity_id);
    assert_eq!(
        ok.session.authenticator_assurance_level,
        Some(models::AuthenticatorAssuranceLevel::Aal1)
    );
    let methods = ok.session.authentication_methods.clone().unwrap();
    assert_eq!(methods.len(), 1);
    assert_eq!(
        serde_json::to_value(&methods[0]).unwrap()["method"],
        "password"
    );
    // The flow's completion is stored with the session.
    let (status, done) = api_fetch(&ts, "login", &fid(&flow), None).await;
    assert_eq!(status, 200);
    assert_eq!(done["state"], "passed_challenge", "{done}");

    // A finished flow cannot be replayed... but a session token holder asking for a new login
    // flow gets session_already_available.
    let err = frontend_api::create_native_login_flow(
        &sdk,
        None,
        None,
        Some(&token),
        None,
        None,
        None,
        None,
        None,
    )
    .await
    .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], "session_already_available");

    // refresh=true with the token: a refresh flow for the same identity, which upgrades the session.
    let flow = api_init(&ts, "login", "refresh=true", Some(&token)).await;
    assert_eq!(flow["refresh"], true);
    let v = flow.clone();
    assert_eq!(
        node(&v, "identifier").unwrap()["attributes"]["value"],
        email.as_str()
    );
    assert!(message_ids(&v).contains(&1010003), "{v}");
    let refreshed = frontend_api::update_login_flow(
        &sdk,
        &fid(&flow),
        password_login(&email, PASSWORD, None),
        Some(&token),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        refreshed.session.id, ok.session.id,
        "refresh keeps the session"
    );
    assert!(refreshed.session.authenticated_at >= ok.session.authenticated_at);
    let (_, done) = api_fetch(&ts, "login", &fid(&flow), None).await;
    assert_eq!(done["state"], "passed_challenge", "{done}");
    ts.stop().await;
}

#[tokio::test]
async fn login_validation_messages() {
    let ts = server("").await;
    let email = unique_email("validation");
    create_identity(&ts, &email, PASSWORD).await;
    let flow = native_login_flow(&ts).await;
    let url = format!("{}/self-service/login?flow={}", ts.public_url, fid(&flow));
    let http = crate::harness::client();

    let res = http
        .post(&url)
        .json(&json!({ "method": "password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    let _: models::LoginFlow = check_flow(&v);
    assert_eq!(node_message_ids(&v, "identifier"), vec![4000002], "{v}");
    assert_eq!(node_message_ids(&v, "password"), vec![4000002], "{v}");

    let res = http.post(&url).json(&json!({ "method": "password", "identifier": email, "password": "wrong-password-1234" })).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let v: Value = res.json().await.unwrap();
    assert_eq!(message_ids(&v), vec![4000006], "{v}");
    assert_eq!(
        node(&v, "identifier").unwrap()["attributes"]["value"],
        email.as_str(),
        "the identifier is kept"
    );
    // ...as typed, not normalised.
    let typed = format!(" {}", email.to_uppercase());
    let res = http
        .post(&url)
        .json(&json!({ "method": "password", "identifier": typed, "password": "wrong-password-1234" }))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        node(&v, "identifier").unwrap()["attributes"]["value"],
        typed.as_str()
    );
    assert!(
        node(&v, "password").unwrap()["attributes"]["value"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );

    // Form-encoded submissions work the same.
    let res = http
        .post(&url)
        .form(&[
            ("method", "password"),
            ("identifier", email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ok: models::SuccessfulNativeLogin = res.json().await.unwrap();
    assert!(ok.session_token.is_some());
    ts.stop().await;
}

/// A wrong identifier and a wrong password: same status, same message, one hash verification each.
#[tokio::test]
async fn wrong_identifier_and_wrong_password_are_indistinguishable() {
    let ts = server("").await;
    let email = unique_email("enum");
    create_identity(&ts, &email, PASSWORD).await;
    let http = crate::harness::client();
    let mut answers = Vec::new();
    for (identifier, password) in [
        (email.as_str(), "wrong-password-1234"),
        ("nobody@example.org", "wrong-password-1234"),
        ("nobody@example.org", PASSWORD),
    ] {
        let flow = native_login_flow(&ts).await;
        let before = ts.app.hasher.stats().completed;
        let res = http
            .post(format!(
                "{}/self-service/login?flow={}",
                ts.public_url,
                fid(&flow)
            ))
            .json(&json!({ "method": "password", "identifier": identifier, "password": password }))
            .send()
            .await
            .unwrap();
        let verifications = ts.app.hasher.stats().completed - before;
        let status = res.status().as_u16();
        let v: Value = res.json().await.unwrap();
        assert_eq!(
            verifications, 1,
            "exactly one password verification for {identifier}"
        );
        answers.push((status, v["ui"]["messages"].clone(), message_ids(&v)));
    }
    assert_eq!(answers[0].0, 400);
    assert_eq!(answers[0].2, vec![4000006]);
    assert_eq!(
        answers[0], answers[1],
        "unknown identifier answers like a wrong password"
    );
    assert_eq!(answers[1], answers[2]);
    ts.stop().await;
}

#[tokio::test]
async fn browser_login_redirects_and_detects_existing_sessions() {
    let ts = server("").await;
    let email = unique_email("browser-login");
    create_identity(&ts, &email, PASSWORD).await;
    let b = Browser::new(&ts);

    // Wrong password: back to the UI with the same flow and 4000006.
    let flow = b.open("login").await;
    let id = fid(&flow);
    let _: models::LoginFlow = check_flow(&flow);
    let res = b
        .submit(
            &flow,
            &[
                ("identifier", &email),
                ("password", "nope-nope-nope"),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("http://ui.test/login?flow={id}"));
    assert_eq!(message_ids(&b.flow("login", &id).await), vec![4000006]);
    assert!(!b.has_cookie("ory_kratos_session"));

    let res = b
        .submit(
            &flow,
            &[
                ("identifier", &email),
                ("password", PASSWORD),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "http://ui.test/");
    assert!(b.has_cookie("ory_kratos_session"));
    let session = frontend_api::to_session(&b.spa_sdk(), None, None, None)
        .await
        .unwrap();

    // Logged in: browser init redirects to the return URL, SPAs get session_already_available.
    let res = b
        .get(&format!("{}/self-service/login/browser", ts.public_url))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "http://ui.test/");
    let err = frontend_api::create_browser_login_flow(
        &b.spa_sdk(),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    )
    .await
    .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], "session_already_available");

    // refresh=true re-authenticates the same session.
    let id = b
        .init(
            "/self-service/login/browser?refresh=true",
            "http://ui.test/login?flow=",
        )
        .await;
    let flow = b.flow("login", &id).await;
    assert_eq!(flow["refresh"], true);
    assert!(message_ids(&flow).contains(&1010003));
    let res = b
        .submit(
            &flow,
            &[
                ("identifier", &email),
                ("password", PASSWORD),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    let refreshed = frontend_api::to_session(&b.spa_sdk(), None, None, None)
        .await
        .unwrap();
    assert_eq!(refreshed.id, session.id);
    assert!(refreshed.authenticated_at > session.authenticated_at);
    ts.stop().await;
}

#[tokio::test]
async fn spa_login_with_the_sdk() {
    let ts = server("").await;
    let email = unique_email("spa-login");
    create_identity(&ts, &email, PASSWORD).await;
    let b = Browser::new(&ts);
    let spa = b.spa_sdk();
    let (status, flow) = b
        .spa_init("login", "return_to=http://ui.test/dashboard")
        .await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(flow["type"], "browser");
    let csrf = csrf_of(&flow);
    let fetched = b.flow("login", &fid(&flow)).await;
    assert_eq!(fetched["return_to"], "http://ui.test/dashboard");

    let err = frontend_api::update_login_flow(
        &spa,
        &fid(&flow),
        password_login(&email, "wrong-password-xyz", Some(csrf.clone())),
        None,
        None,
    )
    .await
    .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 400);
    assert_eq!(message_ids(&body), vec![4000006]);

    let body = serde_json::to_value(password_login(&email, PASSWORD, Some(csrf))).unwrap();
    let (status, raw) = b.spa_submit("login", &fid(&flow), body).await;
    assert_eq!(status, 200, "{raw}");
    let ok: models::SuccessfulNativeLogin = check_success(&raw);
    assert!(ok.session_token.is_none());
    let continue_with = raw["continue_with"].clone();
    assert!(
        continue_with
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["redirect_browser_to"] == "http://ui.test/dashboard"),
        "{continue_with}"
    );
    assert!(b.has_cookie("ory_kratos_session"));
    ts.stop().await;
}

#[tokio::test]
async fn return_to_must_be_allowed() {
    let ts = server("").await;
    let email = unique_email("return-to");
    create_identity(&ts, &email, PASSWORD).await;

    // Allowed: kept on the flow and followed after login.
    let b = Browser::new(&ts);
    let id = b
        .init(
            "/self-service/login/browser?return_to=http://ui.test/after",
            "http://ui.test/login?flow=",
        )
        .await;
    let flow = b.flow("login", &id).await;
    assert_eq!(flow["return_to"], "http://ui.test/after");
    let res = b
        .submit(
            &flow,
            &[
                ("identifier", &email),
                ("password", PASSWORD),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(location(&res), "http://ui.test/after");

    // Not allowed: JSON clients get a 400, browsers the error UI.
    let sdk = ts.public_sdk();
    let err = frontend_api::create_native_login_flow(
        &sdk,
        None,
        None,
        None,
        None,
        Some("https://evil.test/steal"),
        None,
        None,
        None,
    )
    .await
    .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["id"], "self_service_flow_return_to_forbidden",
        "{body}"
    );

    let b = Browser::new(&ts);
    let res = b
        .get(&format!(
            "{}/self-service/login/browser?return_to=https://evil.test/steal",
            ts.public_url
        ))
        .await;
    assert_eq!(res.status(), 303);
    let loc = location(&res);
    assert!(loc.starts_with("http://ui.test/error?id="), "{loc}");
    let error = frontend_api::get_flow_error(&sdk, &query_param(&loc, "id").unwrap())
        .await
        .unwrap();
    assert_eq!(
        error.error.unwrap()["id"],
        "self_service_flow_return_to_forbidden"
    );

    // A different host that merely starts like an allowed one is rejected too.
    let err = frontend_api::create_native_registration_flow(
        &sdk,
        None,
        Some("http://ui.test.evil.test/"),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 400);
    ts.stop().await;
}

#[tokio::test]
async fn expired_flows_are_replaced() {
    let ts = server(
        "selfservice: { flows: { login: { lifespan: 1s }, registration: { lifespan: 1s } } }",
    )
    .await;
    let email = unique_email("expired");
    create_identity(&ts, &email, PASSWORD).await;
    let sdk = ts.public_sdk();
    let api_flow = native_login_flow(&ts).await;
    let b = Browser::new(&ts);
    let browser_flow = b.open("login").await;
    let browser_id = fid(&browser_flow);
    let reg_flow = api_init(&ts, "registration", "", None).await;
    let (status, spa_flow) = b.spa_init("login", "").await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    // SPA: 410 with use_flow_id, like API clients.
    let (status, body) = b
        .spa_submit(
            "login",
            &fid(&spa_flow),
            json!({ "method": "password", "identifier": email, "password": PASSWORD, "csrf_token": csrf_of(&spa_flow) }),
        )
        .await;
    assert_eq!(status, 410, "{body}");
    let replacement = b.flow("login", body["use_flow_id"].as_str().unwrap()).await;
    assert_eq!(replacement["type"], "browser");
    assert_eq!(message_ids(&replacement), vec![4010001]);

    // API: 410 with use_flow_id, and the new flow says why.
    let err = frontend_api::update_login_flow(
        &sdk,
        &fid(&api_flow),
        password_login(&email, PASSWORD, None),
        None,
        None,
    )
    .await
    .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"]["id"], "self_service_flow_expired");
    let new_id = body["use_flow_id"]
        .as_str()
        .unwrap_or_else(|| panic!("use_flow_id in {body}"));
    assert_ne!(new_id, fid(&api_flow));
    let (status, replacement) = api_fetch(&ts, "login", new_id, None).await;
    assert_eq!(status, 200);
    assert_eq!(message_ids(&replacement), vec![4010001]);
    assert_eq!(replacement["type"], "api");

    // Fetching the expired flow is a 410 too.
    let err = frontend_api::get_login_flow(&sdk, &fid(&api_flow), None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 410);

    // Registration: same rule, message 4040001.
    let body = models::UpdateRegistrationFlowBody::Password(Box::new(
        models::UpdateRegistrationFlowWithPasswordMethod::new(
            "password".into(),
            PASSWORD.into(),
            json!({ "email": unique_email("late") }),
        ),
    ));
    let err = frontend_api::update_registration_flow(&sdk, &fid(&reg_flow), body, None)
        .await
        .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 410);
    let (status, new_reg) = api_fetch(
        &ts,
        "registration",
        body["use_flow_id"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(message_ids(&new_reg), vec![4040001]);

    // Browser: redirected to the UI with a new flow.
    let res = b
        .submit(
            &browser_flow,
            &[
                ("identifier", &email),
                ("password", PASSWORD),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let loc = location(&res);
    let new_browser_id = query_param(&loc, "flow").unwrap();
    assert!(loc.starts_with("http://ui.test/login?flow="));
    assert_ne!(new_browser_id, browser_id);
    let new_flow = b.flow("login", &new_browser_id).await;
    assert_eq!(message_ids(&new_flow), vec![4010001]);
    assert!(!b.has_cookie("ory_kratos_session"));
    ts.stop().await;
}

/// Browser inits answer JSON only when the client prefers it: `*/*` (what plain HTTP clients and
/// generated SDKs send) still gets the redirect; axios's default header gets JSON.
#[tokio::test]
async fn browser_init_content_negotiation() {
    let ts = server("").await;
    let b = Browser::new(&ts);
    let url = format!("{}/self-service/login/browser", ts.public_url);
    for (accept, json) in [
        ("*/*", false),
        (
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            false,
        ),
        ("application/json, text/plain, */*", true),
        ("application/json", true),
    ] {
        let res = b
            .http
            .get(&url)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        if json {
            assert_eq!(res.status(), 200, "{accept}");
            let v: Value = res.json().await.unwrap();
            check_flow_kind("login", &v);
        } else {
            assert_eq!(res.status(), 303, "{accept}");
            assert!(location(&res).starts_with("http://ui.test/login?flow="));
        }
    }
    ts.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_flow_ids() {
    let ts = server("").await;
    let login = api_init(&ts, "login", "", None).await;
    // A login flow is not a registration flow.
    let (status, body) = api_fetch(&ts, "registration", &fid(&login), None).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = api_fetch(&ts, "login", &uuid::Uuid::new_v4().to_string(), None).await;
    assert_eq!(status, 404);
    let (status, _) = api_fetch(&ts, "login", "not-a-uuid", None).await;
    assert_eq!(status, 400);
    let (status, _) = api_submit(
        &ts,
        "login",
        &uuid::Uuid::new_v4().to_string(),
        json!({ "method": "password" }),
        None,
    )
    .await;
    assert_eq!(status, 404);
    ts.stop().await;
}

#[tokio::test]
async fn disabled_identities_cannot_log_in() {
    let ts = server("").await;
    let email = unique_email("disabled");
    let reg = register_api(&ts, &email, PASSWORD).await;
    let id = reg.identity.id.clone();
    let token = reg.session_token.unwrap();
    let res = crate::harness::client()
        .patch(format!("{}/admin/identities/{id}", ts.admin_url))
        .json(&json!([{ "op": "replace", "path": "/state", "value": "inactive" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let flow = api_init(&ts, "login", "", None).await;
    let (status, body) = api_submit(
        &ts,
        "login",
        &fid(&flow),
        json!({ "method": "password", "identifier": email, "password": PASSWORD }),
        None,
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["reason"], "This account was disabled.");
    assert_eq!(body["error"]["details"]["identity_id"], id.as_str());
    // Sessions of a disabled identity stop working.
    let err = frontend_api::to_session(&ts.public_sdk(), Some(&token), None, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 401);
    ts.stop().await;
}
