//! Verification end to end with the `code` and `link` methods: after registration, after an
//! address change in settings, and as a self-service flow (API, browser, SPA); and the
//! `require_verified_address` login hook.

use ory_kratos_client::models;
use serde_json::{Value, json};

use crate::flowkit::{
    browser, csrf_of, fetch_flow, flow_param, open_browser_flow, post_form, post_json, spa_flow,
};
use crate::harness::{self, TestServer};
use crate::recovery::{
    PASSWORD, address_status, code_in, config, config_with, create_identity, last_message, link_in,
    location, message_ids, messages_to, sdk, start,
};

fn code_body(email: Option<&str>, code: Option<&str>) -> models::UpdateVerificationFlowBody {
    let mut m = models::UpdateVerificationFlowWithCodeMethod::new(
        models::update_verification_flow_with_code_method::MethodEnum::Code,
    );
    m.email = email.map(str::to_string);
    m.code = code.map(str::to_string);
    models::UpdateVerificationFlowBody::Code(Box::new(m))
}

fn link_body(email: &str) -> models::UpdateVerificationFlowBody {
    models::UpdateVerificationFlowBody::Link(Box::new(
        models::UpdateVerificationFlowWithLinkMethod::new(
            email.into(),
            models::update_verification_flow_with_link_method::MethodEnum::Link,
        ),
    ))
}

/// Registers through the API; returns the response JSON.
async fn register_api(ts: &TestServer, email: &str) -> Value {
    let flow = sdk::create_native_registration_flow(&ts.public_sdk(), None, None, None, None)
        .await
        .unwrap();
    let res = harness::client()
        .post(format!(
            "{}/self-service/registration?flow={}",
            ts.public_url, flow.id
        ))
        .json(&json!({ "method": "password", "password": PASSWORD, "traits": { "email": email } }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn verification_code_after_registration_api() {
    let ts = start(config("code")).await;
    let registered = register_api(&ts, "new-user@example.org").await;
    let id = registered["identity"]["id"].as_str().unwrap().to_string();
    let cw = registered["continue_with"].as_array().unwrap();
    let show = cw
        .iter()
        .find(|c| c["action"] == "show_verification_ui")
        .unwrap_or_else(|| panic!("no show_verification_ui in {cw:?}"));
    assert_eq!(show["flow"]["verifiable_address"], "new-user@example.org");
    let flow_id = show["flow"]["id"].as_str().unwrap();
    assert!(
        show["flow"]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://ui.test/verification?flow=")
    );

    let sdk = ts.public_sdk();
    let flow = sdk::get_verification_flow(&sdk, flow_id, None)
        .await
        .unwrap();
    assert_eq!(flow.state, Some(json!("sent_email")));
    let (template, body) = last_message(&ts, "new-user@example.org").await;
    assert_eq!(template, "verification_code_valid");
    let code = code_in(&body);
    let (verified, status, _) = address_status(&ts, &id).await;
    assert!(!verified);
    assert_eq!(status, "sent");

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let f = sdk::update_verification_flow(&sdk, flow_id, code_body(None, Some(wrong)), None, None)
        .await
        .unwrap();
    assert_eq!(f.ui.messages.as_ref().unwrap()[0].id, 4070006);

    let f = sdk::update_verification_flow(&sdk, flow_id, code_body(None, Some(&code)), None, None)
        .await
        .unwrap();
    assert_eq!(f.state, Some(json!("passed_challenge")));
    assert_eq!(f.ui.messages.as_ref().unwrap()[0].id, 1080002);
    let (verified, status, at) = address_status(&ts, &id).await;
    assert!(verified && at);
    assert_eq!(status, "completed");
    ts.stop().await;
}

#[tokio::test]
async fn verification_code_browser_and_spa_flows() {
    let ts = start(config("code")).await;
    let identity = create_identity(&ts, "verify-me@example.org").await;

    // Browser: submit the address, then open the link from the message, then submit the code.
    let b = browser();
    let (id, csrf) = open_browser_flow(&ts, &b, "verification").await;
    let res = post_form(
        &ts,
        &b,
        "verification",
        &id,
        &[
            ("csrf_token", csrf.as_str()),
            ("method", "code"),
            ("email", "verify-me@example.org"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let flow = fetch_flow(&ts, &b, "verification", &id).await;
    assert_eq!(flow["state"], "sent_email");
    assert_eq!(message_ids(&flow), vec![1080003]);
    let body = last_message(&ts, "verify-me@example.org").await.1;
    let code = code_in(&body);
    let link = link_in(&ts, &body, "/self-service/verification?");
    assert!(link.contains(&code));
    // The link pre-fills the code and shows the flow.
    let res = b.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(flow_param(&location(&res)), id);
    let flow = fetch_flow(&ts, &b, "verification", &id).await;
    let code_node = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "code")
        .unwrap();
    assert_eq!(code_node["attributes"]["value"], code.as_str());
    let res = post_form(
        &ts,
        &b,
        "verification",
        &id,
        &[
            ("csrf_token", csrf_of(&flow).as_str()),
            ("method", "code"),
            ("code", code.as_str()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let flow = fetch_flow(&ts, &b, "verification", &id).await;
    assert_eq!(flow["state"], "passed_challenge");
    assert!(address_status(&ts, &identity.id).await.0);

    // SPA.
    let identity = create_identity(&ts, "spa-verify@example.org").await;
    let spa = browser();
    let flow: Value = spa_flow(&ts, &spa, "verification").await;
    let id = flow["id"].as_str().unwrap();
    let csrf = csrf_of(&flow);
    let res = post_json(
        &ts,
        &spa,
        "verification",
        id,
        &json!({ "csrf_token": csrf, "method": "code", "email": "spa-verify@example.org" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let code = code_in(&last_message(&ts, "spa-verify@example.org").await.1);
    let res = post_json(
        &ts,
        &spa,
        "verification",
        id,
        &json!({ "csrf_token": csrf, "method": "code", "code": code }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["state"], "passed_challenge");
    assert_eq!(message_ids(&done), vec![1080002]);
    assert!(address_status(&ts, &identity.id).await.0);
    ts.stop().await;
}

#[tokio::test]
async fn verification_link_api_browser_and_spa_flows() {
    let ts = start(config("link")).await;
    let sdk = ts.public_sdk();

    // API: the link is opened in a browser and lands on the verification UI.
    let identity = create_identity(&ts, "api-link@example.org").await;
    let flow = sdk::create_native_verification_flow(&sdk, None)
        .await
        .unwrap();
    let body = link_body("api-link@example.org");
    let sent = sdk::update_verification_flow(&sdk, &flow.id, body, None, None)
        .await
        .unwrap();
    assert_eq!(sent.state, Some(json!("sent_email")));
    assert_eq!(sent.ui.messages.as_ref().unwrap()[0].id, 1080001);
    let (template, mail) = last_message(&ts, "api-link@example.org").await;
    assert_eq!(template, "verification_valid");
    let link = link_in(&ts, &mail, "/self-service/verification?");
    let res = browser().get(&link).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(flow_param(&location(&res)), flow.id);
    let done = sdk::get_verification_flow(&sdk, &flow.id, None)
        .await
        .unwrap();
    assert_eq!(done.state, Some(json!("passed_challenge")));
    let (verified, status, at) = address_status(&ts, &identity.id).await;
    assert!(verified && at);
    assert_eq!(status, "completed");
    // A used link starts over with Kratos's message.
    let res = browser().get(&link).send().await.unwrap();
    assert_eq!(res.status(), 303);

    // Browser and SPA.
    for spa in [false, true] {
        let email = format!("link-{spa}@example.org");
        let identity = create_identity(&ts, &email).await;
        let b = browser();
        let mut init = b.get(format!(
            "{}/self-service/verification/browser",
            ts.public_url
        ));
        if spa {
            init = init.header("accept", "application/json");
        }
        let res = init.send().await.unwrap();
        let id = if spa {
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        } else {
            flow_param(&location(&res))
        };
        let csrf = csrf_of(&fetch_flow(&ts, &b, "verification", &id).await);
        let submit = b.post(format!(
            "{}/self-service/verification?flow={id}",
            ts.public_url
        ));
        let res = if spa {
            submit
                .header("accept", "application/json")
                .json(&json!({ "csrf_token": csrf, "method": "link", "email": email }))
        } else {
            submit.form(&[
                ("csrf_token", csrf.as_str()),
                ("method", "link"),
                ("email", email.as_str()),
            ])
        }
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), if spa { 200 } else { 303 });
        let link = link_in(
            &ts,
            &last_message(&ts, &email).await.1,
            "/self-service/verification?",
        );
        let res = b.get(&link).send().await.unwrap();
        assert_eq!(res.status(), 303);
        let flow = fetch_flow(&ts, &b, "verification", &id).await;
        assert_eq!(flow["state"], "passed_challenge");
        assert_eq!(message_ids(&flow), vec![1080002]);
        assert!(address_status(&ts, &identity.id).await.0);
    }
    ts.stop().await;
}

#[tokio::test]
async fn verification_link_after_registration_browser_redirects_with_hook() {
    let ts = start(config_with(
        "link",
        json!({ "selfservice": { "flows": { "registration": { "after": { "password": { "hooks": [{ "hook": "session" }, { "hook": "show_verification_ui" }] } } } } } }),
    ))
    .await;
    let b = browser();
    let (id, csrf) = open_browser_flow(&ts, &b, "registration").await;
    let res = post_form(
        &ts,
        &b,
        "registration",
        &id,
        &[
            ("csrf_token", csrf.as_str()),
            ("method", "password"),
            ("password", PASSWORD),
            ("traits.email", "hooked@example.org"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(to.starts_with("http://ui.test/verification?flow="), "{to}");
    let link = link_in(
        &ts,
        &last_message(&ts, "hooked@example.org").await.1,
        "/self-service/verification?",
    );
    assert!(link.contains(&flow_param(&to)));
    let res = b.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let who: Value = b
        .get(format!("{}/sessions/whoami", ts.public_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(who["identity"]["verifiable_addresses"][0]["verified"], true);
    ts.stop().await;
}

#[tokio::test]
async fn verification_after_address_change_in_settings() {
    let ts = start(config("code")).await;
    let registered = register_api(&ts, "before@example.org").await;
    assert_eq!(messages_to(&ts, "before@example.org").await.len(), 1);
    // Log in to get a session token.
    let login = sdk::create_native_login_flow(
        &ts.public_sdk(),
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
    .unwrap();
    let res = harness::client()
        .post(format!("{}/self-service/login?flow={}", ts.public_url, login.id))
        .json(&json!({ "method": "password", "identifier": "before@example.org", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let token = res.json::<Value>().await.unwrap()["session_token"]
        .as_str()
        .unwrap()
        .to_string();
    let flow = sdk::create_native_settings_flow(&ts.public_sdk(), Some(&token))
        .await
        .unwrap();
    let res = harness::client()
        .post(format!(
            "{}/self-service/settings?flow={}",
            ts.public_url, flow.id
        ))
        .header("x-session-token", &token)
        .json(&json!({ "method": "profile", "traits": { "email": "after@example.org" } }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let show = body["continue_with"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "show_verification_ui")
        .unwrap()
        .clone();
    assert_eq!(show["flow"]["verifiable_address"], "after@example.org");
    let code = code_in(&last_message(&ts, "after@example.org").await.1);
    let f = sdk::update_verification_flow(
        &ts.public_sdk(),
        show["flow"]["id"].as_str().unwrap(),
        code_body(None, Some(&code)),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(f.state, Some(json!("passed_challenge")));
    let id = registered["identity"]["id"].as_str().unwrap();
    assert!(address_status(&ts, id).await.0);
    ts.stop().await;
}

#[tokio::test]
async fn require_verified_address_blocks_login_until_verified() {
    let ts = start(config_with(
        "code",
        json!({ "selfservice": { "flows": { "login": { "after": { "password": { "hooks": [{ "hook": "require_verified_address" }] } } } } } }),
    ))
    .await;
    let identity = create_identity(&ts, "unverified@example.org").await;
    let login = |ts: &TestServer| {
        let sdk = ts.public_sdk();
        let url = ts.public_url.clone();
        async move {
            let flow =
                sdk::create_native_login_flow(&sdk, None, None, None, None, None, None, None, None)
                    .await
                    .unwrap();
            harness::client()
                .post(format!("{url}/self-service/login?flow={}", flow.id))
                .json(&json!({ "method": "password", "identifier": "unverified@example.org", "password": PASSWORD }))
                .send()
                .await
                .unwrap()
        }
    };
    let res = login(&ts).await;
    assert_eq!(res.status(), 400);
    let flow: Value = res.json().await.unwrap();
    assert_eq!(message_ids(&flow), vec![4000010]);

    // Verify the address, then login works.
    let flow = sdk::create_native_verification_flow(&ts.public_sdk(), None)
        .await
        .unwrap();
    sdk::update_verification_flow(
        &ts.public_sdk(),
        &flow.id,
        code_body(Some("unverified@example.org"), None),
        None,
        None,
    )
    .await
    .unwrap();
    let code = code_in(&last_message(&ts, "unverified@example.org").await.1);
    sdk::update_verification_flow(
        &ts.public_sdk(),
        &flow.id,
        code_body(None, Some(&code)),
        None,
        None,
    )
    .await
    .unwrap();
    assert!(address_status(&ts, &identity.id).await.0);
    assert_eq!(login(&ts).await.status(), 200);
    ts.stop().await;
}

#[tokio::test]
async fn verification_code_submissions_are_limited_and_unknown_addresses_get_no_hint() {
    let ts = start(config_with(
        "code",
        json!({ "selfservice": { "methods": { "code": { "config": { "max_submissions": 1 } } } } }),
    ))
    .await;
    create_identity(&ts, "limit-verify@example.org").await;
    let sdk = ts.public_sdk();
    let flow = sdk::create_native_verification_flow(&sdk, None)
        .await
        .unwrap();
    let known = sdk::update_verification_flow(
        &sdk,
        &flow.id,
        code_body(Some("limit-verify@example.org"), None),
        None,
        None,
    )
    .await
    .unwrap();
    let code = code_in(&last_message(&ts, "limit-verify@example.org").await.1);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    sdk::update_verification_flow(&sdk, &flow.id, code_body(None, Some(wrong)), None, None)
        .await
        .unwrap();
    // Past the limit: the flow is replaced (410 self_service_flow_replaced with the new id).
    let res = harness::client()
        .post(format!(
            "{}/self-service/verification?flow={}",
            ts.public_url, flow.id
        ))
        .json(&json!({ "method": "code", "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["id"], "self_service_flow_replaced");
    let new_id = err["use_flow_id"].as_str().unwrap();
    let replaced = sdk::get_verification_flow(&sdk, new_id, None)
        .await
        .unwrap();
    assert!(
        replaced.ui.messages.as_ref().unwrap()[0]
            .text
            .contains("submitted too often")
    );

    // Unknown address: same answer, no message.
    let flow = sdk::create_native_verification_flow(&sdk, None)
        .await
        .unwrap();
    let unknown = sdk::update_verification_flow(
        &sdk,
        &flow.id,
        code_body(Some("nobody@example.org"), None),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(unknown.state, known.state);
    assert_eq!(unknown.ui.messages, known.ui.messages);
    assert!(messages_to(&ts, "nobody@example.org").await.is_empty());
    ts.stop().await;
}

#[tokio::test]
async fn verification_link_notifies_unknown_recipients_when_configured() {
    let ts = start(config_with(
        "link",
        json!({ "selfservice": { "flows": { "verification": { "notify_unknown_recipients": true } } } }),
    ))
    .await;
    let sdk = ts.public_sdk();
    let flow = sdk::create_native_verification_flow(&sdk, None)
        .await
        .unwrap();
    let body = link_body("stranger@example.org");
    let sent = sdk::update_verification_flow(&sdk, &flow.id, body, None, None)
        .await
        .unwrap();
    assert_eq!(sent.state, Some(json!("sent_email")));
    assert_eq!(sent.ui.messages.as_ref().unwrap()[0].id, 1080001);
    let (template, body) = last_message(&ts, "stranger@example.org").await;
    assert_eq!(template, "verification_invalid");
    assert!(!body.contains("/self-service/verification?"));
    ts.stop().await;
}
