//! The courier: queueing, SMTP and HTTP delivery to real loopback servers, retries and
//! abandonment, concurrent workers, and the admin courier API through the official SDK.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kratos::courier::{self, Channel, Outgoing, TemplateType};
use ory_kratos_client::apis::courier_api;
use ory_kratos_client::models::CourierMessageStatus;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use warp::Filter;

use crate::harness::{TestServer, base64_encode};

/// A mail received by [`SmtpSink`].
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA section, dot-unstuffed, with CRLF line ends.
    pub data: String,
}

impl ReceivedMail {
    /// The value of a top-level header (unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some(v) = value.as_mut() {
                    v.push_str(line.trim_start());
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value
    }

    /// The decoded text of the MIME part with this content type.
    pub fn part(&self, content_type: &str) -> Option<String> {
        for chunk in self.data.split("\r\n--") {
            let Some((head, body)) = chunk.split_once("\r\n\r\n") else {
                continue;
            };
            let head_lower = head.to_ascii_lowercase();
            if !head_lower.contains(&format!("content-type: {content_type}")) {
                continue;
            }
            let body = body.trim_end_matches("\r\n");
            return Some(if head_lower.contains("quoted-printable") {
                decode_quoted_printable(body)
            } else {
                body.to_string()
            });
        }
        None
    }
}

fn decode_quoted_printable(s: &str) -> String {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if let Ok(b) =
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// How the sink speaks TLS.
#[derive(Clone, Copy, PartialEq)]
pub enum SinkTls {
    None,
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://` with STARTTLS offered (and required by the client).
    StartTls,
}

/// A minimal SMTP server on loopback that accepts every mail and keeps it.
pub struct SmtpSink {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<ReceivedMail>>>,
    tls: SinkTls,
    task: tokio::task::JoinHandle<()>,
}

/// The sink's self-signed certificate (CN=localhost, IP 127.0.0.1).
fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs =
        vec![CertificateDer::from_pem_slice(include_bytes!("fixtures/smtp-cert.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("fixtures/smtp-key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_with(0, SinkTls::None).await
    }

    /// Listens on a given port (0: any).
    pub async fn start_on(port: u16) -> SmtpSink {
        Self::start_with(port, SinkTls::None).await
    }

    pub async fn start_with(port: u16, tls: SinkTls) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails: Arc<Mutex<Vec<ReceivedMail>>> = Arc::default();
        let store = mails.clone();
        let acceptor = tls_acceptor();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match tls {
                        SinkTls::None => {
                            let _ = session(stream, store, false, true).await;
                        }
                        SinkTls::Implicit => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = session(stream, store, false, true).await;
                            }
                        }
                        SinkTls::StartTls => {
                            if let Ok(Some(plain)) =
                                session(stream, store.clone(), true, true).await
                                && let Ok(stream) = acceptor.accept(plain).await
                            {
                                let _ = session(stream, store, false, false).await;
                            }
                        }
                    }
                });
            }
        });
        SmtpSink {
            port,
            mails,
            tls,
            task,
        }
    }

    /// `courier.smtp.connection_uri` for this sink (certificate checks off for TLS modes).
    pub fn uri(&self) -> String {
        match self.tls {
            SinkTls::None => format!("smtp://127.0.0.1:{}/?disable_starttls=true", self.port),
            SinkTls::Implicit => format!("smtps://127.0.0.1:{}/?skip_ssl_verify=true", self.port),
            SinkTls::StartTls => format!("smtp://127.0.0.1:{}/?skip_ssl_verify=true", self.port),
        }
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.mails.lock().unwrap().clone()
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// Speaks SMTP on `stream`. With `offer_starttls`, returns the stream when the client asks for
/// STARTTLS (the caller upgrades it and starts a new session); mail is only accepted once the
/// session is not offering STARTTLS any more (i.e. after the upgrade, or in plain mode).
async fn session<S>(
    stream: S,
    store: Arc<Mutex<Vec<ReceivedMail>>>,
    offer_starttls: bool,
    greet: bool,
) -> std::io::Result<Option<S>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut lines = BufReader::new(stream);
    // After STARTTLS the client speaks first (EHLO) without a new greeting.
    if greet {
        lines
            .get_mut()
            .write_all(b"220 sink.test ESMTP ready\r\n")
            .await?;
    }
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let upper = line.trim_end().to_ascii_uppercase();
        let out = lines.get_mut();
        if upper.starts_with("EHLO") {
            if offer_starttls {
                out.write_all(b"250-sink.test greets you\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
                    .await?;
            } else {
                out.write_all(b"250-sink.test greets you\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    .await?;
            }
        } else if upper == "STARTTLS" && offer_starttls {
            out.write_all(b"220 go ahead\r\n").await?;
            return Ok(Some(lines.into_inner()));
        } else if upper.starts_with("HELO") {
            out.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            if offer_starttls {
                out.write_all(b"530 must issue STARTTLS first\r\n").await?;
                continue;
            }
            mail_from = line.trim_end()[10..].trim().to_string();
            rcpt_to.clear();
            out.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            rcpt_to.push(line.trim_end()[8..].trim().to_string());
            out.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            out.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if lines.read_line(&mut l).await? == 0 {
                    return Ok(None);
                }
                if l == ".\r\n" {
                    break;
                }
                let l = l.strip_prefix('.').unwrap_or(&l);
                data.push_str(l);
            }
            store.lock().unwrap().push(ReceivedMail {
                mail_from: mail_from.clone(),
                rcpt_to: rcpt_to.clone(),
                data,
            });
            lines.get_mut().write_all(b"250 OK queued\r\n").await?;
        } else if upper == "QUIT" {
            out.write_all(b"221 bye\r\n").await?;
            return Ok(None);
        } else if upper == "RSET" || upper == "NOOP" {
            out.write_all(b"250 OK\r\n").await?;
        } else {
            out.write_all(b"502 not implemented\r\n").await?;
        }
    }
}

/// Requests received: method, headers (lower-case names), JSON body.
type Captured = Arc<Mutex<Vec<(String, HashMap<String, String>, Value)>>>;

/// A recipient of HTTP deliveries: keeps every request's method, headers and JSON body.
struct HttpReceiver {
    url: String,
    requests: Captured,
}

impl HttpReceiver {
    async fn start() -> HttpReceiver {
        Self::start_with_status(http::StatusCode::ACCEPTED).await
    }

    /// A receiver answering every request with `status`.
    async fn start_with_status(status: http::StatusCode) -> HttpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/deliver", listener.local_addr().unwrap());
        let requests: Captured = Arc::default();
        let store = requests.clone();
        let route = warp::any()
            .and(warp::method())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .map(
                move |method: http::Method, headers: http::HeaderMap, body: bytes::Bytes| {
                    let headers = headers
                        .iter()
                        .map(|(k, v)| {
                            (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                        })
                        .collect();
                    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    store
                        .lock()
                        .unwrap()
                        .push((method.to_string(), headers, body));
                    warp::reply::with_status("ok", status)
                },
            );
        tokio::spawn(warp::serve(route).incoming(listener).run());
        HttpReceiver { url, requests }
    }
}

async fn drain(ts: &TestServer) {
    for _ in 0..20 {
        if courier::worker::process_batch(&ts.app).await.unwrap() == 0 {
            return;
        }
    }
}

fn email(t: TemplateType, to: &str, model: Value) -> Outgoing {
    Outgoing {
        template: t,
        channel: Channel::Email,
        recipient: to.to_string(),
        model,
    }
}

#[tokio::test]
async fn smtp_delivery_with_builtin_and_overridden_templates() {
    let sink = SmtpSink::start().await;
    let subject_override = base64_encode("Code for {{ .To }}: {{ RecoveryCode }}");
    let html_override = base64_encode("<b>{{ RecoveryCode }}</b> {{ Identity.traits.name }}");
    let ts = TestServer::start(&format!(
        r#"
courier:
  smtp:
    connection_uri: "{}"
    from_address: noreply@kratos.test
    from_name: Kratos Team
    headers:
      X-Courier-Test: "yes"
  templates:
    recovery_code:
      valid:
        email:
          subject: "base64://{subject_override}"
          body:
            html: "base64://{html_override}"
"#,
        sink.uri()
    ))
    .await;

    let verification = courier::queue(
        &ts.app,
        email(
            TemplateType::VerificationCodeValid,
            "alice@example.com",
            json!({"VerificationCode": "424242", "VerificationURL": "http://ui.test/verify?flow=1&code=424242", "ExpiresInMinutes": 15}),
        ),
    )
    .await
    .unwrap();
    let recovery = courier::queue(
        &ts.app,
        email(
            TemplateType::RecoveryCodeValid,
            "bob@example.com",
            json!({"RecoveryCode": "135790", "Identity": {"traits": {"name": "<Bob>"}}, "ExpiresInMinutes": 60}),
        ),
    )
    .await
    .unwrap();
    drain(&ts).await;

    let mails = sink.received();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let alice = mails
        .iter()
        .find(|m| m.rcpt_to == ["<alice@example.com>"])
        .unwrap();
    assert_eq!(alice.mail_from, "<noreply@kratos.test>");
    assert_eq!(
        alice.header("From").unwrap(),
        "\"Kratos Team\" <noreply@kratos.test>"
    );
    assert_eq!(alice.header("To").unwrap(), "alice@example.com");
    assert_eq!(alice.header("X-Courier-Test").unwrap(), "yes");
    assert_eq!(
        alice.header("Subject").unwrap(),
        "Your verification code: 424242"
    );
    let text = alice.part("text/plain").unwrap();
    assert!(text.contains("424242"), "{text}");
    assert!(
        text.contains("http://ui.test/verify?flow=1&code=424242"),
        "{text}"
    );
    assert!(text.contains("15 minutes"), "{text}");
    let html = alice.part("text/html").unwrap();
    assert!(
        html.contains("<a href=\"http://ui.test/verify?flow=1&amp;code=424242\">"),
        "{html}"
    );

    let bob = mails
        .iter()
        .find(|m| m.rcpt_to == ["<bob@example.com>"])
        .unwrap();
    assert_eq!(
        bob.header("Subject").unwrap(),
        "Code for bob@example.com: 135790"
    );
    assert_eq!(bob.part("text/html").unwrap(), "<b>135790</b> &lt;Bob&gt;");
    assert!(bob.part("text/plain").unwrap().contains("135790"));

    // The admin API shows both as sent, each with one successful dispatch.
    for id in [verification, recovery] {
        let m = courier_api::get_courier_message(&ts.admin_sdk(), &id.to_string())
            .await
            .unwrap();
        assert_eq!(m.status, CourierMessageStatus::Sent);
        assert_eq!(m.send_count, 1);
        assert_eq!(m.channel.as_deref(), Some("email"));
        let dispatches = m.dispatches.unwrap();
        assert_eq!(dispatches.len(), 1);
        assert!(dispatches[0].error.is_none());
    }
    sink.stop();
    ts.stop().await;
}

#[tokio::test]
async fn template_override_directory_and_file_uris() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let valid = dir.path().join("login_code/valid");
    std::fs::create_dir_all(&valid).unwrap();
    std::fs::write(
        valid.join("email.subject.gotmpl"),
        "Sign in with {{ .LoginCode }}",
    )
    .unwrap();
    std::fs::write(
        valid.join("email.body.plaintext.gotmpl"),
        "Hi {{ .Identity.traits.email }}, code {{ .LoginCode }}",
    )
    .unwrap();
    let html_file = dir.path().join("login.html");
    std::fs::write(&html_file, "<p>{{ LoginCode }}</p>").unwrap();
    let ts = TestServer::start(&format!(
        r#"
courier:
  template_override_path: "{}"
  smtp:
    connection_uri: "{}"
  templates:
    login_code:
      valid:
        email:
          body:
            html: "file://{}"
"#,
        dir.path().display(),
        sink.uri(),
        html_file.display()
    ))
    .await;
    courier::queue(
        &ts.app,
        email(
            TemplateType::LoginCodeValid,
            "carol@example.com",
            json!({"LoginCode": "777888", "Identity": {"traits": {"email": "carol@example.com"}}}),
        ),
    )
    .await
    .unwrap();
    drain(&ts).await;
    let mails = sink.received();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].header("Subject").unwrap(), "Sign in with 777888");
    assert_eq!(
        mails[0].part("text/plain").unwrap(),
        "Hi carol@example.com, code 777888"
    );
    assert_eq!(mails[0].part("text/html").unwrap(), "<p>777888</p>");
    // The default sender.
    assert_eq!(mails[0].mail_from, "<no-reply@ory.kratos.sh>");
    sink.stop();
    ts.stop().await;
}

#[tokio::test]
async fn http_delivery_for_email_and_sms() {
    let receiver = HttpReceiver::start().await;
    let body = base64_encode(
        r#"function(ctx) {
  to: ctx.recipient,
  subject: ctx.subject,
  kind: ctx.template_type,
  code: if ctx.template_type == "recovery_code_valid" then ctx.template_data.recovery_code else null,
  text: "Body: " + ctx.body,
}"#,
    );
    let ts = TestServer::start(&format!(
        r#"
courier:
  delivery_strategy: http
  http:
    request_config:
      url: "{url}"
      method: PUT
      headers:
        X-Static: static-value
      body: "base64://{body}"
      auth:
        type: basic_auth
        config:
          user: courier
          password: s3cret
  channels:
    - id: sms
      type: http
      request_config:
        url: "{url}"
        method: POST
        auth:
          type: api_key
          config:
            name: X-Api-Key
            value: key-123
            in: header
"#,
        url = receiver.url
    ))
    .await;
    courier::queue(
        &ts.app,
        email(
            TemplateType::RecoveryCodeValid,
            "dave@example.com",
            json!({"RecoveryCode": "246810", "ExpiresInMinutes": 5}),
        ),
    )
    .await
    .unwrap();
    let sms = courier::queue(
        &ts.app,
        Outgoing {
            template: TemplateType::VerificationCodeValid,
            channel: Channel::Sms,
            recipient: "+4915112345678".into(),
            model: json!({"VerificationCode": "112233", "RequestURL": "https://app.example.com/verify"}),
        },
    )
    .await
    .unwrap();
    drain(&ts).await;

    let requests = receiver.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let (method, headers, mail) = requests
        .iter()
        .find(|(m, _, _)| m == "PUT")
        .unwrap()
        .clone();
    assert_eq!(method, "PUT");
    assert_eq!(headers["x-static"], "static-value");
    assert_eq!(
        headers["authorization"],
        format!("Basic {}", base64_encode("courier:s3cret"))
    );
    assert_eq!(mail["to"], "dave@example.com");
    assert_eq!(mail["kind"], "recovery_code_valid");
    assert_eq!(mail["code"], "246810");
    assert_eq!(mail["subject"], "Your account recovery code: 246810");
    assert!(mail["text"].as_str().unwrap().starts_with("Body: "));

    // SMS: no body template, so the whole context is sent.
    let (_, headers, text) = requests
        .iter()
        .find(|(m, _, _)| m == "POST")
        .unwrap()
        .clone();
    assert_eq!(headers["x-api-key"], "key-123");
    assert_eq!(text["recipient"], "+4915112345678");
    assert_eq!(text["template_type"], "verification_code_valid");
    assert_eq!(text["template_data"]["verification_code"], "112233");
    assert_eq!(text["message_type"], "sms");
    assert!(
        text["body"]
            .as_str()
            .unwrap()
            .contains("@app.example.com #112233"),
        "{text}"
    );
    let m = courier_api::get_courier_message(&ts.admin_sdk(), &sms.to_string())
        .await
        .unwrap();
    assert_eq!(m.status, CourierMessageStatus::Sent);
    assert_eq!(m.channel.as_deref(), Some("sms"));
    assert_eq!(serde_json::to_value(m.r#type).unwrap(), json!("phone"));
    ts.stop().await;
}

#[tokio::test]
async fn smtp_outage_retries_then_abandons_and_nothing_queued_is_lost() {
    // A port with nothing listening: connections are refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ts = TestServer::start(&format!(
        r#"
courier:
  message_retries: 2
  smtp:
    connection_uri: "smtp://127.0.0.1:{port}/?disable_starttls=true"
"#
    ))
    .await;
    let doomed = courier::queue(
        &ts.app,
        email(
            TemplateType::RecoveryCodeInvalid,
            "gone@example.com",
            json!({}),
        ),
    )
    .await
    .unwrap();
    for attempt in 1..=3 {
        assert_eq!(
            courier::worker::process_batch(&ts.app).await.unwrap(),
            1,
            "attempt {attempt}"
        );
    }
    // Nothing left to attempt.
    assert_eq!(courier::worker::process_batch(&ts.app).await.unwrap(), 0);
    let m = courier_api::get_courier_message(&ts.admin_sdk(), &doomed.to_string())
        .await
        .unwrap();
    assert_eq!(m.status, CourierMessageStatus::Abandoned);
    assert_eq!(m.send_count, 3);
    let dispatches = m.dispatches.unwrap();
    assert_eq!(dispatches.len(), 3);
    for d in &dispatches {
        assert_eq!(serde_json::to_value(d.status).unwrap(), json!("failed"));
        let error = d.error.as_ref().unwrap();
        assert!(
            error["message"].as_str().unwrap().contains("SMTP"),
            "{error}"
        );
    }

    // Queued while the server is down: one failed attempt, still queued.
    let mut waiting = Vec::new();
    for i in 0..3 {
        waiting.push(
            courier::queue(
                &ts.app,
                email(
                    TemplateType::VerificationCodeValid,
                    &format!("user{i}@example.com"),
                    json!({"VerificationCode": format!("00000{i}")}),
                ),
            )
            .await
            .unwrap(),
        );
    }
    assert_eq!(courier::worker::process_batch(&ts.app).await.unwrap(), 3);
    let queued = courier_api::list_courier_messages(
        &ts.admin_sdk(),
        None,
        None,
        Some(CourierMessageStatus::Queued),
        None,
    )
    .await
    .unwrap();
    assert_eq!(queued.len(), 3);
    assert!(queued.iter().all(|m| m.send_count == 1));

    // The server comes back on the same port: the queue drains.
    let sink = SmtpSink::start_on(port).await;
    drain(&ts).await;
    let mails = sink.received();
    assert_eq!(mails.len(), 3, "{mails:?}");
    for id in waiting {
        let m = courier_api::get_courier_message(&ts.admin_sdk(), &id.to_string())
            .await
            .unwrap();
        assert_eq!(m.status, CourierMessageStatus::Sent);
        let statuses: Vec<Value> = m
            .dispatches
            .unwrap()
            .iter()
            .map(|d| serde_json::to_value(d.status).unwrap())
            .collect();
        assert_eq!(statuses, vec![json!("failed"), json!("success")]);
    }
    // The abandoned message stays abandoned and was never delivered.
    assert!(mails.iter().all(|m| m.rcpt_to != ["<gone@example.com>"]));
    sink.stop();
    ts.stop().await;
}

#[tokio::test]
async fn concurrent_workers_send_every_message_exactly_once() {
    let sink = SmtpSink::start().await;
    let ts = TestServer::start(&format!(
        r#"
courier:
  worker:
    pull_count: 3
    pull_wait: 10ms
  smtp:
    connection_uri: "{}"
"#,
        sink.uri()
    ))
    .await;
    let total = 24;
    for i in 0..total {
        courier::queue(
            &ts.app,
            email(
                TemplateType::LoginCodeValid,
                &format!("u{i}@example.com"),
                json!({"LoginCode": format!("{i:06}")}),
            ),
        )
        .await
        .unwrap();
    }
    // A second replica: its own App and connection pool on the same database.
    let replica = kratos::App::new(ts.app.config.clone()).await.unwrap();
    let mut workers = Vec::new();
    for app in [ts.app.clone(), ts.app.clone(), replica.clone(), replica] {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(courier::worker::run(app, async move {
            let _ = stopped.await;
        }));
        workers.push((stop, handle));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while sink.received().len() < total && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give any double delivery the chance to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (stop, handle) in workers {
        let _ = stop.send(());
        handle.await.unwrap();
    }
    let mails = sink.received();
    assert_eq!(mails.len(), total);
    let mut recipients: Vec<String> = mails.iter().map(|m| m.rcpt_to[0].clone()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), total);
    let sent = courier_api::list_courier_messages(
        &ts.admin_sdk(),
        None,
        None,
        Some(CourierMessageStatus::Sent),
        None,
    )
    .await
    .unwrap();
    assert_eq!(sent.len(), total);
    assert!(sent.iter().all(|m| m.send_count == 1));
    sink.stop();
    ts.stop().await;
}

#[tokio::test]
async fn admin_api_lists_with_filters_and_keyset_pages() {
    let ts = TestServer::start("").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let to = if i % 2 == 0 {
            "even@example.com"
        } else {
            "odd@example.com"
        };
        ids.push(
            courier::queue(
                &ts.app,
                email(
                    TemplateType::VerificationValid,
                    to,
                    json!({"VerificationURL": format!("http://ui.test/v/{i}")}),
                ),
            )
            .await
            .unwrap(),
        );
    }
    let sdk = ts.admin_sdk();
    let all = courier_api::list_courier_messages(&sdk, None, None, None, None)
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    // Newest first.
    let listed: Vec<String> = all.iter().map(|m| m.id.clone()).collect();
    let expected: Vec<String> = ids.iter().rev().map(|i| i.to_string()).collect();
    assert_eq!(listed, expected);
    assert!(all.iter().all(|m| m.status == CourierMessageStatus::Queued));
    assert_eq!(all[0].subject, "Please confirm your address");
    assert!(all[0].body.contains("http://ui.test/v/4"));

    let even = courier_api::list_courier_messages(&sdk, None, None, None, Some("even@example.com"))
        .await
        .unwrap();
    assert_eq!(even.len(), 3);
    let sent = courier_api::list_courier_messages(
        &sdk,
        None,
        None,
        Some(CourierMessageStatus::Sent),
        None,
    )
    .await
    .unwrap();
    assert!(sent.is_empty());

    // Keyset pages of two, following the Link header.
    let client = crate::harness::client();
    let mut url = format!("{}/admin/courier/messages?page_size=2", ts.admin_url);
    let mut seen = Vec::new();
    for _ in 0..5 {
        let res = client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let link = res
            .headers()
            .get("link")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let page: Vec<Value> = res.json().await.unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|m| m["id"].as_str().unwrap().to_string()));
        let next = link
            .split(',')
            .find(|l| l.contains("rel=\"next\""))
            .map(|l| l.split(['<', '>']).nth(1).unwrap().to_string());
        match next {
            Some(path) => url = format!("{}{}", ts.admin_url, path),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    // The SDK's page_token parameter works too.
    let first = client
        .get(format!(
            "{}/admin/courier/messages?page_size=3",
            ts.admin_url
        ))
        .send()
        .await
        .unwrap();
    let link = first.headers()["link"].to_str().unwrap().to_string();
    let token = link
        .split("page_token=")
        .nth(2)
        .unwrap()
        .split(['>', '&'])
        .next()
        .unwrap()
        .to_string();
    let token = percent_decode(&token);
    let rest = courier_api::list_courier_messages(&sdk, Some(3), Some(&token), None, None)
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        expected[3..].to_vec()
    );

    // Errors.
    let res = client
        .get(format!(
            "{}/admin/courier/messages?status=nope",
            ts.admin_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = client
        .get(format!(
            "{}/admin/courier/messages/{}",
            ts.admin_url,
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], 404);
    let res = client
        .get(format!(
            "{}/admin/courier/messages/not-a-uuid",
            ts.admin_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Message detail in Kratos's shape.
    let m = courier_api::get_courier_message(&sdk, &ids[0].to_string())
        .await
        .unwrap();
    assert_eq!(m.recipient, "even@example.com");
    assert_eq!(m.send_count, 0);
    assert_eq!(m.dispatches, Some(vec![]));
    ts.stop().await;
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn queue_rejects_invalid_recipients() {
    let ts = TestServer::start("").await;
    let err = courier::queue(
        &ts.app,
        email(TemplateType::RecoveryCodeValid, "not-an-address", json!({})),
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_api_error().code, 400);
    ts.stop().await;
}

/// The `kratos` binary's worker modes: `courier watch` and `serve --watch-courier`.
#[tokio::test]
async fn courier_watch_and_serve_watch_courier_deliver() {
    let sink = SmtpSink::start().await;
    let ts = TestServer::start("").await;
    let dir = tempfile::tempdir().unwrap();
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (public, admin) = (free_port(), free_port());
    let config = dir.path().join("kratos.yml");
    std::fs::write(
        &config,
        format!(
            r#"dsn: "{dsn}"
serve:
  public: {{ host: 127.0.0.1, port: {public}, base_url: "http://127.0.0.1:{public}/" }}
  admin: {{ host: 127.0.0.1, port: {admin}, base_url: "http://127.0.0.1:{admin}/" }}
secrets:
  default: ["a-secret-that-is-long-enough-for-tests"]
identity:
  default_schema_id: default
  schemas: [{{ id: default, url: "base64://{schema}" }}]
selfservice:
  default_browser_return_url: http://ui.test/
courier:
  worker: {{ pull_wait: 50ms }}
  smtp:
    connection_uri: "{uri}"
    from_address: cli@kratos.test
"#,
            dsn = ts.db.dsn,
            schema = base64_encode(crate::harness::DEFAULT_SCHEMA),
            uri = sink.uri(),
        ),
    )
    .unwrap();

    for (round, args) in [
        vec!["courier", "watch", "-c"],
        vec!["serve", "--watch-courier", "-c"],
    ]
    .into_iter()
    .enumerate()
    {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kratos"))
            .args(&args)
            .arg(&config)
            .env_remove("DSN")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        courier::queue(
            &ts.app,
            email(
                TemplateType::LoginCodeValid,
                &format!("round{round}@example.com"),
                json!({"LoginCode": format!("{round:06}")}),
            ),
        )
        .await
        .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while sink.received().len() <= round && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Graceful stop on SIGTERM.
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                break None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.is_some_and(|s| s.success()), "{args:?}: {status:?}");
        let mails = sink.received();
        assert_eq!(mails.len(), round + 1, "{args:?}");
        assert_eq!(
            mails[round].rcpt_to,
            [format!("<round{round}@example.com>")]
        );
        assert_eq!(mails[round].mail_from, "<cli@kratos.test>");
    }
    sink.stop();
    ts.stop().await;
}

/// `smtps://` (implicit TLS) and `smtp://` with mandatory STARTTLS, with `skip_ssl_verify`; an
/// untrusted certificate without it is a failed attempt.
#[tokio::test]
async fn smtp_over_implicit_tls_and_starttls() {
    for mode in [SinkTls::Implicit, SinkTls::StartTls] {
        let sink = SmtpSink::start_with(0, mode).await;
        let ts = TestServer::start(&format!(
            "courier:\n  smtp:\n    connection_uri: \"{}\"\n",
            sink.uri()
        ))
        .await;
        courier::queue(
            &ts.app,
            email(
                TemplateType::RecoveryCodeValid,
                "tls@example.com",
                json!({"RecoveryCode": "909090"}),
            ),
        )
        .await
        .unwrap();
        drain(&ts).await;
        let mails = sink.received();
        assert_eq!(mails.len(), 1, "{}", sink.uri());
        assert_eq!(
            mails[0].header("Subject").unwrap(),
            "Your account recovery code: 909090"
        );
        ts.stop().await;

        // The same server without skip_ssl_verify: the self-signed certificate is refused.
        let strict = sink.uri().replace("skip_ssl_verify=true", "");
        let ts = TestServer::start(&format!(
            "courier:\n  smtp:\n    connection_uri: \"{strict}\"\n"
        ))
        .await;
        let id = courier::queue(
            &ts.app,
            email(
                TemplateType::RecoveryCodeValid,
                "tls@example.com",
                json!({}),
            ),
        )
        .await
        .unwrap();
        assert_eq!(courier::worker::process_batch(&ts.app).await.unwrap(), 1);
        let m = courier_api::get_courier_message(&ts.admin_sdk(), &id.to_string())
            .await
            .unwrap();
        assert_eq!(m.status, CourierMessageStatus::Queued);
        assert_eq!(m.dispatches.unwrap().len(), 1);
        assert_eq!(sink.received().len(), 1);
        ts.stop().await;
        sink.stop();
    }
}

/// A non-2xx answer from the HTTP mailer is a failed attempt, recorded with the status code.
#[tokio::test]
async fn http_delivery_failure_is_recorded() {
    let receiver = HttpReceiver::start_with_status(http::StatusCode::SERVICE_UNAVAILABLE).await;
    let ts = TestServer::start(&format!(
        "courier:\n  message_retries: 0\n  delivery_strategy: http\n  http:\n    request_config:\n      url: \"{}\"\n",
        receiver.url
    ))
    .await;
    let id = courier::queue(
        &ts.app,
        email(
            TemplateType::VerificationInvalid,
            "eve@example.com",
            json!({}),
        ),
    )
    .await
    .unwrap();
    drain(&ts).await;
    assert_eq!(receiver.requests.lock().unwrap().len(), 1);
    let m = courier_api::get_courier_message(&ts.admin_sdk(), &id.to_string())
        .await
        .unwrap();
    assert_eq!(m.status, CourierMessageStatus::Abandoned);
    let dispatches = m.dispatches.unwrap();
    assert_eq!(dispatches.len(), 1);
    let error = dispatches[0].error.as_ref().unwrap();
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("status code 503"),
        "{error}"
    );
    ts.stop().await;
}
