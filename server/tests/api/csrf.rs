//! CSRF protection of browser flows, and API flows refusing browser traits (cookies, `Origin`).

use ory_kratos_client::apis::frontend_api;
use serde_json::{Value, json};

use crate::flowkit::*;

#[tokio::test]
async fn browser_submissions_need_the_csrf_token() {
    let ts = server("").await;
    let email = unique_email("csrf");
    create_identity(&ts, &email, PASSWORD).await;
    let b = Browser::new(&ts);
    let flow = b.open("login").await;
    let id = fid(&flow);
    let action = flow["ui"]["action"].as_str().unwrap().to_string();
    let creds = json!({ "method": "password", "identifier": email, "password": PASSWORD });

    // JSON (SPA) without a token: 403 security_csrf_violation.
    let res = b
        .http
        .post(&action)
        .header("accept", "application/json")
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["id"], "security_csrf_violation", "{body}");
    assert_eq!(body["error"]["code"], 403);

    // A wrong token: 403 as well.
    let mut wrong = creds.clone();
    wrong["csrf_token"] = json!("d3JvbmctdG9rZW4td3JvbmctdG9rZW4td3JvbmctdG9rZW4=");
    let res = b.http.post(&action).json(&wrong).send().await.unwrap();
    assert_eq!(res.status(), 403);

    // The right token from another browser (no CSRF cookie): 403.
    let other = Browser::new(&ts);
    let mut stolen = creds.clone();
    stolen["csrf_token"] = json!(csrf_of(&flow));
    let res = other.http.post(&action).json(&stolen).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["id"], "security_csrf_violation");
    // ...and another browser cannot even read the flow.
    let res = other
        .get(&format!(
            "{}/self-service/login/flows?id={id}",
            ts.public_url
        ))
        .await;
    assert_eq!(res.status(), 403);

    // A plain form post without a token goes to the error UI; the error is stored for the UI.
    let res = b
        .http
        .post(&action)
        .form(&[
            ("method", "password"),
            ("identifier", email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let loc = location(&res);
    assert!(loc.starts_with("http://ui.test/error?id="), "{loc}");
    let error_id = query_param(&loc, "id").unwrap();
    let error = frontend_api::get_flow_error(&ts.public_sdk(), &error_id)
        .await
        .unwrap();
    assert_eq!(error.id, error_id);
    let e = error.error.unwrap();
    assert_eq!(e["id"], "security_csrf_violation");
    assert_eq!(e["code"], 403);
    // Unknown error ids are 404s.
    let err = frontend_api::get_flow_error(&ts.public_sdk(), &uuid::Uuid::new_v4().to_string())
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 404);
    assert!(!b.has_cookie("ory_kratos_session"));

    // The token in the X-CSRF-Token header is accepted instead of the body field.
    let res = b
        .http
        .post(&action)
        .header("accept", "application/json")
        .header("x-csrf-token", csrf_of(&flow))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    assert!(b.has_cookie("ory_kratos_session"));
    ts.stop().await;
}

#[tokio::test]
async fn csrf_form_field_is_accepted_and_tokens_are_masked() {
    let ts = server("").await;
    let b = Browser::new(&ts);
    let first = csrf_of(&b.open("registration").await);
    let flow2 = b.open("registration").await;
    assert_ne!(
        first,
        csrf_of(&flow2),
        "each form gets a freshly masked token"
    );
    // The token of the first form is valid for the second flow: both mask the same cookie token.
    let res = b
        .submit_form(
            &flow2,
            &[
                ("csrf_token", &first),
                ("traits.email", &unique_email("masked")),
                ("password", PASSWORD),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "http://ui.test/");
    ts.stop().await;
}

#[tokio::test]
async fn api_flows_reject_cookies_and_origin() {
    let ts = server("").await;
    let email = unique_email("api-cookie");
    create_identity(&ts, &email, PASSWORD).await;
    let flow = api_init(&ts, "login", "", None).await;
    let url = format!("{}/self-service/login?flow={}", ts.public_url, fid(&flow));
    let creds = json!({ "method": "password", "identifier": email, "password": PASSWORD });
    let http = crate::harness::client();

    let res = http
        .post(&url)
        .header("cookie", "some_cookie=1")
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // As in Kratos, the refusal is a generic validation message (4000001) on the flow.
    let body: Value = res.json().await.unwrap();
    assert_eq!(message_ids(&body), vec![4000001], "{body}");
    assert!(
        body["ui"]["messages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("\"Cookie\""),
        "{body}"
    );

    let res = http
        .post(&url)
        .header("origin", "http://ui.test")
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(message_ids(&body), vec![4000001], "{body}");
    assert!(
        body["ui"]["messages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("\"Origin\""),
        "{body}"
    );

    // Cloudflare's cookies are ignored, as Kratos does.
    let res = http
        .post(&url)
        .header("cookie", "__cf_bm=abc; _cfuvid=def")
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    ts.stop().await;
}

fn set_cookie(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", res.headers()))
}

/// Registers a browser by form and returns the CSRF cookie of the init and the session cookie.
async fn cookies_of_registration(
    ts: &crate::harness::TestServer,
    session_cookie: &str,
) -> (String, String) {
    let b = Browser::new(ts);
    let res = b
        .get(&format!(
            "{}/self-service/registration/browser",
            ts.public_url
        ))
        .await;
    let csrf_cookie = set_cookie(&res, &kratos::selfservice::flow::csrf::cookie_name(&ts.app));
    let id = query_param(&location(&res), "flow").unwrap();
    let flow = b.flow("registration", &id).await;
    let email = unique_email("cookie");
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
    let session = set_cookie(&res, session_cookie);
    // The browser is signed in with that cookie.
    let whoami = b.get(&format!("{}/sessions/whoami", ts.public_url)).await;
    assert_eq!(whoami.status(), 200);
    (csrf_cookie, session)
}

#[tokio::test]
async fn cookie_attributes_follow_the_configuration() {
    let ts = server("").await;
    // The CSRF cookie is named after the public URL, as Kratos does.
    let name = kratos::selfservice::flow::csrf::cookie_name(&ts.app);
    let expected = {
        use sha2::Digest;
        format!(
            "csrf_token_{}",
            hex::encode(sha2::Sha256::digest(
                format!("{}/", ts.public_url).as_bytes()
            ))
        )
    };
    assert_eq!(name, expected);
    let (csrf, session) = cookies_of_registration(&ts, "ory_kratos_session").await;
    for c in [&csrf, &session] {
        assert!(c.contains("; Path=/"), "{c}");
        assert!(c.contains("; HttpOnly"), "{c}");
        assert!(c.contains("; SameSite=Lax"), "{c}");
        assert!(!c.contains("; Secure"), "dev mode over http: {c}");
    }
    assert!(csrf.contains("; Max-Age=31536000"), "{csrf}");
    // Persistent by default: the cookie lives as long as the session (24h).
    let max_age: i64 = session
        .split("; Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((86_390..=86_400).contains(&max_age), "{session}");
    ts.stop().await;

    let ts =
        server("session: { cookie: { name: my_session, persistent: false, same_site: Strict } }")
            .await;
    let (_, session) = cookies_of_registration(&ts, "my_session").await;
    assert!(
        !session.contains("Max-Age") && !session.contains("Expires"),
        "a session cookie: {session}"
    );
    assert!(session.contains("; SameSite=Strict"), "{session}");
    ts.stop().await;
}
