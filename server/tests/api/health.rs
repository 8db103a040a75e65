use crate::harness::{TestServer, client};

#[tokio::test]
async fn health_version_and_kratos_error_shapes() {
    let srv = TestServer::start("").await;
    let http = client();

    for base in [&srv.public_url, &srv.admin_url] {
        let res = http
            .get(format!("{base}/health/alive"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = http
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    // The admin API answers with and without the /admin prefix.
    let res = http
        .get(format!("{}/admin/health/ready", srv.admin_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let version = ory_kratos_client::apis::metadata_api::get_version(&srv.public_sdk())
        .await
        .unwrap();
    assert_eq!(version.version, kratos::VERSION);
    let ready = ory_kratos_client::apis::metadata_api::is_ready(&srv.admin_sdk())
        .await
        .unwrap();
    assert_eq!(ready.status, "ok");

    let res = http
        .get(format!("{}/does/not/exist", srv.public_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 404);
    assert_eq!(body["error"]["status"], "Not Found");
    assert_eq!(
        body["error"]["message"],
        "The requested resource could not be found"
    );

    let res = http
        .delete(format!("{}/health/alive", srv.public_url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET");

    let metrics = http
        .get(format!("{}/admin/metrics/prometheus", srv.admin_url))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("kratos_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/health/alive\""), "{text}");
    srv.stop().await;
}
