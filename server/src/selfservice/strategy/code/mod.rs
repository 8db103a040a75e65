//! The `code` method for recovery and verification: a 6-digit code is mailed to the address and
//! typed into the flow. Codes are stored as HMACs, expire after `methods.code.config.lifespan`,
//! and a flow accepts `max_submissions` attempts before it must be restarted.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::one_time::{
    complete_recovery, consume, forget, mark_sent, queue, recovery_recipient, required_email,
    store, submitted_email, verification_recipient,
};
use super::{Ctx, OneTimeOutcome, Strategy};
use crate::app::App;
use crate::config::Config;
use crate::courier::TemplateType;
use crate::error::{ApiError, Result};
use crate::identity::{CredentialsType, Identity};
use crate::persistence::one_time::{NewSecret, Purpose};
use crate::selfservice::flow::{Flow, FlowType};
use crate::selfservice::{recovery, verification};
use crate::ui::{Group, InputType, Node};

pub struct Code;

/// Codes are this many digits.
pub const CODE_LENGTH: u32 = 6;

/// A random 6-digit code (leading zeros kept).
pub fn generate_code() -> String {
    format!("{:06}", rand::random_range(0..1_000_000u32))
}

fn email_input(value: Option<&str>) -> Node {
    let mut node = Node::input("email", Group::Code, InputType::Email)
        .required()
        .with_label(crate::text::info_node_input_email());
    if let Some(v) = value {
        node = node.with_value(v);
    }
    node
}

fn submit(label: crate::text::Message) -> Node {
    Node::input("method", Group::Code, InputType::Submit)
        .with_value("code")
        .with_label(label)
}

/// The first screen: an email address and a submit button.
fn choose_method_form(flow: &mut Flow) {
    flow.ui.remove_group(Group::Code);
    flow.ui.upsert(email_input(None));
    flow.ui
        .nodes
        .push(submit(crate::text::info_node_label_continue()));
}

/// The screen after a code was sent: the code field, and `email` as a resend button.
fn code_form(flow: &mut Flow, label: crate::text::Message, resend_to: Option<&str>) {
    flow.ui.remove_group(Group::Code);
    flow.ui.remove("email");
    let mut code = Node::input("code", Group::Code, InputType::Text)
        .required()
        .with_label(label)
        .with_maxlength(CODE_LENGTH);
    if let Some(a) = code.input_attributes_mut() {
        a.pattern = Some("[0-9]+".into());
    }
    flow.ui.nodes.push(code);
    flow.ui
        .nodes
        .push(Node::input("method", Group::Code, InputType::Hidden).with_value("code"));
    flow.ui
        .nodes
        .push(submit(crate::text::info_node_label_continue()));
    if let Some(email) = resend_to {
        flow.ui.nodes.push(
            Node::input("email", Group::Code, InputType::Submit)
                .with_value(email)
                .with_label(crate::text::info_node_resend_otp()),
        );
    }
}

fn lifespan_minutes(cfg: &Config) -> u64 {
    cfg.selfservice.methods.code.config.lifespan.as_secs() / 60
}

fn code_expiry(cfg: &Config) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
        + chrono::Duration::from_std(cfg.selfservice.methods.code.config.lifespan)
            .unwrap_or(chrono::Duration::hours(1))
}

/// Counts a code submission; past `max_submissions` the flow is spent.
async fn count_submission(app: &App, flow: &Flow) -> Result<bool> {
    let mut c = app.db.conn().await?;
    let n = crate::persistence::one_time::increment_submit_count(c.conn(), flow.id).await?;
    Ok(n > i64::from(app.config().selfservice.methods.code.config.max_submissions))
}

fn too_many_attempts() -> crate::text::Message {
    crate::text::validation_error_generic(
        "The request was submitted too often. Please request another code.",
    )
}

/// Browser submissions must carry the CSRF token; API flows must not look like browsers.
fn check_csrf(ctx: &Ctx<'_>, flow: &Flow) -> Result<()> {
    if flow.skips_csrf_check() {
        return Ok(());
    }
    crate::selfservice::flow::csrf::check_submission(ctx.app, ctx.req, flow, ctx.body)
}

async fn send_recovery_code(app: &App, flow: &Flow, email: &str) -> Result<()> {
    let cfg = app.config();
    let minutes = lifespan_minutes(&cfg);
    let unknown = TemplateType::RecoveryCodeInvalid;
    let Some(identity) = recovery_recipient(app, flow, email, unknown, minutes).await? else {
        return Ok(());
    };
    let code = generate_code();
    store(
        app,
        &NewSecret {
            purpose: Purpose::RecoveryCode,
            flow_id: flow.id,
            identity_id: Some(identity.id),
            address: Some(("email", email)),
            issued_by_admin: false,
            secret: &code,
            expires_at: code_expiry(&cfg),
        },
    )
    .await?;
    let mut model = recovery::message_model(flow, email, Some(&identity), minutes);
    model["RecoveryCode"] = json!(code);
    queue(app, TemplateType::RecoveryCodeValid, email, model).await?;
    Ok(())
}

/// Creates an admin recovery code for `identity`: a new flow waiting for the code. Returns the
/// flow's UI link, the code and the flow's expiry.
pub async fn admin_recovery_code(
    app: &App,
    req: &crate::http::Request,
    identity: &Identity,
    flow_type: FlowType,
    lifespan: std::time::Duration,
) -> Result<(String, String, chrono::DateTime<chrono::Utc>)> {
    let cfg = app.config();
    if !cfg.selfservice.methods.code.enabled {
        return Err(ApiError::bad_request()
            .with_reason("The code method is not enabled.")
            .into());
    }
    let (mut flow, _) = recovery::build_flow(app, req, flow_type, lifespan, &Code)?;
    flow.state = "sent_email".into();
    flow.data.internal.insert(
        crate::selfservice::flow::SKIP_CSRF_CHECK.into(),
        Value::Bool(true),
    );
    code_form(
        &mut flow,
        crate::text::info_node_label_recovery_code(),
        None,
    );
    let code = generate_code();
    crate::persistence::flows::insert(&app.db, &flow).await?;
    store(
        app,
        &NewSecret {
            purpose: Purpose::RecoveryCode,
            flow_id: flow.id,
            identity_id: Some(identity.id),
            address: None,
            issued_by_admin: true,
            secret: &code,
            expires_at: flow.expires_at,
        },
    )
    .await?;
    Ok((flow.ui_url(&recovery::ui_url(app)), code, flow.expires_at))
}

impl Code {
    async fn recovery_use_code(&self, ctx: &Ctx<'_>, flow: &mut Flow) -> Result<OneTimeOutcome> {
        let app = ctx.app;
        if count_submission(app, flow).await? {
            return recovery::retry(app, ctx.req, flow, too_many_attempts()).await;
        }
        let code = ctx.field("code").unwrap_or_default().trim();
        let Some(secret) = consume(app, flow, Purpose::RecoveryCode, code).await? else {
            flow.ui.messages.clear();
            flow.ui
                .messages
                .push(crate::text::error_validation_recovery_code_invalid_or_already_used());
            if flow.is_browser() {
                let (raw, _) = crate::selfservice::flow::csrf::ensure_token(app, ctx.req);
                flow.ui
                    .set_csrf(&crate::selfservice::flow::csrf::mask(&raw));
            }
            return Ok(OneTimeOutcome::Updated);
        };
        complete_recovery(ctx, flow, &secret, CredentialsType::CodeRecovery).await
    }

    async fn verification_use_code(
        &self,
        ctx: &Ctx<'_>,
        flow: &mut Flow,
        code: &str,
    ) -> Result<OneTimeOutcome> {
        let app = ctx.app;
        if count_submission(app, flow).await? {
            return verification::retry(app, ctx.req, flow, too_many_attempts()).await;
        }
        let Some(secret) = consume(app, flow, Purpose::VerificationCode, code.trim()).await? else {
            flow.ui.messages.clear();
            flow.ui
                .messages
                .push(crate::text::error_validation_verification_code_invalid_or_already_used());
            return Ok(OneTimeOutcome::Updated);
        };
        verification::complete(app, ctx.req, flow, &secret, Group::Code).await?;
        Ok(OneTimeOutcome::Updated)
    }
}

#[async_trait]
impl Strategy for Code {
    fn id(&self) -> &'static str {
        "code"
    }

    fn group(&self) -> Group {
        Group::Code
    }

    fn enabled(&self, cfg: &Config) -> bool {
        cfg.selfservice.methods.code.enabled
    }

    async fn recovery_form(&self, _ctx: &Ctx<'_>, flow: &mut Flow) -> Result<()> {
        choose_method_form(flow);
        Ok(())
    }

    async fn recover(&self, ctx: &Ctx<'_>, flow: &mut Flow) -> Result<OneTimeOutcome> {
        if ctx.req.method == http::Method::GET {
            // Recovery codes are typed, never clicked.
            return Ok(OneTimeOutcome::NotResponsible);
        }
        if let Some(m) = ctx.method()
            && m != "code"
        {
            return Ok(OneTimeOutcome::NotResponsible);
        }
        if let Err(err) = check_csrf(ctx, flow) {
            let message = match &err {
                crate::error::Error::Api(api) => crate::text::validation_error_generic(
                    api.reason.as_deref().unwrap_or(&api.message),
                ),
                _ => crate::text::error_validation_recovery_state_failure(),
            };
            return recovery::retry(ctx.app, ctx.req, flow, message).await;
        }
        flow.ui.reset_messages();
        let email = submitted_email(ctx);
        if flow.state != "choose_method" && email.is_none() {
            return self.recovery_use_code(ctx, flow).await;
        }
        if ctx.session.is_some() {
            return Err(recovery::already_logged_in().into());
        }
        if flow.state == "passed_challenge" {
            let message = crate::text::error_validation_recovery_retry_success();
            return recovery::retry(ctx.app, ctx.req, flow, message).await;
        }
        let email = email.ok_or_else(required_email)?;
        forget(ctx.app, flow, Purpose::RecoveryCode).await?;
        send_recovery_code(ctx.app, flow, &email).await?;
        flow.state = "sent_email".into();
        flow.data.active = Some("code".into());
        code_form(
            flow,
            crate::text::info_node_label_recovery_code(),
            Some(&email),
        );
        flow.ui.messages = vec![crate::text::recovery_email_with_code_sent()];
        Ok(OneTimeOutcome::Updated)
    }

    async fn verification_form(&self, _ctx: &Ctx<'_>, flow: &mut Flow) -> Result<()> {
        choose_method_form(flow);
        Ok(())
    }

    async fn verify(&self, ctx: &Ctx<'_>, flow: &mut Flow) -> Result<OneTimeOutcome> {
        if let Some(m) = ctx.method()
            && m != "code"
        {
            return Ok(OneTimeOutcome::NotResponsible);
        }
        if flow.state == "passed_challenge" {
            let message = crate::text::error_validation_verification_retry_success();
            return verification::retry(ctx.app, ctx.req, flow, message).await;
        }
        flow.ui.reset_messages();
        if let Some(code) = ctx.field("code").filter(|c| !c.is_empty()) {
            if ctx.req.method == http::Method::GET {
                // A link from the message: pre-fill the code and show the flow in a browser.
                if let Some(node) = flow.ui.node_mut("code") {
                    *node = node.clone().with_value(code);
                }
                return Ok(OneTimeOutcome::Respond(
                    verification::show_in_browser(ctx.app, ctx.req, flow).await?,
                ));
            }
            return self.verification_use_code(ctx, flow, code).await;
        }
        let email = submitted_email(ctx).ok_or_else(required_email)?;
        check_csrf(ctx, flow)?;
        forget(ctx.app, flow, Purpose::VerificationCode).await?;
        self.send_verification(ctx.app, flow, &email).await?;
        Ok(OneTimeOutcome::Updated)
    }

    async fn send_verification(&self, app: &App, flow: &mut Flow, email: &str) -> Result<()> {
        let cfg = app.config();
        let minutes = lifespan_minutes(&cfg);
        let unknown = TemplateType::VerificationCodeInvalid;
        if let Some(identity) = verification_recipient(app, flow, email, unknown, minutes).await? {
            let code = generate_code();
            store(
                app,
                &NewSecret {
                    purpose: Purpose::VerificationCode,
                    flow_id: flow.id,
                    identity_id: Some(identity.id),
                    address: Some(("email", email)),
                    issued_by_admin: false,
                    secret: &code,
                    expires_at: code_expiry(&cfg),
                },
            )
            .await?;
            mark_sent(app, &identity, email).await?;
            let mut url = verification::submit_url(app);
            url.query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("flow", &flow.id.to_string());
            let mut model = recovery::message_model(flow, email, Some(&identity), minutes);
            model["VerificationCode"] = json!(code);
            model["VerificationURL"] = json!(url.to_string());
            queue(app, TemplateType::VerificationCodeValid, email, model).await?;
        }
        flow.state = "sent_email".into();
        flow.data.active = Some("code".into());
        code_form(
            flow,
            crate::text::info_node_label_verification_code(),
            Some(email),
        );
        flow.ui.messages = vec![crate::text::verification_email_with_code_sent()];
        Ok(())
    }
}
