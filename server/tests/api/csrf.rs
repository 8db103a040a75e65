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
    let id = b
        .init("/self-service/login/browser", "http://ui.test/login?flow=")
        .await;
    let flow = b.flow("login", &id).await;
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
    let id = b
        .init(
            "/self-service/registration/browser",
            "http://ui.test/registration?flow=",
        )
        .await;
    let first = csrf_of(&b.flow("registration", &id).await);
    let id2 = b
        .init(
            "/self-service/registration/browser",
            "http://ui.test/registration?flow=",
        )
        .await;
    let flow2 = b.flow("registration", &id2).await;
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
