//! The database goes away while the server runs: readiness turns 503, requests fail cleanly in
//! Kratos's error shape (503, never 500 or a hang), and service resumes by itself when it is back.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{TcpProxy, TestDb, TestServer, backend, client};

/// `host:port` of a database URL.
fn host_port(dsn: &str) -> String {
    let url = url::Url::parse(dsn).unwrap();
    format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap()
    )
}

async fn wait_for_status(http: &reqwest::Client, url: &str, status: u16) -> Duration {
    let started = Instant::now();
    loop {
        let res = http
            .get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        if res.status().as_u16() == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{url} never answered {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn readiness_and_requests_survive_a_database_outage() {
    if backend() == "sqlite" || backend() == "memory" {
        // SQLite is embedded in the process: it cannot become unreachable. CI runs this test on
        // PostgreSQL and MySQL.
        return;
    }
    let db = TestDb::new().await;
    let target = host_port(&db.dsn);
    let proxy = TcpProxy::start(&target).await;
    let server_dsn = db.dsn.replacen(&target, &proxy.addr.to_string(), 1);
    let srv = TestServer::start_on("", db, server_dsn).await;
    let http = client();
    let ready = format!("{}/health/ready", srv.admin_url);

    let created: Value = http
        .post(format!("{}/admin/identities", srv.admin_url))
        .json(&json!({"schema_id": "default", "traits": {"email": "outage@example.org"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    wait_for_status(&http, &ready, 200).await;

    proxy.cut();
    wait_for_status(&http, &ready, 503).await;
    let res = http
        .get(format!("{}/admin/identities/{id}", srv.admin_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503, "a lost database is a 503, not a 500");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 503);
    assert!(body["error"]["message"].is_string());
    // Liveness does not depend on the database.
    assert_eq!(
        http.get(format!("{}/health/alive", srv.admin_url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    proxy.restore().await;
    wait_for_status(&http, &ready, 200).await;
    let res = http
        .get(format!("{}/admin/identities/{id}", srv.admin_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "service resumes once the database is back"
    );
    let again: Value = res.json().await.unwrap();
    assert_eq!(
        again["traits"]["email"], "outage@example.org",
        "nothing was lost"
    );
    srv.stop().await;
}
