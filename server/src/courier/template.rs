//! Message templates: built-in texts, overrides, and rendering with [minijinja].
//!
//! # Where a template comes from
//!
//! For each part of a message (email subject, email plaintext body, email HTML body, SMS body)
//! the first of these wins:
//! 1. the per-template URI in `courier.templates.<kind>.<valid|invalid>.email.{subject,body.html,
//!    body.plaintext}` or `...valid.sms.body.plaintext`: `file:///path`, `base64://<template>`
//!    or `http(s)://...`;
//! 2. a file under `courier.template_override_path` in Kratos's layout, e.g.
//!    `recovery_code/valid/email.subject.gotmpl`, `email.body.gotmpl` (HTML),
//!    `email.body.plaintext.gotmpl`, `sms.body.gotmpl`;
//! 3. the built-in template.
//!
//! # Syntax
//!
//! Templates are Jinja (minijinja): `{{ RecoveryCode }}`, `{% if Identity %}...{% endif %}`,
//! `{{ Identity.traits.email }}`. For compatibility with Kratos's Go templates, a variable written
//! Go-style with a leading dot inside `{{ }}` (`{{ .RecoveryCode }}`, `{{ .Identity.traits.name }}`)
//! is accepted too; Go control structures (`{{ if }}`, `{{ range }}`) are not. HTML bodies are
//! auto-escaped.
//!
//! # Variables
//!
//! | Variable | Templates |
//! |---|---|
//! | `To` | all: the recipient address or phone number |
//! | `RecoveryURL` | `recovery_valid` |
//! | `RecoveryCode` | `recovery_code_valid` |
//! | `VerificationURL` | `verification_valid`, `verification_code_valid` |
//! | `VerificationCode` | `verification_code_valid` |
//! | `LoginCode` | `login_code_valid` |
//! | `RegistrationCode` | `registration_code_valid` |
//! | `Identity` | valid recovery, verification and login templates: the identity as JSON |
//! | `Traits` | `registration_code_valid`: the traits being registered |
//! | `RequestURL` | all: the URL of the flow that caused the message |
//! | `RequestURLDomain` | all: the host of `RequestURL` (derived when not given) |
//! | `TransientPayload` | all: the flow's transient payload |
//! | `ExpiresInMinutes` | valid templates: how long the code or link stays valid |

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use super::{Channel, TemplateType};
use crate::config::{CourierTemplates, EmailTemplate, SmsTemplate, TemplateSet};
use crate::error::{Error, Result};

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rendered {
    /// Empty for SMS.
    pub subject: String,
    /// The plaintext email body or the SMS text.
    pub plaintext: String,
    /// The HTML email body; `None` for SMS.
    pub html: Option<String>,
}

/// A part of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Subject,
    Plaintext,
    Html,
    Sms,
}

impl Part {
    /// The file name in Kratos's override layout.
    fn file_name(self) -> &'static str {
        match self {
            Part::Subject => "email.subject.gotmpl",
            Part::Plaintext => "email.body.plaintext.gotmpl",
            Part::Html => "email.body.gotmpl",
            Part::Sms => "sms.body.gotmpl",
        }
    }
}

/// The override directory of a template type, relative to `template_override_path`.
fn directory(t: TemplateType) -> &'static str {
    match t {
        TemplateType::RecoveryInvalid => "recovery/invalid",
        TemplateType::RecoveryValid => "recovery/valid",
        TemplateType::RecoveryCodeInvalid => "recovery_code/invalid",
        TemplateType::RecoveryCodeValid => "recovery_code/valid",
        TemplateType::VerificationInvalid => "verification/invalid",
        TemplateType::VerificationValid => "verification/valid",
        TemplateType::VerificationCodeInvalid => "verification_code/invalid",
        TemplateType::VerificationCodeValid => "verification_code/valid",
        TemplateType::LoginCodeValid => "login_code/valid",
        TemplateType::RegistrationCodeValid => "registration_code/valid",
    }
}

/// Renders every part of a message for `channel`.
pub async fn render(
    app: &crate::App,
    t: TemplateType,
    channel: Channel,
    model: &Value,
) -> Result<Rendered> {
    let cfg = app.config();
    let courier = &cfg.courier;
    let model = enrich(model);
    let override_dir = courier.template_override_path.as_deref();
    match channel {
        Channel::Email => {
            let email = configured_email(&courier.templates, t);
            let subject = load(
                t,
                Part::Subject,
                email.and_then(|e| e.subject.as_deref()),
                override_dir,
            )
            .await?;
            let plaintext = load(
                t,
                Part::Plaintext,
                email.and_then(|e| e.body.as_ref()?.plaintext.as_deref()),
                override_dir,
            )
            .await?;
            let html = load(
                t,
                Part::Html,
                email.and_then(|e| e.body.as_ref()?.html.as_deref()),
                override_dir,
            )
            .await?;
            Ok(Rendered {
                subject: render_str(&subject, false, &model)?.trim().to_string(),
                plaintext: render_str(&plaintext, false, &model)?,
                html: Some(render_str(&html, true, &model)?),
            })
        }
        Channel::Sms => {
            let sms = configured_sms(&courier.templates, t);
            let body = load(
                t,
                Part::Sms,
                sms.and_then(|s| s.body.as_ref()?.plaintext.as_deref()),
                override_dir,
            )
            .await?;
            Ok(Rendered {
                subject: String::new(),
                plaintext: render_str(&body, false, &model)?.trim().to_string(),
                html: None,
            })
        }
    }
}

/// Adds derived variables (`RequestURLDomain`).
fn enrich(model: &Value) -> Value {
    let mut model = model.clone();
    if let Value::Object(map) = &mut model
        && !map.contains_key("RequestURLDomain")
    {
        let domain = map
            .get("RequestURL")
            .and_then(Value::as_str)
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        map.insert("RequestURLDomain".into(), Value::String(domain));
    }
    model
}

fn configured_email(templates: &CourierTemplates, t: TemplateType) -> Option<&EmailTemplate> {
    fn valid(set: &Option<TemplateSet>) -> Option<&EmailTemplate> {
        set.as_ref()?.valid.as_ref().map(|v| &v.email)
    }
    fn invalid(set: &Option<TemplateSet>) -> Option<&EmailTemplate> {
        set.as_ref()?.invalid.as_ref().map(|v| &v.email)
    }
    match t {
        TemplateType::RecoveryInvalid => invalid(&templates.recovery),
        TemplateType::RecoveryValid => valid(&templates.recovery),
        TemplateType::RecoveryCodeInvalid => invalid(&templates.recovery_code),
        TemplateType::RecoveryCodeValid => valid(&templates.recovery_code),
        TemplateType::VerificationInvalid => invalid(&templates.verification),
        TemplateType::VerificationValid => valid(&templates.verification),
        TemplateType::VerificationCodeInvalid => invalid(&templates.verification_code),
        TemplateType::VerificationCodeValid => valid(&templates.verification_code),
        TemplateType::LoginCodeValid => templates
            .login_code
            .as_ref()?
            .valid
            .as_ref()
            .map(|v| &v.email),
        TemplateType::RegistrationCodeValid => templates
            .registration_code
            .as_ref()?
            .valid
            .as_ref()
            .map(|v| &v.email),
    }
}

fn configured_sms(templates: &CourierTemplates, t: TemplateType) -> Option<&SmsTemplate> {
    let valid = match t {
        TemplateType::RecoveryCodeValid => templates.recovery_code.as_ref()?.valid.as_ref(),
        TemplateType::VerificationCodeValid => templates.verification_code.as_ref()?.valid.as_ref(),
        TemplateType::VerificationValid => templates.verification.as_ref()?.valid.as_ref(),
        TemplateType::RecoveryValid => templates.recovery.as_ref()?.valid.as_ref(),
        TemplateType::LoginCodeValid => templates.login_code.as_ref()?.valid.as_ref(),
        TemplateType::RegistrationCodeValid => templates.registration_code.as_ref()?.valid.as_ref(),
        _ => None,
    }?;
    valid.sms.as_ref()
}

/// The template source of one part: configured URI, override file, or built-in.
async fn load(
    t: TemplateType,
    part: Part,
    uri: Option<&str>,
    override_dir: Option<&str>,
) -> Result<String> {
    if let Some(uri) = uri.filter(|u| !u.trim().is_empty()) {
        return fetch(uri).await;
    }
    if let Some(dir) = override_dir.filter(|d| !d.is_empty()) {
        let path: PathBuf = [dir, directory(t), part.file_name()].iter().collect();
        match tokio::fs::read_to_string(&path).await {
            Ok(text) => return Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::internal(format!(
                    "unable to read courier template {}: {e}",
                    path.display()
                )));
            }
        }
    }
    Ok(builtin(t, part).to_string())
}

/// Reads a template from a `file://`, `base64://` or `http(s)://` location.
pub async fn fetch(uri: &str) -> Result<String> {
    let uri = uri.trim();
    if let Some(encoded) = uri.strip_prefix("base64://") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(encoded))
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded))
            .map_err(|e| Error::internal(format!("courier template {uri}: invalid base64: {e}")))?;
        return String::from_utf8(bytes)
            .map_err(|_| Error::internal("courier template is not valid UTF-8"));
    }
    if uri.starts_with("file://") {
        let url = url::Url::parse(uri)
            .map_err(|e| Error::internal(format!("courier template {uri}: {e}")))?;
        let path = url
            .to_file_path()
            .map_err(|_| Error::internal(format!("courier template {uri}: not a file path")))?;
        return tokio::fs::read_to_string(&path)
            .await
            .map_err(|e| Error::internal(format!("unable to read courier template {uri}: {e}")));
    }
    if uri.starts_with("http://") || uri.starts_with("https://") {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::internal(format!("http client: {e}")))?;
        let res = client
            .get(uri)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| Error::internal(format!("unable to fetch courier template {uri}: {e}")))?;
        return res
            .text()
            .await
            .map_err(|e| Error::internal(format!("unable to fetch courier template {uri}: {e}")));
    }
    Err(Error::internal(format!(
        "courier template location {uri} must start with file://, base64://, http:// or https://"
    )))
}

/// Rewrites Go-style variables (`{{ .Code }}`) inside `{{ }}` to Jinja (`{{ Code }}`).
fn go_compat(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start + 2]);
        rest = &rest[start + 2..];
        let end = rest.find("}}").unwrap_or(rest.len());
        let inner = &rest[..end];
        let mut prev = ' ';
        for ch in inner.chars() {
            let dot_var =
                ch == '.' && (prev.is_whitespace() || prev == '(' || prev == '|' || prev == '-');
            if !dot_var {
                out.push(ch);
            }
            prev = ch;
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Renders one template source with `model`; `html` turns on auto-escaping.
pub fn render_str(source: &str, html: bool, model: &Value) -> Result<String> {
    let mut env = minijinja::Environment::new();
    // minijinja's own HTML escaping also encodes `/`, which makes links unreadable in the
    // source of a mail; escaping the five HTML-significant characters is enough.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_formatter(move |out, _state, value| {
        let text = if value.is_undefined() || value.is_none() {
            String::new()
        } else {
            value.to_string()
        };
        let text = if html && !value.is_safe() {
            escape_html(&text)
        } else {
            text
        };
        out.write_str(&text)
            .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write failed"))
    });
    env.set_keep_trailing_newline(true);
    let source = go_compat(source);
    let tmpl = env
        .template_from_str(&source)
        .map_err(|e| Error::internal(format!("invalid courier template: {e}")))?;
    tmpl.render(model)
        .map_err(|e| Error::internal(format!("unable to render courier template: {e}")))
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// The built-in template of a part. Types without an SMS text reuse the plaintext email body.
fn builtin(t: TemplateType, part: Part) -> &'static str {
    use TemplateType as T;
    match (t, part) {
        (T::RecoveryInvalid | T::RecoveryCodeInvalid, Part::Subject) => {
            "Someone tried to recover an account with this address"
        }
        (T::RecoveryInvalid | T::RecoveryCodeInvalid, Part::Plaintext | Part::Sms) => {
            RECOVERY_INVALID_TEXT
        }
        (T::RecoveryInvalid | T::RecoveryCodeInvalid, Part::Html) => RECOVERY_INVALID_HTML,
        (T::RecoveryValid, Part::Subject) => "Recover access to your account",
        (T::RecoveryValid, Part::Plaintext | Part::Sms) => {
            "To recover access to your account, open this link:\n\n{{ RecoveryURL }}\n\nIf you did not ask for this, ignore this message. The link is valid for {{ ExpiresInMinutes }} minutes.\n"
        }
        (T::RecoveryValid, Part::Html) => {
            "<p>To recover access to your account, open this link:</p>\n<p><a href=\"{{ RecoveryURL }}\">{{ RecoveryURL }}</a></p>\n<p>If you did not ask for this, ignore this message. The link is valid for {{ ExpiresInMinutes }} minutes.</p>\n"
        }
        (T::RecoveryCodeValid, Part::Subject) => "Your account recovery code: {{ RecoveryCode }}",
        (T::RecoveryCodeValid, Part::Plaintext) => {
            "To recover access to your account, enter this code:\n\n{{ RecoveryCode }}\n\nIf you did not ask for this, ignore this message. The code is valid for {{ ExpiresInMinutes }} minutes.\n"
        }
        (T::RecoveryCodeValid, Part::Html) => {
            "<p>To recover access to your account, enter this code:</p>\n<p><strong>{{ RecoveryCode }}</strong></p>\n<p>If you did not ask for this, ignore this message. The code is valid for {{ ExpiresInMinutes }} minutes.</p>\n"
        }
        (T::RecoveryCodeValid, Part::Sms) => {
            "Your recovery code: {{ RecoveryCode }}\n\n@{{ RequestURLDomain }} #{{ RecoveryCode }}"
        }
        (T::VerificationInvalid | T::VerificationCodeInvalid, Part::Subject) => {
            "Someone tried to verify this address"
        }
        (T::VerificationInvalid | T::VerificationCodeInvalid, Part::Plaintext | Part::Sms) => {
            VERIFICATION_INVALID_TEXT
        }
        (T::VerificationInvalid | T::VerificationCodeInvalid, Part::Html) => {
            VERIFICATION_INVALID_HTML
        }
        (T::VerificationValid, Part::Subject) => "Please confirm your address",
        (T::VerificationValid, Part::Plaintext | Part::Sms) => {
            "Confirm your address by opening this link:\n\n{{ VerificationURL }}\n\nIf you did not ask for this, ignore this message. The link is valid for {{ ExpiresInMinutes }} minutes.\n"
        }
        (T::VerificationValid, Part::Html) => {
            "<p>Confirm your address by opening this link:</p>\n<p><a href=\"{{ VerificationURL }}\">{{ VerificationURL }}</a></p>\n<p>If you did not ask for this, ignore this message. The link is valid for {{ ExpiresInMinutes }} minutes.</p>\n"
        }
        (T::VerificationCodeValid, Part::Subject) => {
            "Your verification code: {{ VerificationCode }}"
        }
        (T::VerificationCodeValid, Part::Plaintext) => {
            "Confirm your address by entering this code:\n\n{{ VerificationCode }}\n\nor by opening this link:\n\n{{ VerificationURL }}\n\nIf you did not ask for this, ignore this message. The code is valid for {{ ExpiresInMinutes }} minutes.\n"
        }
        (T::VerificationCodeValid, Part::Html) => {
            "<p>Confirm your address by entering this code:</p>\n<p><strong>{{ VerificationCode }}</strong></p>\n<p>or by opening this link: <a href=\"{{ VerificationURL }}\">{{ VerificationURL }}</a></p>\n<p>If you did not ask for this, ignore this message. The code is valid for {{ ExpiresInMinutes }} minutes.</p>\n"
        }
        (T::VerificationCodeValid, Part::Sms) => {
            "Your verification code: {{ VerificationCode }}\n\n@{{ RequestURLDomain }} #{{ VerificationCode }}"
        }
        (T::LoginCodeValid, Part::Subject) => "Your sign-in code: {{ LoginCode }}",
        (T::LoginCodeValid, Part::Plaintext) => {
            "Sign in to your account with this code:\n\n{{ LoginCode }}\n\nThe code is valid for {{ ExpiresInMinutes }} minutes.\n"
        }
        (T::LoginCodeValid, Part::Html) => {
            "<p>Sign in to your account with this code:</p>\n<p><strong>{{ LoginCode }}</strong></p>\n<p>The code is valid for {{ ExpiresInMinutes }} minutes.</p>\n"
        }
        (T::LoginCodeValid, Part::Sms) => {
            "Your sign-in code: {{ LoginCode }}\n\nValid for {{ ExpiresInMinutes }} minutes."
        }
        (T::RegistrationCodeValid, Part::Subject) => "Your sign-up code: {{ RegistrationCode }}",
        (T::RegistrationCodeValid, Part::Plaintext) => {
            "Finish creating your account with this code:\n\n{{ RegistrationCode }}\n\nThe code is valid for {{ ExpiresInMinutes }} minutes.\n"
        }
        (T::RegistrationCodeValid, Part::Html) => {
            "<p>Finish creating your account with this code:</p>\n<p><strong>{{ RegistrationCode }}</strong></p>\n<p>The code is valid for {{ ExpiresInMinutes }} minutes.</p>\n"
        }
        (T::RegistrationCodeValid, Part::Sms) => {
            "Your sign-up code: {{ RegistrationCode }}\n\nValid for {{ ExpiresInMinutes }} minutes."
        }
    }
}

const RECOVERY_INVALID_TEXT: &str = "Hello,\n\nsomeone asked to recover an account with this address, but no account uses it, so nothing was changed.\n\nIf it was you, you may have signed up with another address. Otherwise, ignore this message.\n";
const RECOVERY_INVALID_HTML: &str = "<p>Hello,</p>\n<p>someone asked to recover an account with this address, but no account uses it, so nothing was changed.</p>\n<p>If it was you, you may have signed up with another address. Otherwise, ignore this message.</p>\n";
const VERIFICATION_INVALID_TEXT: &str = "Hello,\n\nsomeone asked to verify this address, but no account uses it.\n\nIf it was you, you may have signed up with another address. Otherwise, ignore this message.\n";
const VERIFICATION_INVALID_HTML: &str = "<p>Hello,</p>\n<p>someone asked to verify this address, but no account uses it.</p>\n<p>If it was you, you may have signed up with another address. Otherwise, ignore this message.</p>\n";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn go_style_variables_are_accepted() {
        let model = json!({"RecoveryCode": "123456", "Identity": {"traits": {"name": "Ann"}}});
        assert_eq!(
            render_str(
                "{{ .RecoveryCode }} {{.Identity.traits.name}} {{ RecoveryCode }}",
                false,
                &model
            )
            .unwrap(),
            "123456 Ann 123456"
        );
    }

    #[test]
    fn html_bodies_are_escaped() {
        let model = json!({"VerificationURL": "https://x/?a=1&b=<2>"});
        let out = render_str(
            builtin(TemplateType::VerificationValid, Part::Html),
            true,
            &model,
        )
        .unwrap();
        assert!(out.contains("https://x/?a=1&amp;b=&lt;2&gt;"), "{out}");
        let text = render_str(
            builtin(TemplateType::VerificationValid, Part::Plaintext),
            false,
            &model,
        )
        .unwrap();
        assert!(text.contains("https://x/?a=1&b=<2>"), "{text}");
    }

    #[test]
    fn every_builtin_renders() {
        let model = enrich(
            &json!({"To": "a@b.c", "RequestURL": "https://app.example.com/x", "RecoveryCode": "1", "VerificationCode": "2", "LoginCode": "3", "RegistrationCode": "4", "ExpiresInMinutes": 15}),
        );
        assert_eq!(model["RequestURLDomain"], "app.example.com");
        for t in TemplateType::ALL {
            for part in [Part::Subject, Part::Plaintext, Part::Html, Part::Sms] {
                let out = render_str(builtin(t, part), part == Part::Html, &model).unwrap();
                assert!(!out.trim().is_empty(), "{t:?} {part:?}");
            }
        }
    }
}
