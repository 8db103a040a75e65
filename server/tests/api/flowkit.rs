//! Helpers shared by the self-service flow tests: a browser-like client with a cookie jar, an SPA
//! variant of the official SDK sharing that jar, and readers for Kratos's flow JSON.

use std::sync::Arc;

use ory_kratos_client::apis::configuration::Configuration;
use ory_kratos_client::apis::frontend_api;
use ory_kratos_client::models;
use reqwest::cookie::{CookieStore, Jar};
use serde_json::{Value, json};

use crate::harness::TestServer;

/// UI URLs under `http://ui.test/` and the session hook after password registration, as most
/// deployments configure them.
const FLOW_DEFAULTS: &str = r#"
selfservice:
  flows:
    error: { ui_url: "http://ui.test/error" }
    login: { ui_url: "http://ui.test/login" }
    registration:
      ui_url: "http://ui.test/registration"
      after:
        password:
          hooks:
            - hook: session
    settings: { ui_url: "http://ui.test/settings" }
"#;

/// A test server with [`FLOW_DEFAULTS`] deep-merged with `extra` (YAML).
pub async fn server(extra: &str) -> TestServer {
    // Server errors are logged; show them with the failing test's output.
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let mut base: Value = serde_yaml_ng::from_str(FLOW_DEFAULTS).unwrap();
    if !extra.trim().is_empty() {
        crate::harness::merge(&mut base, serde_yaml_ng::from_str(extra).unwrap());
    }
    TestServer::start(&serde_json::to_string(&base).unwrap()).await
}

pub const PASSWORD: &str = "a-very-long-and-unusual-password-42!";

/// A browser: cookies are kept, redirects are not followed (so each 303 can be checked).
pub struct Browser {
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
    pub public_url: String,
}

impl Browser {
    pub fn new(ts: &TestServer) -> Browser {
        Browser::at(&ts.public_url)
    }

    /// A browser for a server at `public_url` (e.g. a `kratos` process).
    pub fn at(public_url: &str) -> Browser {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .build()
            .unwrap();
        Browser {
            http,
            jar,
            public_url: public_url.to_string(),
        }
    }

    /// The official SDK as an SPA uses it: same cookies, `Accept: application/json`.
    pub fn spa_sdk(&self) -> Configuration {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        let mut c = Configuration::new();
        c.base_path = self.public_url.clone();
        c.client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(self.jar.clone())
            .default_headers(headers)
            .build()
            .unwrap();
        c
    }

    /// The `Cookie` header the browser would send to the public API.
    pub fn cookie_header(&self) -> String {
        let url = self.public_url.parse().unwrap();
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.cookie_header()
            .split(';')
            .any(|c| c.trim().starts_with(&format!("{name}=")))
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.unwrap()
    }

    /// `GET <init>` as a browser; asserts the 303 to the UI and returns the flow id.
    pub async fn init(&self, path: &str, ui_prefix: &str) -> String {
        let res = self.get(&format!("{}{path}", self.public_url)).await;
        assert_eq!(res.status(), 303, "{path}: {:?}", res.text().await);
        let loc = location(&res);
        assert!(
            loc.starts_with(ui_prefix),
            "{path} redirected to {loc}, expected {ui_prefix}"
        );
        query_param(&loc, "flow").expect("flow id in the UI redirect")
    }

    /// Starts a browser flow of `kind` with the default UI URLs; returns the flow's JSON.
    pub async fn open(&self, kind: &str) -> Value {
        let path = format!("/self-service/{kind}/browser");
        let id = self
            .init(&path, &format!("http://ui.test/{kind}?flow="))
            .await;
        self.flow(kind, &id).await
    }

    /// Fetches a flow's JSON as the UI would (with the browser's cookies).
    pub async fn flow(&self, kind: &str, id: &str) -> Value {
        let res = self
            .get(&format!(
                "{}/self-service/{kind}/flows?id={id}",
                self.public_url
            ))
            .await;
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        check_flow_kind(kind, &v);
        v
    }

    /// Submits the flow's form: its CSRF token and `fields`.
    pub async fn submit(&self, flow: &Value, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = csrf_of(flow);
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend_from_slice(fields);
        self.submit_form(flow, &form).await
    }

    /// Posts a form to the flow's action, as a browser submits the rendered form.
    pub async fn submit_form(&self, flow: &Value, fields: &[(&str, &str)]) -> reqwest::Response {
        let action = flow["ui"]["action"].as_str().unwrap();
        self.http.post(action).form(fields).send().await.unwrap()
    }
}

/// A browser as a plain `reqwest` client (cookie jar, no automatic redirects), for tests that
/// open links from messages and post with the client's own API.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Starts a browser flow of `kind` in `b`; asserts the redirect to the UI and returns the flow's
/// id and CSRF token.
pub async fn open_browser_flow(
    ts: &TestServer,
    b: &reqwest::Client,
    kind: &str,
) -> (String, String) {
    let init = format!("{}/self-service/{kind}/browser", ts.public_url);
    let res = b.get(init).send().await.unwrap();
    assert_eq!(res.status(), 303, "{kind} browser init");
    let id = flow_param(&location(&res));
    let csrf = csrf_of(&fetch_flow(ts, b, kind, &id).await);
    (id, csrf)
}

/// A new browser flow of `kind` as an SPA starts it (`Accept: application/json`).
pub async fn spa_flow(ts: &TestServer, b: &reqwest::Client, kind: &str) -> Value {
    let init = format!("{}/self-service/{kind}/browser", ts.public_url);
    let res = b.get(init).header("accept", "application/json").send();
    res.await.unwrap().json().await.unwrap()
}

/// A flow fetched as JSON by the browser that owns it.
pub async fn fetch_flow(ts: &TestServer, b: &reqwest::Client, kind: &str, id: &str) -> Value {
    let res = b
        .get(format!(
            "{}/self-service/{kind}/flows?id={id}",
            ts.public_url
        ))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    check_flow_kind(kind, &v);
    v
}

/// Posts `fields` to the flow `id` of `kind` as its HTML form does.
pub async fn post_form(
    ts: &TestServer,
    b: &reqwest::Client,
    kind: &str,
    id: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let submit = format!("{}/self-service/{kind}?flow={id}", ts.public_url);
    b.post(submit).form(fields).send().await.unwrap()
}

/// Posts `body` to the flow `id` of `kind` as an SPA does (JSON in and out).
pub async fn post_json(
    ts: &TestServer,
    b: &reqwest::Client,
    kind: &str,
    id: &str,
    body: &Value,
) -> reqwest::Response {
    let submit = format!("{}/self-service/{kind}?flow={id}", ts.public_url);
    let req = b.post(submit).header("accept", "application/json");
    req.json(body).send().await.unwrap()
}

/// The `flow` query parameter of a UI URL.
pub fn flow_param(url: &str) -> String {
    query_param(url, "flow").unwrap_or_else(|| panic!("no flow in {url}"))
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The value of the hidden `csrf_token` node of a flow.
pub fn csrf_of(flow: &Value) -> String {
    node(flow, "csrf_token")
        .and_then(|n| n["attributes"]["value"].as_str().map(str::to_string))
        .expect("csrf_token node")
}

pub fn node<'a>(flow: &'a Value, name: &str) -> Option<&'a Value> {
    flow["ui"]["nodes"]
        .as_array()?
        .iter()
        .find(|n| n["attributes"]["name"] == name)
}

/// Every message id of a flow: global ones, then per node.
pub fn message_ids(flow: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = flow["ui"]["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_i64())
        .collect();
    for n in flow["ui"]["nodes"].as_array().into_iter().flatten() {
        ids.extend(
            n["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["id"].as_i64()),
        );
    }
    ids
}

/// The message ids on one node.
pub fn node_message_ids(flow: &Value, name: &str) -> Vec<i64> {
    node(flow, name)
        .and_then(|n| n["messages"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_i64())
        .collect()
}

/// The JSON body of an SDK error (the raw content), for checking Kratos's error shape.
pub fn sdk_error_body<T: std::fmt::Debug>(err: ory_kratos_client::apis::Error<T>) -> (u16, Value) {
    match err {
        ory_kratos_client::apis::Error::ResponseError(rc) => (
            rc.status.as_u16(),
            serde_json::from_str(&rc.content).unwrap_or(Value::Null),
        ),
        other => panic!("expected an HTTP error response, got {other:?}"),
    }
}

pub fn unique_email(prefix: &str) -> String {
    format!(
        "{prefix}-{}@example.org",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Registers through the API flow (the SDK's request body, sent as JSON); returns the raw answer
/// (with a session when the session hook is on) after checking it against the SDK's model.
pub async fn register_api_raw(ts: &TestServer, email: &str, password: &str) -> Value {
    let flow = api_init(ts, "registration", "", None).await;
    let body = models::UpdateRegistrationFlowBody::Password(Box::new(
        models::UpdateRegistrationFlowWithPasswordMethod::new(
            "password".into(),
            password.into(),
            json!({ "email": email }),
        ),
    ));
    let (status, v) = api_submit(
        ts,
        "registration",
        &fid(&flow),
        serde_json::to_value(body).unwrap(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let _: models::SuccessfulNativeRegistration = check_success(&v);
    v
}

/// [`register_api_raw`], typed with the SDK's model (without `continue_with`, see [`check_success`]).
pub async fn register_api(
    ts: &TestServer,
    email: &str,
    password: &str,
) -> models::SuccessfulNativeRegistration {
    check_success(&register_api_raw(ts, email, password).await)
}

/// Checks a successful flow answer against the SDK's model. `continue_with` items are checked one
/// by one against their concrete models: the SDK's `ContinueWith` enum has the same tag defect as
/// its UI nodes (the `action` tag is consumed, then required by the variant).
pub fn check_success<T: serde::de::DeserializeOwned>(v: &Value) -> T {
    let mut rest = v.clone();
    let items = rest
        .as_object_mut()
        .and_then(|o| o.remove("continue_with"))
        .unwrap_or(Value::Null);
    check_continue_with(&items);
    serde_json::from_value(rest).unwrap_or_else(|e| panic!("the SDK cannot read this: {e}\n{v}"))
}

/// Checks `continue_with` items against the SDK's concrete models (see [`check_success`]).
pub fn check_continue_with(items: &Value) {
    for item in items.as_array().into_iter().flatten() {
        let ok = match item["action"].as_str().expect("continue_with action") {
            "set_ory_session_token" => {
                serde_json::from_value::<models::ContinueWithSetOrySessionToken>(item.clone())
                    .map(drop)
            }
            "redirect_browser_to" => {
                serde_json::from_value::<models::ContinueWithRedirectBrowserTo>(item.clone())
                    .map(drop)
            }
            "show_verification_ui" => {
                serde_json::from_value::<models::ContinueWithVerificationUi>(item.clone()).map(drop)
            }
            "show_settings_ui" => {
                serde_json::from_value::<models::ContinueWithSettingsUi>(item.clone()).map(drop)
            }
            "show_recovery_ui" => {
                serde_json::from_value::<models::ContinueWithRecoveryUi>(item.clone()).map(drop)
            }
            other => panic!("unknown continue_with action {other}"),
        };
        ok.unwrap_or_else(|e| panic!("the SDK cannot read continue_with: {e}\n{item}"));
    }
}

/// Creates an identity with a password through the admin API (no session).
pub async fn create_identity(ts: &TestServer, email: &str, password: &str) -> String {
    let res = crate::harness::client()
        .post(format!("{}/admin/identities", ts.admin_url))
        .json(&json!({
            "schema_id": "default",
            "traits": { "email": email },
            "credentials": { "password": { "config": { "password": password } } }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    let v: Value = res.json().await.unwrap();
    v["id"].as_str().unwrap().to_string()
}

/// Logs in through the API flow with the official SDK; returns the session token.
pub async fn login_api(
    ts: &TestServer,
    identifier: &str,
    password: &str,
) -> models::SuccessfulNativeLogin {
    let sdk = ts.public_sdk();
    let flow = api_init(ts, "login", "", None).await;
    frontend_api::update_login_flow(
        &sdk,
        &fid(&flow),
        password_login(identifier, password, None),
        None,
        None,
    )
    .await
    .unwrap()
}

pub fn password_login(
    identifier: &str,
    password: &str,
    csrf: Option<String>,
) -> models::UpdateLoginFlowBody {
    let mut m = models::UpdateLoginFlowWithPasswordMethod::new(
        identifier.into(),
        "password".into(),
        password.into(),
    );
    m.csrf_token = csrf;
    models::UpdateLoginFlowBody::Password(Box::new(m))
}

/// Registers and logs in a browser with forms (303s all the way); the browser ends with a session
/// cookie.
pub async fn browser_register(b: &Browser, email: &str, password: &str) {
    let flow = b.open("registration").await;
    let res = b
        .submit(
            &flow,
            &[
                ("traits.email", email),
                ("password", password),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    assert!(b.has_cookie("ory_kratos_session"));
}

pub async fn browser_login(b: &Browser, email: &str, password: &str) -> reqwest::Response {
    let flow = b.open("login").await;
    b.submit(
        &flow,
        &[
            ("identifier", email),
            ("password", password),
            ("method", "password"),
        ],
    )
    .await
}

/// Checks a flow's JSON against the official SDK's models.
///
/// The 26.2.0 Rust SDK cannot deserialize UI nodes from any Kratos: `UiNodeAttributes` is an
/// internally tagged enum on `node_type` whose variants also require `node_type`, which serde has
/// already consumed as the tag (ory/sdk#325, ory/kratos-client-rust#3). So the flow is checked
/// without its nodes, and every node part by part against the SDK's concrete attribute, meta and
/// message models.
pub fn check_flow<T: serde::de::DeserializeOwned>(v: &Value) -> T {
    let mut without_nodes = v.clone();
    without_nodes["ui"]["nodes"] = json!([]);
    if let Some(items) = without_nodes
        .as_object_mut()
        .and_then(|o| o.remove("continue_with"))
    {
        check_continue_with(&items);
    }
    let typed: T = serde_json::from_value(without_nodes)
        .unwrap_or_else(|e| panic!("the SDK cannot read this flow: {e}\n{v}"));
    for n in v["ui"]["nodes"].as_array().expect("ui.nodes") {
        let a = n["attributes"].clone();
        let parsed = match a["node_type"].as_str().expect("attributes.node_type") {
            "input" => serde_json::from_value::<models::UiNodeInputAttributes>(a).map(drop),
            "text" => serde_json::from_value::<models::UiNodeTextAttributes>(a).map(drop),
            "img" => serde_json::from_value::<models::UiNodeImageAttributes>(a).map(drop),
            "a" => serde_json::from_value::<models::UiNodeAnchorAttributes>(a).map(drop),
            "script" => serde_json::from_value::<models::UiNodeScriptAttributes>(a).map(drop),
            "div" => serde_json::from_value::<models::UiNodeDivisionAttributes>(a).map(drop),
            other => panic!("unknown node_type {other}"),
        };
        parsed.unwrap_or_else(|e| panic!("the SDK cannot read node attributes: {e}\n{n}"));
        serde_json::from_value::<models::UiNodeMeta>(n["meta"].clone())
            .unwrap_or_else(|e| panic!("node meta: {e}\n{n}"));
        serde_json::from_value::<Vec<models::UiText>>(n["messages"].clone())
            .unwrap_or_else(|e| panic!("node messages: {e}\n{n}"));
        assert_eq!(n["type"], n["attributes"]["node_type"], "{n}");
        let group = n["group"].as_str().expect("group");
        assert!(
            [
                "default",
                "password",
                "oidc",
                "profile",
                "link",
                "code",
                "totp",
                "lookup_secret",
                "webauthn",
                "passkey",
                "identifier_first",
                "captcha",
                "saml",
                "oauth2_consent"
            ]
            .contains(&group),
            "{n}"
        );
    }
    typed
}

/// Checks a flow of `kind` against its SDK model.
pub fn check_flow_kind(kind: &str, v: &Value) {
    match kind {
        "login" => drop(check_flow::<models::LoginFlow>(v)),
        "registration" => drop(check_flow::<models::RegistrationFlow>(v)),
        "settings" => drop(check_flow::<models::SettingsFlow>(v)),
        "recovery" => drop(check_flow::<models::RecoveryFlow>(v)),
        "verification" => drop(check_flow::<models::VerificationFlow>(v)),
        other => panic!("unknown flow kind {other}"),
    }
}

pub fn fid(flow: &Value) -> String {
    flow["id"].as_str().expect("flow id").to_string()
}

async fn json_call(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `GET /self-service/<kind>/api?<query>` (with a session token for settings/refresh); the flow,
/// checked against the SDK.
pub async fn api_init(ts: &TestServer, kind: &str, query: &str, token: Option<&str>) -> Value {
    let mut req =
        crate::harness::client().get(format!("{}/self-service/{kind}/api?{query}", ts.public_url));
    if let Some(t) = token {
        req = req.header("x-session-token", t);
    }
    let (status, v) = json_call(req).await;
    assert_eq!(status, 200, "{v}");
    check_flow_kind(kind, &v);
    v
}

/// `GET /self-service/<kind>/flows?id=` for API flows.
pub async fn api_fetch(ts: &TestServer, kind: &str, id: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = crate::harness::client().get(format!(
        "{}/self-service/{kind}/flows?id={id}",
        ts.public_url
    ));
    if let Some(t) = token {
        req = req.header("x-session-token", t);
    }
    let (status, v) = json_call(req).await;
    if status == 200 {
        check_flow_kind(kind, &v);
    }
    (status, v)
}

/// `POST /self-service/<kind>?flow=` with a JSON body (and a session token).
pub async fn api_submit(
    ts: &TestServer,
    kind: &str,
    id: &str,
    body: Value,
    token: Option<&str>,
) -> (u16, Value) {
    let mut req = crate::harness::client()
        .post(format!("{}/self-service/{kind}?flow={id}", ts.public_url))
        .json(&body);
    if let Some(t) = token {
        req = req.header("x-session-token", t);
    }
    json_call(req).await
}

impl Browser {
    /// An SPA's init: `GET /self-service/<kind>/browser?<query>` with `Accept: application/json`.
    pub async fn spa_init(&self, kind: &str, query: &str) -> (u16, Value) {
        let (status, v) = json_call(
            self.http
                .get(format!(
                    "{}/self-service/{kind}/browser?{query}",
                    self.public_url
                ))
                .header("accept", "application/json"),
        )
        .await;
        if status == 200 {
            check_flow_kind(kind, &v);
        }
        (status, v)
    }

    /// An SPA's submission: JSON body, `Accept: application/json`, the browser's cookies.
    pub async fn spa_submit(&self, kind: &str, id: &str, body: Value) -> (u16, Value) {
        json_call(
            self.http
                .post(format!("{}/self-service/{kind}?flow={id}", self.public_url))
                .header("accept", "application/json")
                .json(&body),
        )
        .await
    }
}
