//! The HaveIBeenPwned k-anonymity check against a local range API, and how it degrades when the
//! API is unreachable (`ignore_network_errors`).

use std::sync::{Arc, Mutex};

use ory_kratos_client::models;
use serde_json::json;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::flowkit::*;

/// A fake range API: answers every `GET /range/<prefix>` with `body_for(prefix)` and records the
/// request lines it saw.
async fn start_range_api(breached: Vec<(String, u64)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let breached = breached.clone();
            let seen = seen2.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut read = 0;
                loop {
                    let n = conn.read(&mut buf[read..]).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    read += n;
                    if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let head = String::from_utf8_lossy(&buf[..read]).to_string();
                let line = head.lines().next().unwrap_or("").to_string();
                seen.lock().unwrap().push(line.clone());
                let prefix = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .trim_start_matches("/range/")
                    .to_string();
                // Some unrelated suffixes, then ours when the prefix matches.
                let mut body = String::from(
                    "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2\r\n",
                );
                for (digest, count) in &breached {
                    if digest.starts_with(&prefix) {
                        body.push_str(&format!("{}:{}\r\n", &digest[5..], count));
                    }
                }
                let res = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(res.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

fn sha1_hex(s: &str) -> String {
    hex::encode_upper(Sha1::digest(s.as_bytes()))
}

async fn try_register(
    ts: &crate::harness::TestServer,
    password: &str,
) -> Result<models::SuccessfulNativeRegistration, (u16, serde_json::Value)> {
    let flow = api_init(ts, "registration", "", None).await;
    let body = models::UpdateRegistrationFlowBody::Password(Box::new(
        models::UpdateRegistrationFlowWithPasswordMethod::new(
            "password".into(),
            password.into(),
            json!({ "email": unique_email("hibp") }),
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
    if status == 200 {
        Ok(check_success(&v))
    } else {
        Err((status, v))
    }
}

fn unique_password(tag: &str) -> String {
    // Unique per run: the breach cache is process-wide.
    format!("{tag}-{}-long-enough", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn breached_passwords_are_rejected_with_k_anonymity() {
    let breached = unique_password("breached");
    let rarely = unique_password("rarely");
    let (url, seen) =
        start_range_api(vec![(sha1_hex(&breached), 1234), (sha1_hex(&rarely), 3)]).await;
    let ts = server(&format!(
        "selfservice: {{ methods: {{ password: {{ config: {{ haveibeenpwned_enabled: true, haveibeenpwned_host: \"{url}\", max_breaches: 5, ignore_network_errors: false }} }} }} }}"
    ))
    .await;

    let (status, body) = try_register(&ts, &breached).await.unwrap_err();
    assert_eq!(status, 400);
    assert_eq!(node_message_ids(&body, "password"), vec![4000034], "{body}");
    let digest = sha1_hex(&breached);
    {
        let seen = seen.lock().unwrap();
        assert!(
            seen.iter()
                .any(|l| l.starts_with(&format!("GET /range/{} ", &digest[..5]))),
            "{seen:?}"
        );
        assert!(
            seen.iter().all(|l| !l.contains(&digest[5..])),
            "only the prefix leaves the server"
        );
    }

    // Under max_breaches, and unknown passwords, are fine.
    try_register(&ts, &rarely).await.unwrap();
    try_register(&ts, &unique_password("fresh")).await.unwrap();
    ts.stop().await;
}

#[tokio::test]
async fn unreachable_breach_api_follows_ignore_network_errors() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = |ignore: bool| {
        format!(
            "selfservice: {{ methods: {{ password: {{ config: {{ haveibeenpwned_enabled: true, haveibeenpwned_host: \"http://127.0.0.1:{port}\", ignore_network_errors: {ignore} }} }} }} }}"
        )
    };
    let ts = server(&config(true)).await;
    try_register(&ts, &unique_password("ignored"))
        .await
        .expect("network errors are ignored");
    ts.stop().await;

    let ts = server(&config(false)).await;
    let (status, body) = try_register(&ts, &unique_password("strict"))
        .await
        .unwrap_err();
    // Kratos answers with its upstream error (502) rather than accepting an unchecked password.
    assert_eq!(status, 502, "{body}");
    ts.stop().await;
}
