//! Sessions: whoami by cookie, `X-Session-Token` and `Authorization: Bearer`, the caller's own
//! sessions, the admin API, and logout (browser and API).

use ory_kratos_client::apis::{frontend_api, identity_api};
use ory_kratos_client::models;
use serde_json::Value;

use crate::flowkit::*;

#[tokio::test]
async fn whoami_by_cookie_token_and_bearer() {
    let ts = server("").await;
    let sdk = ts.public_sdk();
    let email = unique_email("whoami");
    let reg = register_api(&ts, &email, PASSWORD).await;
    let token = reg.session_token.unwrap();
    let session_id = reg.session.unwrap().id;
    let http = crate::harness::client();

    let by_token = frontend_api::to_session(&sdk, Some(&token), None, None)
        .await
        .unwrap();
    assert_eq!(by_token.id, session_id);
    assert_eq!(by_token.active, Some(true));
    assert_eq!(
        by_token.authenticator_assurance_level,
        Some(models::AuthenticatorAssuranceLevel::Aal1)
    );
    let methods = serde_json::to_value(by_token.authentication_methods.unwrap()).unwrap();
    assert_eq!(methods[0]["method"], "password");
    assert_eq!(methods[0]["aal"], "aal1");
    assert!(by_token.expires_at.unwrap() > by_token.issued_at.unwrap());

    let res = http
        .get(format!("{}/sessions/whoami", ts.public_url))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["x-kratos-authenticated-identity-id"]
            .to_str()
            .unwrap(),
        reg.identity.id
    );
    let s: models::Session = res.json().await.unwrap();
    assert_eq!(s.id, session_id);

    // Other methods work too (Kratos registers whoami for every verb).
    let res = http
        .post(format!("{}/sessions/whoami", ts.public_url))
        .header("x-session-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Browser: the session cookie.
    let b = Browser::new(&ts);
    browser_register(&b, &unique_email("whoami-browser"), PASSWORD).await;
    let s = frontend_api::to_session(&sdk, None, Some(&b.cookie_header()), None)
        .await
        .unwrap();
    assert!(
        s.identity.unwrap().traits.unwrap()["email"]
            .as_str()
            .unwrap()
            .starts_with("whoami-browser")
    );

    // A cookie whose signature does not match is refused.
    let cookie = b.cookie_header();
    let value = cookie
        .split(';')
        .find_map(|c| {
            c.trim()
                .strip_prefix("ory_kratos_session=")
                .map(str::to_string)
        })
        .unwrap();
    let (token_part, _) = value.rsplit_once('.').unwrap_or((value.as_str(), ""));
    let tampered =
        format!("ory_kratos_session={token_part}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let err = frontend_api::to_session(&sdk, None, Some(&tampered), None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 401);

    // Bad credentials: 401 session_inactive... for a wrong token, a missing one, and a garbage cookie.
    for (token, cookie) in [
        (Some("ory_st_doesnotexist"), None),
        (None, None),
        (None, Some("ory_kratos_session=garbage")),
    ] {
        let err = frontend_api::to_session(&sdk, token, cookie, None)
            .await
            .unwrap_err();
        let (status, body) = sdk_error_body(err);
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["id"], "session_inactive", "{body}");
    }
    ts.stop().await;
}

/// As Kratos's: whoami issues the session cookie again only once the session outlives it (after an
/// extension), not on every call.
#[tokio::test]
async fn whoami_reissues_the_cookie_only_after_an_extension() {
    let ts = server("").await;
    let b = Browser::new(&ts);
    browser_register(&b, &unique_email("reissue"), PASSWORD).await;
    let http = crate::harness::client();
    let whoami = |cookie: String| {
        let req = http
            .get(format!("{}/sessions/whoami", ts.public_url))
            .header("cookie", cookie);
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200);
            let set_cookie = res
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .find(|c| c.starts_with("ory_kratos_session="));
            let body: Value = res.json().await.unwrap();
            (body, set_cookie)
        }
    };

    let (session, set_cookie) = whoami(b.cookie_header()).await;
    assert_eq!(set_cookie, None, "a current cookie is not issued again");
    let session_id = session["id"].as_str().unwrap().to_string();

    let extended = identity_api::extend_session(&ts.admin_sdk(), &session_id)
        .await
        .unwrap();
    let expiry = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    assert!(
        expiry(extended.expires_at.as_deref().unwrap())
            > expiry(session["expires_at"].as_str().unwrap())
    );
    let (after, set_cookie) = whoami(b.cookie_header()).await;
    assert_eq!(
        after["expires_at"],
        Value::from(extended.expires_at.unwrap())
    );
    let set_cookie = set_cookie.expect("the cookie of an extended session is issued again");
    let renewed = set_cookie.split(';').next().unwrap().to_string();
    let issued = b
        .cookie_header()
        .split("; ")
        .find(|c| c.starts_with("ory_kratos_session="))
        .unwrap()
        .to_string();
    assert_ne!(renewed, issued);

    // The renewed cookie is current again.
    let (again, set_cookie) = whoami(renewed).await;
    assert_eq!(again["id"], session["id"]);
    assert_eq!(set_cookie, None);
    ts.stop().await;
}

#[tokio::test]
async fn my_sessions_list_and_revoke() {
    let ts = server("").await;
    let sdk = ts.public_sdk();
    let email = unique_email("mine");
    let reg = register_api(&ts, &email, PASSWORD).await;
    let current = reg.session_token.unwrap();
    let current_id = reg.session.unwrap().id;
    let b = login_api(&ts, &email, PASSWORD).await;
    let c = login_api(&ts, &email, PASSWORD).await;
    let d = login_api(&ts, &email, PASSWORD).await;
    // Someone else's session is never listed.
    let stranger = register_api(&ts, &unique_email("stranger"), PASSWORD).await;

    let others = frontend_api::list_my_sessions(&sdk, None, None, None, None, Some(&current), None)
        .await
        .unwrap();
    let mut ids: Vec<String> = others.iter().map(|s| s.id.clone()).collect();
    ids.sort();
    let mut expected = vec![
        b.session.id.clone(),
        c.session.id.clone(),
        d.session.id.clone(),
    ];
    expected.sort();
    assert_eq!(ids, expected, "the current session is not listed");

    // Revoke one by id; the current one cannot be revoked this way; a stranger's is not found.
    frontend_api::disable_my_session(&sdk, &b.session.id, Some(&current), None)
        .await
        .unwrap();
    let err = frontend_api::to_session(&sdk, b.session_token.as_deref(), None, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 401);
    let err = frontend_api::disable_my_session(&sdk, &current_id, Some(&current), None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 400);
    let err =
        frontend_api::disable_my_session(&sdk, &stranger.session.unwrap().id, Some(&current), None)
            .await
            .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 404);

    // Revoke all others.
    let count = frontend_api::disable_my_other_sessions(&sdk, Some(&current), None)
        .await
        .unwrap();
    assert_eq!(count.count, Some(2));
    for t in [&c.session_token, &d.session_token] {
        let err = frontend_api::to_session(&sdk, t.as_deref(), None, None)
            .await
            .unwrap_err();
        assert_eq!(sdk_error_body(err).0, 401);
    }
    frontend_api::to_session(&sdk, Some(&current), None, None)
        .await
        .unwrap();
    assert!(
        frontend_api::list_my_sessions(&sdk, None, None, None, None, Some(&current), None)
            .await
            .unwrap()
            .is_empty()
    );
    frontend_api::to_session(&sdk, stranger.session_token.as_deref(), None, None)
        .await
        .unwrap();

    // Without a session: 401.
    let err = frontend_api::list_my_sessions(&sdk, None, None, None, None, None, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 401);
    ts.stop().await;
}

#[tokio::test]
async fn admin_session_management() {
    let ts = server("").await;
    let sdk = ts.public_sdk();
    let admin = ts.admin_sdk();
    let email = unique_email("admin-sessions");
    let reg = register_api(&ts, &email, PASSWORD).await;
    let identity_id = reg.identity.id.clone();
    let token = reg.session_token.unwrap();
    let session_id = reg.session.unwrap().id;
    let second = login_api(&ts, &email, PASSWORD).await;

    // Get, with devices: the client's IP and user agent.
    let s = identity_api::get_session(
        &admin,
        &session_id,
        Some(vec!["devices".into(), "identity".into()]),
    )
    .await
    .unwrap();
    assert_eq!(s.id, session_id);
    assert_eq!(s.identity.as_ref().unwrap().id, identity_id);
    let devices = s.devices.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].ip_address.as_deref(), Some("127.0.0.1"));

    // A login from a browser with a user agent: recorded on the session's device.
    let flow = api_init(&ts, "login", "", None).await;
    let res = crate::harness::client()
        .post(format!(
            "{}/self-service/login?flow={}",
            ts.public_url,
            fid(&flow)
        ))
        .header("user-agent", "Mozilla/5.0 (kratos-rs test)")
        .json(
            &serde_json::json!({ "method": "password", "identifier": email, "password": PASSWORD }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let with_ua: models::SuccessfulNativeLogin = res.json().await.unwrap();
    let s = identity_api::get_session(&admin, &with_ua.session.id, Some(vec!["devices".into()]))
        .await
        .unwrap();
    assert_eq!(
        s.devices.unwrap()[0].user_agent.as_deref(),
        Some("Mozilla/5.0 (kratos-rs test)")
    );

    // List all and by identity.
    let all = identity_api::list_sessions(
        &admin,
        None,
        None,
        Some(true),
        Some(vec!["identity".into()]),
    )
    .await
    .unwrap();
    assert!(all.iter().any(|s| s.id == session_id));
    assert!(all.iter().any(|s| s.id == second.session.id));
    let mine =
        identity_api::list_identity_sessions(&admin, &identity_id, None, None, None, None, None)
            .await
            .unwrap();
    assert_eq!(mine.len(), 3);
    let err = identity_api::list_identity_sessions(
        &admin,
        &uuid::Uuid::new_v4().to_string(),
        None,
        None,
        None,
        None,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 404);

    // Extend: the expiry moves forward (earliest_possible_extend defaults to the lifespan).
    let before = frontend_api::to_session(&sdk, Some(&token), None, None)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let extended = identity_api::extend_session(&admin, &session_id)
        .await
        .unwrap();
    assert!(
        extended.expires_at.clone().unwrap() > before.expires_at.unwrap(),
        "{extended:?}"
    );

    // Disable one: it stops working, stays listed as inactive.
    identity_api::disable_session(&admin, &session_id)
        .await
        .unwrap();
    let err = frontend_api::to_session(&sdk, Some(&token), None, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 401);
    let inactive = identity_api::list_identity_sessions(
        &admin,
        &identity_id,
        None,
        None,
        None,
        None,
        Some(false),
    )
    .await
    .unwrap();
    assert_eq!(
        inactive.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        vec![session_id.clone()]
    );
    assert_eq!(inactive[0].active, Some(false));
    let err = identity_api::get_session(&admin, &uuid::Uuid::new_v4().to_string(), None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 404);

    // Revoke all of the identity's sessions.
    identity_api::delete_identity_sessions(&admin, &identity_id)
        .await
        .unwrap();
    let err = frontend_api::to_session(&sdk, second.session_token.as_deref(), None, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 401);
    ts.stop().await;
}

#[tokio::test]
async fn logout_browser_and_api() {
    let ts = server("selfservice: { flows: { logout: { after: { default_browser_return_url: \"http://ui.test/bye\" } } } }").await;
    let sdk = ts.public_sdk();
    let b = Browser::new(&ts);
    browser_register(&b, &unique_email("logout"), PASSWORD).await;

    // Without a session there is nothing to log out.
    let err = frontend_api::create_browser_logout_flow(&Browser::new(&ts).spa_sdk(), None, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 401);

    let logout = frontend_api::create_browser_logout_flow(&sdk, Some(&b.cookie_header()), None)
        .await
        .unwrap();
    assert!(
        logout
            .logout_url
            .starts_with(&format!("{}/self-service/logout?token=", ts.public_url)),
        "{}",
        logout.logout_url
    );
    assert!(logout.logout_url.contains(&logout.logout_token));

    // A wrong token does not log out.
    let res = b
        .http
        .get(format!("{}/self-service/logout?token=wrong", ts.public_url))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    frontend_api::to_session(&b.spa_sdk(), None, None, None)
        .await
        .unwrap();

    let res = b.get(&logout.logout_url).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "http://ui.test/bye");
    assert!(
        !b.has_cookie("ory_kratos_session"),
        "the session cookie is removed"
    );
    let err = frontend_api::to_session(&b.spa_sdk(), None, None, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 401);

    // return_to on the logout URL must be allowed.
    let b = Browser::new(&ts);
    browser_register(&b, &unique_email("logout-rt"), PASSWORD).await;
    let err =
        frontend_api::create_browser_logout_flow(&b.spa_sdk(), None, Some("https://evil.test/"))
            .await
            .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 400);
    let logout = frontend_api::create_browser_logout_flow(
        &sdk,
        Some(&b.cookie_header()),
        Some("http://ui.test/later"),
    )
    .await
    .unwrap();
    assert!(
        logout
            .logout_url
            .contains("return_to=http%3A%2F%2Fui.test%2Flater"),
        "{}",
        logout.logout_url
    );
    let res = b.get(&logout.logout_url).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "http://ui.test/later");
    let err = frontend_api::to_session(&b.spa_sdk(), None, None, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 401);

    // SPAs log out with the token and get a 204.
    let b = Browser::new(&ts);
    browser_register(&b, &unique_email("logout-spa"), PASSWORD).await;
    let logout = frontend_api::create_browser_logout_flow(&b.spa_sdk(), None, None)
        .await
        .unwrap();
    frontend_api::update_logout_flow(&b.spa_sdk(), Some(&logout.logout_token), None, None)
        .await
        .unwrap();
    let err = frontend_api::to_session(&b.spa_sdk(), None, None, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 401);

    // API: DELETE /self-service/logout/api with the token.
    let reg = register_api(&ts, &unique_email("logout-api"), PASSWORD).await;
    let token = reg.session_token.unwrap();
    frontend_api::perform_native_logout(&sdk, models::PerformNativeLogoutBody::new(token.clone()))
        .await
        .unwrap();
    let err = frontend_api::to_session(&sdk, Some(&token), None, None)
        .await
        .unwrap_err();
    assert_eq!(sdk_error_body(err).0, 401);
    // Revoking it again is harmless (as Kratos's UPDATE still matches the row); an unknown
    // token is a 403.
    frontend_api::perform_native_logout(&sdk, models::PerformNativeLogoutBody::new(token))
        .await
        .unwrap();
    let err = frontend_api::perform_native_logout(
        &sdk,
        models::PerformNativeLogoutBody::new("ory_st_unknown".into()),
    )
    .await
    .unwrap_err();
    let (status, body): (u16, Value) = sdk_error_body(err);
    assert_eq!(status, 403, "{body}");
    ts.stop().await;
}

#[tokio::test]
async fn session_lifespan_and_earliest_possible_extend() {
    let ts = server("session: { lifespan: 3s, earliest_possible_extend: 2s }").await;
    let sdk = ts.public_sdk();
    let admin = ts.admin_sdk();
    let reg = register_api(&ts, &unique_email("lifespan"), PASSWORD).await;
    let token = reg.session_token.unwrap();
    let session = reg.session.unwrap();
    let issued =
        chrono::DateTime::parse_from_rfc3339(session.issued_at.as_deref().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(session.expires_at.as_deref().unwrap()).unwrap();
    assert_eq!(
        (expires - issued).num_seconds(),
        3,
        "expires_at follows session.lifespan"
    );

    // Too early to extend: the expiry stays.
    let same = identity_api::extend_session(&admin, &session.id)
        .await
        .unwrap();
    assert_eq!(same.expires_at, session.expires_at);

    // Within the last 2s it may be extended.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let extended = identity_api::extend_session(&admin, &session.id)
        .await
        .unwrap();
    let new_expiry =
        chrono::DateTime::parse_from_rfc3339(extended.expires_at.as_deref().unwrap()).unwrap();
    assert!(new_expiry > expires, "{new_expiry} > {expires}");

    // And it expires.
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let err = frontend_api::to_session(&sdk, Some(&token), None, None)
        .await
        .unwrap_err();
    let (status, body) = sdk_error_body(err);
    assert_eq!(status, 401, "{body}");
    ts.stop().await;
}

#[tokio::test]
async fn higher_aal_needs_a_session() {
    let ts = server("").await;
    let res = crate::harness::client()
        .get(format!("{}/self-service/login/api?aal=aal2", ts.public_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["id"], "session_aal1_required", "{body}");
    ts.stop().await;
}

/// The stored token and logout-token columns of every session, read straight from the database.
async fn stored_session_secrets(ts: &crate::harness::TestServer) -> Vec<String> {
    use sqlx::Connection;
    let query = "SELECT token_hash, logout_token_hash FROM sessions";
    let rows: Vec<(String, String)> = match crate::harness::backend().as_str() {
        "postgres" => {
            let mut c = sqlx::PgConnection::connect(&ts.db.dsn).await.unwrap();
            sqlx::query_as(query).fetch_all(&mut c).await.unwrap()
        }
        "mysql" => {
            let mut c = sqlx::MySqlConnection::connect(&ts.db.dsn).await.unwrap();
            sqlx::query_as(query).fetch_all(&mut c).await.unwrap()
        }
        _ => {
            let dsn = ts.db.dsn.replace("_fk=true&", "");
            let mut c = sqlx::SqliteConnection::connect(&dsn).await.unwrap();
            sqlx::query_as(query).fetch_all(&mut c).await.unwrap()
        }
    };
    rows.into_iter().flat_map(|(a, b)| [a, b]).collect()
}

#[tokio::test]
async fn session_secrets_are_stored_hashed() {
    let ts = server("").await;
    let reg = register_api(&ts, &unique_email("hashed"), PASSWORD).await;
    let token = reg.session_token.unwrap();
    let b = Browser::new(&ts);
    browser_register(&b, &unique_email("hashed-browser"), PASSWORD).await;
    let cookie_value = b
        .cookie_header()
        .split(';')
        .find_map(|c| {
            c.trim()
                .strip_prefix("ory_kratos_session=")
                .map(str::to_string)
        })
        .unwrap();
    let logout = frontend_api::create_browser_logout_flow(&b.spa_sdk(), None, None)
        .await
        .unwrap();

    let stored = stored_session_secrets(&ts).await;
    assert_eq!(stored.len(), 4);
    let secret_part = token.trim_start_matches("ory_st_");
    for value in &stored {
        assert!(
            !value.contains(secret_part),
            "the session token is stored in plaintext"
        );
        assert!(
            !value.contains(&logout.logout_token),
            "the logout token is stored in plaintext"
        );
        assert!(!cookie_value.contains(value.as_str()) && !value.contains(&cookie_value));
    }
    ts.stop().await;
}
