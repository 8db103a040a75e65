//! Settings: profile and password changes in the API, browser and SPA variants, and the
//! privileged-session rule.

use ory_kratos_client::apis::frontend_api;
use ory_kratos_client::models;
use serde_json::{Value, json};

use crate::flowkit::*;

fn profile_body(traits: Value, csrf: Option<String>) -> models::UpdateSettingsFlowBody {
    let mut m = models::UpdateSettingsFlowWithProfileMethod::new("profile".into(), traits);
    m.csrf_token = csrf;
    models::UpdateSettingsFlowBody::Profile(Box::new(m))
}

fn password_body(password: &str, csrf: Option<String>) -> models::UpdateSettingsFlowBody {
    let mut m =
        models::UpdateSettingsFlowWithPasswordMethod::new("password".into(), password.into());
    m.csrf_token = csrf;
    models::UpdateSettingsFlowBody::Password(Box::new(m))
}

/// A successful API settings submission (the SDK's body, sent as JSON); the flow, checked against
/// the SDK's model.
async fn settings_ok(
    ts: &crate::harness::TestServer,
    id: &str,
    body: models::UpdateSettingsFlowBody,
    token: &str,
) -> Value {
    let (status, v) = api_submit(
        ts,
        "settings",
        id,
        serde_json::to_value(body).unwrap(),
        Some(token),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    check_flow_kind("settings", &v);
    v
}

#[tokio::test]
async fn api_settings_change_profile_and_password() {
    let ts = server("").await;
    let sdk = ts.public_sdk();
    let email = unique_email("settings");
    let reg = register_api(&ts, &email, PASSWORD).await;
    let token = reg.session_token.unwrap();

    // Without a session: 401.
    let err = frontend_api::create_native_settings_flow(&sdk, None)
        .await
        .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 401);
    assert_eq!(body["error"]["id"], "session_inactive", "{body}");

    let flow = api_init(&ts, "settings", "", Some(&token)).await;
    assert_eq!(flow["type"], "api");
    assert_eq!(flow["identity"]["id"], reg.identity.id.as_str());
    let v = flow.clone();
    assert_eq!(
        node(&v, "traits.email").unwrap()["attributes"]["value"],
        email.as_str()
    );
    assert!(node(&v, "password").is_some());
    let (status, fetched) = api_fetch(&ts, "settings", &fid(&flow), Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(fid(&fetched), fid(&flow));

    // Profile: a new name.
    let traits = json!({ "email": email, "name": { "first": "Ada", "last": "Lovelace" } });
    let updated = settings_ok(&ts, &fid(&flow), profile_body(traits.clone(), None), &token).await;
    assert_eq!(updated["state"], "success");
    assert_eq!(updated["identity"]["traits"], traits);
    assert!(message_ids(&updated).contains(&1050001));

    // Invalid traits: a 400 flow with the message on the field.
    let flow = api_init(&ts, "settings", "", Some(&token)).await;
    let err = frontend_api::update_settings_flow(
        &sdk,
        &fid(&flow),
        profile_body(json!({ "name": { "first": "x" } }), None),
        Some(&token),
        None,
    )
    .await
    .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 400);
    assert_eq!(
        node_message_ids(&body, "traits.email"),
        vec![4000002],
        "{body}"
    );

    // Password: policy first, then the change.
    let flow = api_init(&ts, "settings", "", Some(&token)).await;
    let err = frontend_api::update_settings_flow(
        &sdk,
        &fid(&flow),
        password_body("tiny", None),
        Some(&token),
        None,
    )
    .await
    .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 400);
    assert_eq!(node_message_ids(&body, "password"), vec![4000032], "{body}");
    let new_password = "an-even-longer-and-more-unusual-password-7";
    let ok = settings_ok(&ts, &fid(&flow), password_body(new_password, None), &token).await;
    assert_eq!(ok["state"], "success");

    let ok = login_api(&ts, &email, new_password).await;
    assert!(ok.session_token.is_some());
    let flow = api_init(&ts, "login", "", None).await;
    let err = frontend_api::update_login_flow(
        &sdk,
        &fid(&flow),
        password_login(&email, PASSWORD, None),
        None,
        None,
    )
    .await
    .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 400);
    assert_eq!(
        message_ids(&body),
        vec![4000006],
        "the old password no longer works"
    );

    // Another identity's session cannot use this flow.
    let other = register_api(&ts, &unique_email("other"), PASSWORD).await;
    let err = frontend_api::get_settings_flow(
        &sdk,
        &flow_id_of(&ts, &token).await,
        other.session_token.as_deref(),
        None,
    )
    .await
    .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 403);
    assert_eq!(body["error"]["id"], "security_identity_mismatch");
    ts.stop().await;
}

async fn flow_id_of(ts: &crate::harness::TestServer, token: &str) -> String {
    fid(&api_init(ts, "settings", "", Some(token)).await)
}

#[tokio::test]
async fn privileged_changes_need_a_recent_login() {
    let ts =
        server("selfservice: { flows: { settings: { privileged_session_max_age: 1s } } }").await;
    let sdk = ts.public_sdk();
    let email = unique_email("privileged");
    let reg = register_api(&ts, &email, PASSWORD).await;
    let token = reg.session_token.unwrap();
    let flow = api_init(&ts, "settings", "", Some(&token)).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    // Password changes: 403 session_refresh_required, pointing at a refreshing login.
    let err = frontend_api::update_settings_flow(
        &sdk,
        &fid(&flow),
        password_body("a-new-password-that-is-long-9", None),
        Some(&token),
        None,
    )
    .await
    .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["id"], "session_refresh_required");
    let to = body["redirect_browser_to"].as_str().unwrap();
    assert!(
        to.contains("/self-service/login/browser?refresh=true"),
        "{to}"
    );

    // Changing the identifier is privileged too; the name is not.
    let err = frontend_api::update_settings_flow(
        &sdk,
        &fid(&flow),
        profile_body(json!({ "email": unique_email("moved") }), None),
        Some(&token),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 403);
    let ok = settings_ok(
        &ts,
        &fid(&flow),
        profile_body(json!({ "email": email, "name": { "first": "Late" } }), None),
        &token,
    )
    .await;
    assert_eq!(ok["state"], "success");

    // A refresh login makes the session privileged again.
    let refresh = api_init(&ts, "login", "refresh=true", Some(&token)).await;
    frontend_api::update_login_flow(
        &sdk,
        &fid(&refresh),
        password_login(&email, PASSWORD, None),
        Some(&token),
        None,
    )
    .await
    .unwrap();
    let flow = api_init(&ts, "settings", "", Some(&token)).await;
    let ok = settings_ok(
        &ts,
        &fid(&flow),
        password_body("a-new-password-that-is-long-9", None),
        &token,
    )
    .await;
    assert_eq!(ok["state"], "success");

    // Browsers are sent to the refreshing login.
    let b = Browser::new(&ts);
    let browser_email = unique_email("privileged-browser");
    browser_register(&b, &browser_email, PASSWORD).await;
    let flow = b.open("settings").await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let res = b
        .submit(
            &flow,
            &[
                ("password", "yet-another-long-password-11"),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let loc = location(&res);
    assert!(
        loc.contains("/self-service/login/browser?refresh=true"),
        "{loc}"
    );
    ts.stop().await;
}

#[tokio::test]
async fn browser_and_spa_settings() {
    let ts = server("").await;
    let b = Browser::new(&ts);

    // No session: the browser is sent to log in, keeping its return_to; fetching or submitting
    // a flow sends it to the login UI (302), JSON clients get a 401.
    let res = b
        .get(&format!(
            "{}/self-service/settings/browser?return_to=http://ui.test/back",
            ts.public_url
        ))
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        location(&res),
        format!(
            "{}/self-service/login/browser?return_to=http%3A%2F%2Fui.test%2Fback",
            ts.public_url
        )
    );
    let some_id = uuid::Uuid::new_v4();
    let res = b
        .get(&format!(
            "{}/self-service/settings/flows?id={some_id}",
            ts.public_url
        ))
        .await;
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res), "http://ui.test/login");
    let res = b
        .http
        .post(format!(
            "{}/self-service/settings?flow={some_id}",
            ts.public_url
        ))
        .form(&[("method", "profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let (status, _) = b
        .spa_submit(
            "settings",
            &some_id.to_string(),
            json!({ "method": "profile" }),
        )
        .await;
    assert_eq!(status, 401);

    let email = unique_email("browser-settings");
    browser_register(&b, &email, PASSWORD).await;
    let flow = b.open("settings").await;
    let id = fid(&flow);
    let _: models::SettingsFlow = check_flow(&flow);

    // Without the CSRF token: refused.
    let res = b
        .submit_form(
            &flow,
            &[
                ("traits.email", &email),
                ("traits.name.first", "Grace"),
                ("method", "profile"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("http://ui.test/error?id="));

    // A profile change by form: back to the settings UI with the flow in state success.
    let res = b
        .submit(
            &flow,
            &[
                ("traits.email", &email),
                ("traits.name.first", "Grace"),
                ("method", "profile"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("http://ui.test/settings?flow={id}"));
    let flow = b.flow("settings", &id).await;
    assert_eq!(flow["state"], "success");
    assert_eq!(flow["identity"]["traits"]["name"]["first"], "Grace");

    // The SPA variant with the SDK: JSON with continue_with.
    let (status, flow) = b.spa_init("settings", "").await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(flow["type"], "browser");
    let csrf = csrf_of(&flow);
    let body =
        serde_json::to_value(password_body("a-brand-new-password-for-spa-1", Some(csrf))).unwrap();
    let (status, ok) = b.spa_submit("settings", &fid(&flow), body).await;
    assert_eq!(status, 200, "{ok}");
    check_flow_kind("settings", &ok);
    assert_eq!(ok["state"], "success");
    assert!(
        ok["continue_with"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["action"] == "redirect_browser_to"),
        "{ok}"
    );
    let res = browser_login(&Browser::new(&ts), &email, "a-brand-new-password-for-spa-1").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "http://ui.test/");
    ts.stop().await;
}

#[tokio::test]
async fn expired_settings_flows_are_replaced() {
    let ts = server("selfservice: { flows: { settings: { lifespan: 1s } } }").await;
    let email = unique_email("settings-expired");
    let token = register_api(&ts, &email, PASSWORD)
        .await
        .session_token
        .unwrap();
    let flow = api_init(&ts, "settings", "", Some(&token)).await;
    let b = Browser::new(&ts);
    browser_register(&b, &unique_email("settings-expired-browser"), PASSWORD).await;
    let browser_flow = b.open("settings").await;
    let browser_id = fid(&browser_flow);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

    let body = serde_json::to_value(profile_body(json!({ "email": email }), None)).unwrap();
    let (status, v) = api_submit(&ts, "settings", &fid(&flow), body, Some(&token)).await;
    assert_eq!(status, 410, "{v}");
    assert_eq!(v["error"]["id"], "self_service_flow_expired");
    let (status, replacement) = api_fetch(
        &ts,
        "settings",
        v["use_flow_id"].as_str().unwrap(),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(message_ids(&replacement), vec![4050001]);

    let res = b.submit(&browser_flow, &[("method", "profile")]).await;
    assert_eq!(res.status(), 303);
    let loc = location(&res);
    assert!(loc.starts_with("http://ui.test/settings?flow="), "{loc}");
    assert_ne!(query_param(&loc, "flow").unwrap(), browser_id);
    ts.stop().await;
}

#[tokio::test]
async fn settings_return_to_and_identifier_change() {
    let ts = server("").await;
    let b = Browser::new(&ts);
    let email = unique_email("rt-settings");
    browser_register(&b, &email, PASSWORD).await;
    let id = b
        .init(
            "/self-service/settings/browser?return_to=http://ui.test/done",
            "http://ui.test/settings?flow=",
        )
        .await;
    let flow = b.flow("settings", &id).await;
    assert_eq!(flow["return_to"], "http://ui.test/done");
    // A fresh session may change the identifier; login then works with the new one only.
    let new_email = unique_email("rt-settings-new");
    let res = b
        .submit(
            &flow,
            &[("traits.email", &new_email), ("method", "profile")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "http://ui.test/done");
    let ok = login_api(&ts, &new_email, PASSWORD).await;
    assert!(ok.session_token.is_some());
    let flow = api_init(&ts, "login", "", None).await;
    let (status, v) = api_submit(
        &ts,
        "login",
        &fid(&flow),
        json!({ "method": "password", "identifier": email, "password": PASSWORD }),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(message_ids(&v), vec![4000006]);

    // A settings return_to must be allowed too.
    let res = b
        .get(&format!(
            "{}/self-service/settings/browser?return_to=https://evil.test/",
            ts.public_url
        ))
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("http://ui.test/error?id="),
        "{}",
        location(&res)
    );
    ts.stop().await;
}
