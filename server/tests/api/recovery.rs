//! Recovery end to end, with the `code` and `link` methods, in API, browser and SPA variants.
//! Messages are read from the courier queue (`courier_messages`).

use ory_kratos_client::apis::identity_api;
use ory_kratos_client::models;
use serde_json::{Value, json};

use crate::flowkit::{
    browser, csrf_of, fetch_flow, flow_param, open_browser_flow, post_form, post_json, spa_flow,
};
use crate::harness::{self, TestServer};

/// The self-service calls of the official SDK's `frontend_api`, with its request models and
/// signatures, checking every answer against its response model. The 26.2.0 Rust SDK cannot
/// deserialize UI nodes or `continue_with` items (their enum tag is consumed, then required by
/// the variant: ory/sdk#325), so answers are checked with `flowkit::check_flow` (nodes one by one
/// against their concrete models) and returned as [`sdk::Flow`].
pub mod sdk {
    use ory_kratos_client::apis::configuration::Configuration;
    pub use ory_kratos_client::apis::frontend_api::to_session;
    use ory_kratos_client::models;
    use serde_json::Value;

    use crate::flowkit::check_flow;

    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    pub struct Ui {
        pub messages: Option<Vec<models::UiText>>,
    }

    /// A flow as the SDK models it, minus what its models cannot read; `raw` is the JSON.
    #[derive(Debug, Clone)]
    pub struct Flow {
        pub id: String,
        pub r#type: String,
        pub state: Option<Value>,
        pub ui: Ui,
        pub raw: Value,
    }

    fn flow<T: serde::de::DeserializeOwned>(v: Value) -> Flow {
        let _: T = check_flow(&v);
        let mut ui = v["ui"].clone();
        ui["nodes"] = Value::Array(vec![]);
        Flow {
            id: v["id"].as_str().unwrap().to_string(),
            r#type: v["type"].as_str().unwrap().to_string(),
            state: Some(v["state"].clone()),
            ui: serde_json::from_value(ui).unwrap(),
            raw: v,
        }
    }

    async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// GET, following Kratos's 303 to a flow (as the SDK's client does).
    async fn get(c: &Configuration, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = crate::harness::client().get(format!("{}{path}", c.base_path));
        if let Some(t) = token {
            req = req.header("x-session-token", t);
        }
        call(req).await
    }

    async fn post(c: &Configuration, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
        let mut req = crate::harness::client()
            .post(format!("{}{path}", c.base_path))
            .json(&body);
        if let Some(t) = token {
            req = req.header("x-session-token", t);
        }
        let res = req.send().await.unwrap();
        if res.status() == 303 {
            let to = res.headers()["location"].to_str().unwrap().to_string();
            return call(crate::harness::client().get(to)).await;
        }
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn ok<T: serde::de::DeserializeOwned>((status, v): (u16, Value)) -> Result<Flow, String> {
        if status == 200 {
            Ok(flow::<T>(v))
        } else {
            Err(format!("{status}: {v}"))
        }
    }

    pub async fn create_native_recovery_flow(c: &Configuration) -> Result<Flow, String> {
        ok::<models::RecoveryFlow>(get(c, "/self-service/recovery/api", None).await)
    }

    pub async fn update_recovery_flow(
        c: &Configuration,
        flow: &str,
        body: models::UpdateRecoveryFlowBody,
        token: Option<&str>,
        _cookie: Option<&str>,
    ) -> Result<Flow, String> {
        let path = format!("/self-service/recovery?flow={flow}");
        ok::<models::RecoveryFlow>(post(c, &path, serde_json::to_value(body).unwrap(), token).await)
    }

    pub async fn create_native_verification_flow(
        c: &Configuration,
        _return_to: Option<&str>,
    ) -> Result<Flow, String> {
        ok::<models::VerificationFlow>(get(c, "/self-service/verification/api", None).await)
    }

    pub async fn get_verification_flow(
        c: &Configuration,
        id: &str,
        _cookie: Option<&str>,
    ) -> Result<Flow, String> {
        let path = format!("/self-service/verification/flows?id={id}");
        ok::<models::VerificationFlow>(get(c, &path, None).await)
    }

    pub async fn update_verification_flow(
        c: &Configuration,
        flow: &str,
        body: models::UpdateVerificationFlowBody,
        token: Option<&str>,
        _cookie: Option<&str>,
    ) -> Result<Flow, String> {
        let path = format!("/self-service/verification?flow={flow}");
        ok::<models::VerificationFlow>(
            post(c, &path, serde_json::to_value(body).unwrap(), token).await,
        )
    }

    pub async fn get_settings_flow(
        c: &Configuration,
        id: &str,
        token: Option<&str>,
        _cookie: Option<&str>,
    ) -> Result<Flow, String> {
        let path = format!("/self-service/settings/flows?id={id}");
        ok::<models::SettingsFlow>(get(c, &path, token).await)
    }

    pub async fn create_native_settings_flow(
        c: &Configuration,
        token: Option<&str>,
    ) -> Result<Flow, String> {
        ok::<models::SettingsFlow>(get(c, "/self-service/settings/api", token).await)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_native_login_flow(
        c: &Configuration,
        _refresh: Option<bool>,
        _aal: Option<&str>,
        _token: Option<&str>,
        _exchange: Option<bool>,
        _return_to: Option<&str>,
        _organization: Option<&str>,
        _via: Option<&str>,
        _schema: Option<&str>,
    ) -> Result<Flow, String> {
        ok::<models::LoginFlow>(get(c, "/self-service/login/api", None).await)
    }

    pub async fn create_native_registration_flow(
        c: &Configuration,
        _exchange: Option<bool>,
        _return_to: Option<&str>,
        _organization: Option<&str>,
        _schema: Option<&str>,
    ) -> Result<Flow, String> {
        ok::<models::RegistrationFlow>(get(c, "/self-service/registration/api", None).await)
    }
}

pub const PASSWORD: &str = "a-long-and-unusual-passphrase-9431";

pub fn config(method: &str) -> String {
    config_with(method, json!({}))
}

/// The recovery/verification test config with `extra` deep-merged (JSON is YAML too).
pub fn config_with(method: &str, extra: Value) -> String {
    let mut base = json!({
        "selfservice": {
            "methods": {
                "link": { "enabled": true },
                "code": { "enabled": true },
                "password": { "enabled": true },
            },
            "flows": {
                "recovery": { "enabled": true, "use": method, "ui_url": "http://ui.test/recovery" },
                "verification": { "enabled": true, "use": method, "ui_url": "http://ui.test/verification" },
                "settings": { "ui_url": "http://ui.test/settings", "privileged_session_max_age": "15m" },
                "login": { "ui_url": "http://ui.test/login" },
                "registration": { "ui_url": "http://ui.test/registration" },
            },
        },
        "courier": { "smtp": { "connection_uri": "smtp://127.0.0.1:1/" } },
    });
    harness::merge(&mut base, extra);
    base.to_string()
}

/// Creates an identity with a password through the admin API.
pub async fn create_identity(ts: &TestServer, email: &str) -> models::Identity {
    let body: models::CreateIdentityBody = serde_json::from_value(json!({
        "schema_id": "default",
        "traits": { "email": email },
        "credentials": { "password": { "config": { "password": PASSWORD } } },
    }))
    .unwrap();
    identity_api::create_identity(&ts.admin_sdk(), Some(body))
        .await
        .unwrap()
}

/// The SMTP sink of each running test server, by public URL.
static SINKS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, crate::courier::SmtpSink>>,
> = std::sync::LazyLock::new(Default::default);

/// Starts a test server whose courier delivers to a fresh SMTP sink on loopback.
pub async fn start(config: String) -> TestServer {
    let sink = crate::courier::SmtpSink::start().await;
    let mut v: Value = serde_json::from_str(&config).unwrap();
    harness::merge(
        &mut v,
        json!({ "courier": { "smtp": { "connection_uri": sink.uri() } } }),
    );
    let ts = TestServer::start(&v.to_string()).await;
    SINKS.lock().unwrap().insert(ts.public_url.clone(), sink);
    ts
}

/// Every message to `to`, oldest first: (template type, plaintext body as delivered over SMTP).
/// Runs the courier until the queue is empty, then checks each message was sent and reads it
/// from the SMTP sink.
pub async fn messages_to(ts: &TestServer, to: &str) -> Vec<(String, String)> {
    use kratos::persistence::Pool;
    for _ in 0..20 {
        if kratos::courier::worker::process_batch(&ts.app)
            .await
            .unwrap()
            == 0
        {
            break;
        }
    }
    const Q: &str = "SELECT template_type, status FROM courier_messages WHERE recipient = ? ORDER BY created_at, id";
    let rows: Vec<(String, String)> = match ts.app.db.pool() {
        Pool::Sqlite(p) => sqlx::query_as(Q).bind(to).fetch_all(p).await.unwrap(),
        Pool::MySql(p) => sqlx::query_as(Q).bind(to).fetch_all(p).await.unwrap(),
        Pool::Postgres(p) => sqlx::query_as(sqlx::AssertSqlSafe(Q.replace('?', "$1")))
            .bind(to)
            .fetch_all(p)
            .await
            .unwrap(),
    };
    for (template, status) in &rows {
        assert_eq!(status, "sent", "{template} to {to} was not delivered");
    }
    let mails: Vec<String> = SINKS
        .lock()
        .unwrap()
        .get(&ts.public_url)
        .expect("server started with recovery::start")
        .received()
        .into_iter()
        .filter(|m| m.rcpt_to.iter().any(|r| r.contains(to)))
        .map(|m| m.part("text/plain").unwrap_or(m.data))
        .collect();
    assert_eq!(mails.len(), rows.len(), "mails delivered to {to}");
    rows.into_iter().map(|(t, _)| t).zip(mails).collect()
}

/// The newest message to `to`; fails when there is none.
pub async fn last_message(ts: &TestServer, to: &str) -> (String, String) {
    messages_to(ts, to)
        .await
        .pop()
        .unwrap_or_else(|| panic!("no message to {to}"))
}

/// The first standalone 6-digit number in a message body.
pub fn code_in(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return body[start..i].to_string();
            }
        } else {
            i += 1;
        }
    }
    panic!("no 6-digit code in {body}")
}

/// The first link in a message body that points at `path` on the public URL.
pub fn link_in(ts: &TestServer, body: &str, path: &str) -> String {
    let prefix = format!("{}{}", ts.public_url, path);
    let start = body
        .find(&prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {body}"));
    let rest = &body[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '\'')
        .unwrap_or(rest.len());
    rest[..end].replace("&amp;", "&")
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no location in {res:?}"))
        .to_str()
        .unwrap()
        .to_string()
}

pub fn message_ids(flow: &Value) -> Vec<u64> {
    flow["ui"]["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["id"].as_u64()).collect())
        .unwrap_or_default()
}

async fn whoami_cookie(ts: &TestServer, b: &reqwest::Client) -> Value {
    let res = b
        .get(format!("{}/sessions/whoami", ts.public_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "whoami failed");
    res.json().await.unwrap()
}

fn code_body(email: Option<&str>, code: Option<&str>) -> models::UpdateRecoveryFlowBody {
    let mut m = models::UpdateRecoveryFlowWithCodeMethod::new(
        models::update_recovery_flow_with_code_method::MethodEnum::Code,
    );
    m.email = email.map(str::to_string);
    m.code = code.map(str::to_string);
    models::UpdateRecoveryFlowBody::Code(Box::new(m))
}

/// A verified-address check through the admin API.
pub async fn address_status(ts: &TestServer, id: &str) -> (bool, String, bool) {
    let identity = identity_api::get_identity(&ts.admin_sdk(), id, None)
        .await
        .unwrap();
    let a = &identity.verifiable_addresses.unwrap()[0];
    (a.verified, a.status.clone(), a.verified_at.is_some())
}

#[tokio::test]
async fn recovery_code_api_flow() {
    let ts = start(config("code")).await;
    let identity = create_identity(&ts, "api-recover@example.org").await;
    let sdk = ts.public_sdk();

    let flow = sdk::create_native_recovery_flow(&sdk).await.unwrap();
    assert_eq!(flow.r#type, "api");
    assert_eq!(flow.state, Some(json!("choose_method")));

    let sent = sdk::update_recovery_flow(
        &sdk,
        &flow.id,
        code_body(Some("API-Recover@example.org"), None),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(sent.state, Some(json!("sent_email")));
    assert_eq!(sent.ui.messages.as_ref().unwrap()[0].id, 1060003);
    let (template, body) = last_message(&ts, "api-recover@example.org").await;
    assert_eq!(template, "recovery_code_valid");
    let code = code_in(&body);

    // A wrong code keeps the flow, with Kratos's message.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let retried =
        sdk::update_recovery_flow(&sdk, &flow.id, code_body(None, Some(wrong)), None, None)
            .await
            .unwrap();
    assert_eq!(retried.ui.messages.as_ref().unwrap()[0].id, 4060006);

    // The right code: a session token and a settings flow in continue_with (raw JSON: the SDK's
    // `ContinueWith` cannot deserialize its own `action` tag).
    let res = harness::client()
        .post(format!(
            "{}/self-service/recovery?flow={}",
            ts.public_url, flow.id
        ))
        .json(&json!({ "method": "code", "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["state"], "passed_challenge");
    let cw = done["continue_with"].as_array().unwrap();
    let token = cw
        .iter()
        .find(|c| c["action"] == "set_ory_session_token")
        .unwrap()["ory_session_token"]
        .as_str()
        .unwrap()
        .to_string();
    let settings = cw
        .iter()
        .find(|c| c["action"] == "show_settings_ui")
        .unwrap();
    let settings_id = settings["flow"]["id"].as_str().unwrap();
    assert!(
        settings["flow"]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://ui.test/settings?flow=")
    );

    let session = sdk::to_session(&sdk, Some(&token), None, None)
        .await
        .unwrap();
    assert_eq!(session.identity.unwrap().id, identity.id);
    let methods = session.authentication_methods.unwrap();
    assert_eq!(
        serde_json::to_value(methods[0].method.unwrap()).unwrap(),
        "code_recovery"
    );

    let sf = sdk::get_settings_flow(&sdk, settings_id, Some(&token), None)
        .await
        .unwrap();
    assert_eq!(sf.ui.messages.as_ref().unwrap()[0].id, 1060001);

    // The privileged session may set a new password right away, which then logs in.
    let (status, v) = crate::flowkit::api_submit(
        &ts,
        "settings",
        settings_id,
        json!({ "method": "password", "password": "a-brand-new-passphrase-7781" }),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    crate::flowkit::login_api(
        &ts,
        "api-recover@example.org",
        "a-brand-new-passphrase-7781",
    )
    .await;

    // Recovery proves the address: it is verified now.
    let (verified, status, at) = address_status(&ts, &identity.id).await;
    assert!(verified && at);
    assert_eq!(status, "completed");

    // The code is spent: using it again is refused, and no new session is issued.
    let again = sdk::update_recovery_flow(&sdk, &flow.id, code_body(None, Some(&code)), None, None)
        .await
        .unwrap();
    assert_eq!(again.ui.messages.as_ref().unwrap()[0].id, 4060006);
    assert!(
        again.raw["continue_with"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] == "set_ory_session_token")
            .count()
            == 1
    );
    ts.stop().await;
}

#[tokio::test]
async fn recovery_code_browser_and_spa_flows() {
    let ts = start(config("code")).await;
    let identity = create_identity(&ts, "browser-recover@example.org").await;

    // Browser: form posts and redirects.
    let b = browser();
    let res = b
        .get(format!("{}/self-service/recovery/browser", ts.public_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let ui = location(&res);
    assert!(ui.starts_with("http://ui.test/recovery?flow="));
    let id = flow_param(&ui);
    let flow = fetch_flow(&ts, &b, "recovery", &id).await;
    let csrf = csrf_of(&flow);
    let res = post_form(
        &ts,
        &b,
        "recovery",
        &id,
        &[
            ("csrf_token", csrf.as_str()),
            ("method", "code"),
            ("email", "browser-recover@example.org"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), ui);
    let flow = fetch_flow(&ts, &b, "recovery", &id).await;
    assert_eq!(flow["state"], "sent_email");
    let code = code_in(&last_message(&ts, "browser-recover@example.org").await.1);
    let res = post_form(
        &ts,
        &b,
        "recovery",
        &id,
        &[
            ("csrf_token", csrf.as_str()),
            ("method", "code"),
            ("code", code.as_str()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let settings_ui = location(&res);
    assert!(settings_ui.starts_with("http://ui.test/settings?flow="));
    let who = whoami_cookie(&ts, &b).await;
    assert_eq!(who["identity"]["id"], identity.id.as_str());
    let sf = fetch_flow(&ts, &b, "settings", &flow_param(&settings_ui)).await;
    assert_eq!(message_ids(&sf), vec![1060001]);

    // SPA: JSON everywhere; success is a 422 pointing the browser at the settings UI.
    let spa = browser();
    let flow: Value = spa_flow(&ts, &spa, "recovery").await;
    let id = flow["id"].as_str().unwrap().to_string();
    let csrf = csrf_of(&flow);
    let res = post_json(
        &ts,
        &spa,
        "recovery",
        &id,
        &json!({ "csrf_token": csrf, "method": "code", "email": "browser-recover@example.org" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let sent: Value = res.json().await.unwrap();
    assert_eq!(sent["state"], "sent_email");
    assert_eq!(message_ids(&sent), vec![1060003]);
    let code = code_in(&last_message(&ts, "browser-recover@example.org").await.1);
    let res = post_json(
        &ts,
        &spa,
        "recovery",
        &id,
        &json!({ "csrf_token": csrf, "method": "code", "code": code }),
    )
    .await;
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["id"], "browser_location_change_required");
    assert!(
        err["redirect_browser_to"]
            .as_str()
            .unwrap()
            .starts_with("http://ui.test/settings?flow=")
    );
    assert_eq!(
        whoami_cookie(&ts, &spa).await["identity"]["id"],
        identity.id.as_str()
    );
    ts.stop().await;
}

#[tokio::test]
async fn recovery_link_api_browser_and_spa_flows() {
    let ts = start(config("link")).await;
    let identity = create_identity(&ts, "link-recover@example.org").await;
    let sdk = ts.public_sdk();

    // API: the app submits the address; the user opens the link in a browser.
    let flow = sdk::create_native_recovery_flow(&sdk).await.unwrap();
    let body = models::UpdateRecoveryFlowBody::Link(Box::new(
        models::UpdateRecoveryFlowWithLinkMethod::new(
            "link-recover@example.org".into(),
            models::update_recovery_flow_with_link_method::MethodEnum::Link,
        ),
    ));
    let sent = sdk::update_recovery_flow(&sdk, &flow.id, body, None, None)
        .await
        .unwrap();
    assert_eq!(sent.state, Some(json!("sent_email")));
    assert_eq!(sent.ui.messages.as_ref().unwrap()[0].id, 1060002);
    let (template, mail) = last_message(&ts, "link-recover@example.org").await;
    assert_eq!(template, "recovery_valid");
    let link = link_in(&ts, &mail, "/self-service/recovery?");
    let b = browser();
    let res = b.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("http://ui.test/settings?flow="));
    assert_eq!(
        whoami_cookie(&ts, &b).await["identity"]["id"],
        identity.id.as_str()
    );
    // A used link starts a new flow with Kratos's message.
    let res = browser().get(&link).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let retry = location(&res);
    assert!(retry.starts_with("http://ui.test/recovery?flow="));

    // Browser.
    let b = browser();
    let (id, csrf) = open_browser_flow(&ts, &b, "recovery").await;
    let res = post_form(
        &ts,
        &b,
        "recovery",
        &id,
        &[
            ("csrf_token", csrf.as_str()),
            ("method", "link"),
            ("email", "link-recover@example.org"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let link = link_in(
        &ts,
        &last_message(&ts, "link-recover@example.org").await.1,
        "/self-service/recovery?",
    );
    assert!(link.contains(&id));
    let res = b.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let settings_ui = location(&res);
    assert!(settings_ui.starts_with("http://ui.test/settings?flow="));
    assert_eq!(
        whoami_cookie(&ts, &b).await["identity"]["id"],
        identity.id.as_str()
    );
    // The browser sets a new password in the settings flow it was sent to.
    let sid = flow_param(&settings_ui);
    let sf = fetch_flow(&ts, &b, "settings", &sid).await;
    assert_eq!(message_ids(&sf), vec![1060001]);
    let res = post_form(
        &ts,
        &b,
        "settings",
        &sid,
        &[
            ("csrf_token", csrf_of(&sf).as_str()),
            ("method", "password"),
            ("password", "a-brand-new-passphrase-7782"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        message_ids(&fetch_flow(&ts, &b, "settings", &sid).await),
        vec![1050001]
    );
    crate::flowkit::login_api(
        &ts,
        "link-recover@example.org",
        "a-brand-new-passphrase-7782",
    )
    .await;

    // SPA.
    let spa = browser();
    let flow: Value = spa_flow(&ts, &spa, "recovery").await;
    let id = flow["id"].as_str().unwrap();
    let res = post_json(&ts, &spa, "recovery", id, &json!({ "csrf_token": csrf_of(&flow), "method": "link", "email": "link-recover@example.org" })).await;
    assert_eq!(res.status(), 200);
    let sent: Value = res.json().await.unwrap();
    assert_eq!(message_ids(&sent), vec![1060002]);
    let link = link_in(
        &ts,
        &last_message(&ts, "link-recover@example.org").await.1,
        "/self-service/recovery?",
    );
    let res = spa.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        whoami_cookie(&ts, &spa).await["identity"]["id"],
        identity.id.as_str()
    );
    ts.stop().await;
}

#[tokio::test]
async fn recovery_gives_no_hint_about_unknown_addresses() {
    let ts = start(config("code")).await;
    create_identity(&ts, "known@example.org").await;
    let sdk = ts.public_sdk();
    let mut answers = Vec::new();
    for email in ["known@example.org", "unknown@example.org"] {
        let flow = sdk::create_native_recovery_flow(&sdk).await.unwrap();
        let sent =
            sdk::update_recovery_flow(&sdk, &flow.id, code_body(Some(email), None), None, None)
                .await
                .unwrap();
        let mut v = sent.raw.clone();
        for node in v["ui"]["nodes"].as_array_mut().unwrap() {
            if node["attributes"]["name"] == "email" {
                node["attributes"]["value"] = Value::Null;
            }
        }
        answers.push((
            v["state"].clone(),
            v["ui"]["messages"].clone(),
            v["ui"]["nodes"].clone(),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(messages_to(&ts, "known@example.org").await.len(), 1);
    assert!(messages_to(&ts, "unknown@example.org").await.is_empty());
    ts.stop().await;

    // With notify_unknown_recipients, the unknown address is told so.
    let ts = start(config_with(
        "code",
        json!({ "selfservice": { "flows": { "recovery": { "notify_unknown_recipients": true } } } }),
    ))
    .await;
    let flow = sdk::create_native_recovery_flow(&ts.public_sdk())
        .await
        .unwrap();
    sdk::update_recovery_flow(
        &ts.public_sdk(),
        &flow.id,
        code_body(Some("stranger@example.org"), None),
        None,
        None,
    )
    .await
    .unwrap();
    let (template, _) = last_message(&ts, "stranger@example.org").await;
    assert_eq!(template, "recovery_code_invalid");
    ts.stop().await;
}

#[tokio::test]
async fn recovery_code_submissions_are_limited() {
    let ts = start(config_with(
        "code",
        json!({ "selfservice": { "methods": { "code": { "config": { "max_submissions": 2 } } } } }),
    ))
    .await;
    create_identity(&ts, "limited@example.org").await;
    let sdk = ts.public_sdk();
    let flow = sdk::create_native_recovery_flow(&sdk).await.unwrap();
    sdk::update_recovery_flow(
        &sdk,
        &flow.id,
        code_body(Some("limited@example.org"), None),
        None,
        None,
    )
    .await
    .unwrap();
    let code = code_in(&last_message(&ts, "limited@example.org").await.1);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..2 {
        let f = sdk::update_recovery_flow(&sdk, &flow.id, code_body(None, Some(wrong)), None, None)
            .await
            .unwrap();
        assert_eq!(f.id, flow.id);
        assert_eq!(f.ui.messages.as_ref().unwrap()[0].id, 4060006);
    }
    // Even the right code is refused now: the flow must be restarted (a new flow is returned).
    let f = sdk::update_recovery_flow(&sdk, &flow.id, code_body(None, Some(&code)), None, None)
        .await
        .unwrap();
    assert_ne!(f.id, flow.id);
    assert_eq!(f.state, Some(json!("choose_method")));
    let m = &f.ui.messages.as_ref().unwrap()[0];
    assert_eq!(m.id, 4000001);
    assert!(m.text.contains("submitted too often"));
    ts.stop().await;
}

#[tokio::test]
async fn admin_recovery_code_and_link() {
    let ts = start(config("code")).await;
    let identity = create_identity(&ts, "admin-recover@example.org").await;

    let body = models::CreateRecoveryCodeForIdentityBody::new(identity.id.clone());
    let created = identity_api::create_recovery_code_for_identity(&ts.admin_sdk(), Some(body))
        .await
        .unwrap();
    assert_eq!(created.recovery_code.len(), 6);
    assert!(
        created
            .recovery_link
            .starts_with("http://ui.test/recovery?flow=")
    );
    let id = flow_param(&created.recovery_link);
    // The admin flow is a browser flow waiting for the code.
    let b = browser();
    let res = b
        .post(format!("{}/self-service/recovery?flow={id}", ts.public_url))
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(json!({ "method": "code", "code": created.recovery_code }).to_string())
        .send()
        .await
        .unwrap();
    // Admin flows skip the CSRF check (the browser opening the link did not create them).
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    assert!(
        err["redirect_browser_to"]
            .as_str()
            .unwrap()
            .starts_with("http://ui.test/settings?flow=")
    );
    assert_eq!(
        whoami_cookie(&ts, &b).await["identity"]["id"],
        identity.id.as_str()
    );

    // Through the API flow type, the code logs in directly.
    let mut body = models::CreateRecoveryCodeForIdentityBody::new(identity.id.clone());
    body.flow_type = Some("api".into());
    let created = identity_api::create_recovery_code_for_identity(&ts.admin_sdk(), Some(body))
        .await
        .unwrap();
    let id = flow_param(&created.recovery_link);
    let res = harness::client()
        .post(format!("{}/self-service/recovery?flow={id}", ts.public_url))
        .json(&json!({ "method": "code", "code": created.recovery_code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["state"], "passed_challenge");

    // Admin-issued codes do not verify the address.
    let (verified, _, _) = address_status(&ts, &identity.id).await;
    assert!(!verified);
    ts.stop().await;

    let ts = start(config("link")).await;
    let identity = create_identity(&ts, "admin-link@example.org").await;
    let mut body = models::CreateRecoveryLinkForIdentityBody::new(identity.id.clone());
    body.expires_in = Some("10m".into());
    let created =
        identity_api::create_recovery_link_for_identity(&ts.admin_sdk(), None, Some(body))
            .await
            .unwrap();
    assert!(
        created
            .recovery_link
            .starts_with(&format!("{}/self-service/recovery?flow=", ts.public_url))
    );
    let b = browser();
    let res = b.get(&created.recovery_link).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("http://ui.test/settings?flow="));
    assert_eq!(
        whoami_cookie(&ts, &b).await["identity"]["id"],
        identity.id.as_str()
    );

    // Unknown identities are a 404.
    let body = models::CreateRecoveryLinkForIdentityBody::new(uuid::Uuid::new_v4().to_string());
    let err = identity_api::create_recovery_link_for_identity(&ts.admin_sdk(), None, Some(body))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    ts.stop().await;
}

#[tokio::test]
async fn recovery_revokes_other_sessions_with_the_hook() {
    let ts = start(config_with(
        "code",
        json!({ "selfservice": { "flows": { "recovery": { "after": { "hooks": [{ "hook": "revoke_active_sessions" }] } } } } }),
    ))
    .await;
    create_identity(&ts, "revoke@example.org").await;
    let sdk = ts.public_sdk();
    // An existing session from a password login.
    let login = sdk::create_native_login_flow(&sdk, None, None, None, None, None, None, None, None)
        .await
        .unwrap();
    let res = harness::client()
        .post(format!("{}/self-service/login?flow={}", ts.public_url, login.id))
        .json(&json!({ "method": "password", "identifier": "revoke@example.org", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let old_token = res.json::<Value>().await.unwrap()["session_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        sdk::to_session(&sdk, Some(&old_token), None, None)
            .await
            .is_ok()
    );

    let flow = sdk::create_native_recovery_flow(&sdk).await.unwrap();
    sdk::update_recovery_flow(
        &sdk,
        &flow.id,
        code_body(Some("revoke@example.org"), None),
        None,
        None,
    )
    .await
    .unwrap();
    let code = code_in(&last_message(&ts, "revoke@example.org").await.1);
    let res = harness::client()
        .post(format!(
            "{}/self-service/recovery?flow={}",
            ts.public_url, flow.id
        ))
        .json(&json!({ "method": "code", "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    let new_token = done["continue_with"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "set_ory_session_token")
        .unwrap()["ory_session_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        sdk::to_session(&sdk, Some(&new_token), None, None)
            .await
            .is_ok()
    );
    assert!(
        sdk::to_session(&sdk, Some(&old_token), None, None)
            .await
            .is_err()
    );
    ts.stop().await;
}

#[tokio::test]
async fn recovery_codes_are_hashed_at_rest_and_expire() {
    let ts = start(config_with(
        "code",
        json!({ "selfservice": { "methods": { "code": { "config": { "lifespan": "1s" } } } } }),
    ))
    .await;
    create_identity(&ts, "expiring@example.org").await;
    let sdk = ts.public_sdk();
    let flow = sdk::create_native_recovery_flow(&sdk).await.unwrap();
    sdk::update_recovery_flow(
        &sdk,
        &flow.id,
        code_body(Some("expiring@example.org"), None),
        None,
        None,
    )
    .await
    .unwrap();
    let (_, body) = last_message(&ts, "expiring@example.org").await;
    let code = code_in(&body);
    assert!(body.contains("expiring@example.org") || body.contains(&code));

    // Only an HMAC of the code is stored.
    use kratos::persistence::Pool;
    const Q: &str = "SELECT hmac FROM selfservice_one_time_secrets";
    let stored: Vec<(String,)> = match ts.app.db.pool() {
        Pool::Sqlite(p) => sqlx::query_as(Q).fetch_all(p).await.unwrap(),
        Pool::MySql(p) => sqlx::query_as(Q).fetch_all(p).await.unwrap(),
        Pool::Postgres(p) => sqlx::query_as(Q).fetch_all(p).await.unwrap(),
    };
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0.len(), 64);
    assert!(!stored[0].0.contains(&code));

    // Past its lifespan the code is refused like a wrong one.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let f = sdk::update_recovery_flow(&sdk, &flow.id, code_body(None, Some(&code)), None, None)
        .await
        .unwrap();
    assert_eq!(f.ui.messages.as_ref().unwrap()[0].id, 4060006);
    assert_eq!(f.state, Some(json!("sent_email")));
    ts.stop().await;
}

#[tokio::test]
async fn recovery_refuses_sessions_and_replaces_expired_flows() {
    let ts = start(config_with(
        "code",
        json!({ "selfservice": { "flows": { "recovery": { "lifespan": "1s" } } } }),
    ))
    .await;
    create_identity(&ts, "expired-flow@example.org").await;

    // A logged-in browser cannot start recovery.
    let b = browser();
    let (id, csrf) = open_browser_flow(&ts, &b, "login").await;
    let res = post_form(
        &ts,
        &b,
        "login",
        &id,
        &[
            ("csrf_token", csrf.as_str()),
            ("method", "password"),
            ("identifier", "expired-flow@example.org"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let res = b
        .get(format!("{}/self-service/recovery/browser", ts.public_url))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["id"], "session_already_available");

    // An expired API flow answers 410 with its replacement, which carries Kratos's message.
    let sdk = ts.public_sdk();
    let flow = sdk::create_native_recovery_flow(&sdk).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let err = sdk::update_recovery_flow(
        &sdk,
        &flow.id,
        code_body(Some("expired-flow@example.org"), None),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert!(err.starts_with("410"), "{err}");
    let body: Value = serde_json::from_str(err.trim_start_matches("410: ")).unwrap();
    assert_eq!(body["error"]["id"], "self_service_flow_expired");
    let new_id = body["use_flow_id"].as_str().unwrap();
    let (status, replaced) = crate::flowkit::api_fetch(&ts, "recovery", new_id, None).await;
    assert_eq!(status, 200);
    assert_eq!(message_ids(&replaced), vec![4060005]);
    assert!(
        messages_to(&ts, "expired-flow@example.org")
            .await
            .is_empty()
    );
    ts.stop().await;
}
