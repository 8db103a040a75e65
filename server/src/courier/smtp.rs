//! Email delivery over SMTP (lettre).
//!
//! `courier.smtp.connection_uri`:
//! - `smtp://user:password@host:port/`: STARTTLS is required (port 25 by default), unless
//!   `?disable_starttls=true` turns TLS off entirely;
//! - `smtps://user:password@host:port/`: implicit TLS (port 465 by default);
//! - `?skip_ssl_verify=true` accepts any certificate; `?server_name=` sets the name the certificate
//!   is checked against (default: the host).
//!
//! The `From` header is `from_name <from_address>` (or the bare address), `headers` are added to
//! every mail, and the body is `multipart/alternative` with the plaintext and HTML parts.

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::template::Rendered;
use crate::config::Smtp;

/// How to reach the SMTP server, parsed from the connection URI.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub implicit_tls: bool,
    pub starttls: bool,
    pub skip_verify: bool,
    pub server_name: String,
    pub credentials: Option<(String, String)>,
}

/// Parses `courier.smtp.connection_uri`.
pub fn parse_uri(uri: &str) -> Result<SmtpTarget, String> {
    let url = url::Url::parse(uri).map_err(|e| format!("invalid SMTP connection URI: {e}"))?;
    let implicit_tls = match url.scheme() {
        "smtps" => true,
        "smtp" => false,
        other => return Err(format!("unsupported SMTP URI scheme {other}")),
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("the SMTP connection URI has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let flag = |name: &str| {
        url.query_pairs()
            .any(|(k, v)| k == name && matches!(v.as_ref(), "true" | "1" | "TRUE" | "True"))
    };
    let server_name = url
        .query_pairs()
        .find(|(k, _)| k == "server_name")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| host.clone());
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let credentials = (!url.username().is_empty()).then(|| {
        (
            decode(url.username()),
            decode(url.password().unwrap_or_default()),
        )
    });
    Ok(SmtpTarget {
        port: url.port().unwrap_or(if implicit_tls { 465 } else { 25 }),
        host,
        implicit_tls,
        starttls: !implicit_tls && !flag("disable_starttls"),
        skip_verify: flag("skip_ssl_verify"),
        server_name,
        credentials,
    })
}

/// Sends one email; the error text is recorded with the dispatch.
pub async fn send(
    cfg: &Smtp,
    recipient: &str,
    subject: &str,
    rendered: &Rendered,
) -> Result<(), String> {
    let uri = cfg
        .connection_uri
        .as_ref()
        .map(|s| s.0.as_str())
        .filter(|s| !s.is_empty())
        .ok_or("courier.smtp.connection_uri is not set")?;
    let target = parse_uri(uri)?;
    let message = build_message(cfg, recipient, subject, rendered)?;

    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.host)
        .port(target.port)
        .timeout(Some(Duration::from_secs(15)));
    if target.implicit_tls || target.starttls {
        let tls = TlsParameters::builder(target.server_name.clone())
            .dangerous_accept_invalid_certs(target.skip_verify)
            .dangerous_accept_invalid_hostnames(target.skip_verify)
            .build_rustls()
            .map_err(|e| format!("SMTP TLS setup failed: {e}"))?;
        builder = builder.tls(if target.implicit_tls {
            Tls::Wrapper(tls)
        } else {
            Tls::Required(tls)
        });
    } else {
        builder = builder.tls(Tls::None);
    }
    if let Some((user, password)) = target.credentials {
        builder = builder.credentials(Credentials::new(user, password));
    }
    if !cfg.local_name.is_empty() {
        builder = builder.hello_name(ClientId::Domain(cfg.local_name.clone()));
    }
    let transport = builder.build();
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("failed to send email via SMTP: {e}"))
}

fn build_message(
    cfg: &Smtp,
    recipient: &str,
    subject: &str,
    rendered: &Rendered,
) -> Result<Message, String> {
    let from_address = cfg
        .from_address
        .parse()
        .map_err(|e| format!("invalid courier.smtp.from_address: {e}"))?;
    let from = Mailbox::new(
        cfg.from_name.clone().filter(|n| !n.is_empty()),
        from_address,
    );
    let to: Mailbox = recipient
        .parse()
        .map_err(|e| format!("invalid recipient address {recipient}: {e}"))?;
    let mut builder = Message::builder().from(from).to(to).subject(subject);
    for (name, value) in &cfg.headers {
        let name = HeaderName::new_from_ascii(name.clone())
            .map_err(|e| format!("invalid header name {name}: {e}"))?;
        builder = builder.raw_header(HeaderValue::new(name, value.clone()));
    }
    let plaintext = rendered.plaintext.clone();
    let result = match &rendered.html {
        Some(html) if !html.trim().is_empty() => {
            builder.multipart(MultiPart::alternative_plain_html(plaintext, html.clone()))
        }
        _ => builder.body(plaintext),
    };
    result.map_err(|e| format!("unable to build the email: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn connection_uris() {
        let t = parse_uri("smtp://foo%40bar:p%2Fss@mail.example.com:1025/?disable_starttls=true")
            .unwrap();
        assert_eq!(t.host, "mail.example.com");
        assert_eq!(t.port, 1025);
        assert!(!t.implicit_tls && !t.starttls && !t.skip_verify);
        assert_eq!(t.credentials, Some(("foo@bar".into(), "p/ss".into())));
        let t =
            parse_uri("smtps://mail.example.com/?skip_ssl_verify=true&server_name=x.test").unwrap();
        assert!(t.implicit_tls && t.skip_verify && !t.starttls);
        assert_eq!((t.port, t.server_name.as_str()), (465, "x.test"));
        let t = parse_uri("smtp://mail.example.com").unwrap();
        assert!(t.starttls);
        assert_eq!(t.port, 25);
        assert!(parse_uri("http://x").is_err());
    }
}
