//! The whoami session cache (`kratos_rs.session_cache`): hits answer without the database, and
//! revocation stays coherent on this replica at once, across replicas promptly (PostgreSQL change
//! notifications) or within the TTL (SQLite, MySQL); entries outlive the TTL only while changes
//! would be seen (PostgreSQL notifications, the SQLite commit watch).

use std::time::{Duration, Instant};

use ory_kratos_client::apis::{frontend_api, identity_api};
use serde_json::{Value, json};

use crate::harness::{TestDb, TestServer, backend, client};

const PASSWORD: &str = "a-long-and-unusual-passphrase-42";

/// Creates an identity with a password and logs in through the API flow; returns the session
/// token and the identity id.
async fn login(ts: &TestServer, email: &str) -> (String, String) {
    let http = client();
    let res = http
        .post(format!("{}/admin/identities", ts.admin_url))
        .json(&json!({
            "schema_id": "default",
            "traits": { "email": email },
            "credentials": { "password": { "config": { "password": PASSWORD } } }
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let identity: Value = res.json().await.unwrap();
    let flow: Value = http
        .get(format!("{}/self-service/login/api", ts.public_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = http
        .post(format!(
            "{}/self-service/login?flow={}",
            ts.public_url,
            flow["id"].as_str().unwrap()
        ))
        .json(&json!({ "method": "password", "identifier": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    (
        body["session_token"].as_str().unwrap().to_string(),
        identity["id"].as_str().unwrap().to_string(),
    )
}

async fn whoami_status(ts: &TestServer, token: &str) -> u16 {
    client()
        .get(format!("{}/sessions/whoami", ts.public_url))
        .header("X-Session-Token", token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Polls whoami on `ts` until it refuses `token`; returns how long that took.
async fn refused_within(ts: &TestServer, token: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let status = whoami_status(ts, token).await;
        if status == 401 {
            return start.elapsed();
        }
        assert_eq!(status, 200);
        assert!(
            start.elapsed() < limit,
            "the revoked session was still accepted after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn whoami_is_served_from_the_cache_and_revocation_applies_at_once() {
    let ts = TestServer::start("").await;
    let (token, identity_id) = login(&ts, "cache@example.org").await;

    let first = frontend_api::to_session(&ts.public_sdk(), Some(&token), None, None)
        .await
        .unwrap();
    let before = ts.app.session_cache.stats();
    let second = frontend_api::to_session(&ts.public_sdk(), Some(&token), None, None)
        .await
        .unwrap();
    let after = ts.app.session_cache.stats();
    assert_eq!(
        after.hits,
        before.hits + 1,
        "the second whoami was not a hit"
    );
    assert_eq!(first, second);
    // The cached response is the full session: identity with its addresses, and devices.
    assert_eq!(second.active, Some(true));
    let identity = second.identity.as_ref().unwrap();
    assert_eq!(identity.id, identity_id);
    assert_eq!(
        identity.verifiable_addresses.as_ref().unwrap()[0].value,
        "cache@example.org"
    );
    assert_eq!(identity.recovery_addresses.as_ref().unwrap().len(), 1);
    assert!(identity.credentials.is_none());
    assert_eq!(second.devices.as_ref().unwrap().len(), 1);

    // Extending through this replica shows in the next whoami.
    let session_id = second.id.clone();
    let extended = identity_api::extend_session(&ts.admin_sdk(), &session_id)
        .await
        .unwrap();
    let third = frontend_api::to_session(&ts.public_sdk(), Some(&token), None, None)
        .await
        .unwrap();
    assert_eq!(third.expires_at, extended.expires_at);

    // Logout through this replica is refused at once, cache or not.
    frontend_api::perform_native_logout(
        &ts.public_sdk(),
        ory_kratos_client::models::PerformNativeLogoutBody::new(token.clone()),
    )
    .await
    .unwrap();
    assert_eq!(whoami_status(&ts, &token).await, 401);

    // So is a session of an identity deactivated through this replica.
    let (token, identity_id) = login(&ts, "deactivated@example.org").await;
    assert_eq!(whoami_status(&ts, &token).await, 200);
    let res = client()
        .patch(format!("{}/admin/identities/{identity_id}", ts.admin_url))
        .json(&json!([{ "op": "replace", "path": "/state", "value": "inactive" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(whoami_status(&ts, &token).await, 401);
}

#[tokio::test]
async fn expired_sessions_are_refused_while_cached() {
    let ts = TestServer::start("session: { lifespan: 2s }").await;
    let (token, _) = login(&ts, "expiring@example.org").await;
    assert_eq!(whoami_status(&ts, &token).await, 200);
    assert_eq!(whoami_status(&ts, &token).await, 200);
    assert!(ts.app.session_cache.stats().hits >= 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(whoami_status(&ts, &token).await, 401);
}

#[tokio::test]
async fn revocation_through_another_replica_is_refused_promptly() {
    let postgres = backend() == "postgres";
    // With notifications the TTL must not matter: make it long. Without, it is the bound.
    let ttl = if postgres { "1h" } else { "1500ms" };
    let config = format!("kratos_rs: {{ session_cache: {{ ttl: {ttl} }} }}");
    let a = TestServer::start(&config).await;
    let dsn = a.db.dsn.clone();
    let b = TestServer::start_on(&config, TestDb::shared(&dsn), dsn).await;
    if postgres {
        let start = Instant::now();
        while !a.app.session_cache.is_listening() {
            assert!(start.elapsed() < Duration::from_secs(5), "never listening");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // Session disabled by an admin on replica b.
    let (token, _) = login(&a, "replicas@example.org").await;
    let session = frontend_api::to_session(&a.public_sdk(), Some(&token), None, None)
        .await
        .unwrap();
    assert_eq!(whoami_status(&a, &token).await, 200);
    let cached_at = Instant::now();
    identity_api::disable_session(&b.admin_sdk(), &session.id)
        .await
        .unwrap();
    assert_eq!(whoami_status(&b, &token).await, 401);
    if postgres {
        let took = refused_within(&a, &token, Duration::from_secs(2)).await;
        eprintln!("replica a refused the revoked session after {took:?}");
    } else {
        // Within the TTL replica a may still answer from its cache; never after it.
        if cached_at.elapsed() < Duration::from_millis(1000) {
            assert_eq!(whoami_status(&a, &token).await, 200);
        }
        refused_within(&a, &token, Duration::from_millis(1500 + 1000)).await;
    }

    // Identity deactivated on replica b.
    let (token, identity_id) = login(&a, "replicas2@example.org").await;
    assert_eq!(whoami_status(&a, &token).await, 200);
    assert_eq!(whoami_status(&a, &token).await, 200);
    let res = client()
        .patch(format!("{}/admin/identities/{identity_id}", b.admin_url))
        .json(&json!([{ "op": "replace", "path": "/state", "value": "inactive" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let limit = if postgres { 2000 } else { 2500 };
    refused_within(&a, &token, Duration::from_millis(limit)).await;

    // Traits changed on replica b show on replica a.
    let (token, identity_id) = login(&a, "traits@example.org").await;
    assert_eq!(whoami_status(&a, &token).await, 200);
    let res = client()
        .patch(format!("{}/admin/identities/{identity_id}", b.admin_url))
        .json(&json!([{ "op": "add", "path": "/traits/name", "value": { "first": "Ada" } }]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let start = Instant::now();
    loop {
        let s = frontend_api::to_session(&a.public_sdk(), Some(&token), None, None)
            .await
            .unwrap();
        let traits = s.identity.unwrap().traits.unwrap();
        if traits["name"]["first"] == "Ada" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_millis(limit),
            "stale traits"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.stop().await;
    a.stop().await;
}

/// Whether whoami for `token` was answered from the cache.
async fn whoami_was_a_hit(ts: &TestServer, token: &str) -> bool {
    let before = ts.app.session_cache.stats();
    assert_eq!(whoami_status(ts, token).await, 200);
    ts.app.session_cache.stats().hits > before.hits
}

#[tokio::test]
async fn entries_outlive_the_ttl_only_where_changes_are_seen() {
    // PostgreSQL notifies every change and SQLite files are watched for commits, so an entry
    // of an unchanged database outlives the TTL there; MySQL has neither.
    let watched = backend() != "mysql";
    let ttl = Duration::from_millis(1000);
    let ts = TestServer::start("kratos_rs: { session_cache: { ttl: 1s } }").await;
    if backend() == "postgres" {
        let start = Instant::now();
        while !ts.app.session_cache.is_listening() {
            assert!(start.elapsed() < Duration::from_secs(5), "never listening");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let (token, _) = login(&ts, "quiet@example.org").await;
    // Past the login's own commit (the watcher looks every quarter TTL).
    tokio::time::sleep(ttl / 2).await;
    assert_eq!(whoami_status(&ts, &token).await, 200);
    assert!(whoami_was_a_hit(&ts, &token).await);

    tokio::time::sleep(ttl * 3 / 2).await;
    assert_eq!(
        whoami_was_a_hit(&ts, &token).await,
        watched,
        "after the TTL, with no change in between"
    );

    // A commit the cache cannot attribute (here an unrelated identity; on SQLite the watcher
    // only sees that something changed) leaves the entry to the TTL again, except with
    // PostgreSQL's precise notifications.
    tokio::time::sleep(ttl / 2).await;
    assert_eq!(whoami_status(&ts, &token).await, 200);
    let res = client()
        .post(format!("{}/admin/identities", ts.admin_url))
        .json(&json!({ "schema_id": "default", "traits": { "email": "other@example.org" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    tokio::time::sleep(ttl * 3 / 2).await;
    assert_eq!(
        whoami_was_a_hit(&ts, &token).await,
        backend() == "postgres",
        "after the TTL, with an unrelated change in between"
    );
    ts.stop().await;
}
