//! The `link` method for recovery and verification: a one-time token is mailed as a link to
//! `/self-service/{recovery,verification}?flow=<id>&token=<token>`. Tokens are stored as HMACs
//! and expire after `methods.link.config.lifespan`. Links are opened in a browser whatever the
//! flow's type, so completing them always answers as for browsers.

use async_trait::async_trait;
use serde_json::json;

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

pub struct Link;

/// A random 32-character token.
fn generate_token() -> String {
    crate::session::manager::random_token("")
}

fn lifespan(cfg: &Config) -> std::time::Duration {
    cfg.selfservice.methods.link.config.lifespan
}

fn token_expiry(cfg: &Config) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
        + chrono::Duration::from_std(lifespan(cfg)).unwrap_or(chrono::Duration::hours(1))
}

/// The email field (with the address entered, after a message was sent) and the submit button.
fn form(flow: &mut Flow, email: Option<&str>) {
    flow.ui.remove_group(Group::Link);
    let mut input = Node::input("email", Group::Link, InputType::Email)
        .required()
        .with_label(crate::text::info_node_input_email());
    if let Some(e) = email {
        input = input.with_value(e);
    }
    flow.ui.nodes.push(input);
    flow.ui.nodes.push(
        Node::input("method", Group::Link, InputType::Submit)
            .with_value("link")
            .with_label(crate::text::info_node_label_continue()),
    );
}

/// `<public>/self-service/recovery?flow=<id>&token=<token>`.
fn recovery_link(app: &App, flow: &Flow, token: &str) -> String {
    let mut url = app.config().public_base_url();
    url.set_path(&format!(
        "{}/self-service/recovery",
        url.path().trim_end_matches('/')
    ));
    url.query_pairs_mut()
        .append_pair("flow", &flow.id.to_string())
        .append_pair("token", token);
    url.to_string()
}

async fn send_recovery_link(app: &App, flow: &Flow, email: &str) -> Result<()> {
    let cfg = app.config();
    let minutes = lifespan(&cfg).as_secs() / 60;
    let unknown = TemplateType::RecoveryInvalid;
    let Some(identity) = recovery_recipient(app, flow, email, unknown, minutes).await? else {
        return Ok(());
    };
    let token = generate_token();
    store(
        app,
        &NewSecret {
            purpose: Purpose::RecoveryLink,
            flow_id: flow.id,
            identity_id: Some(identity.id),
            address: Some(("email", email)),
            issued_by_admin: false,
            secret: &token,
            expires_at: token_expiry(&cfg),
        },
    )
    .await?;
    let mut model = recovery::message_model(flow, email, Some(&identity), minutes);
    model["RecoveryURL"] = json!(recovery_link(app, flow, &token));
    queue(app, TemplateType::RecoveryValid, email, model).await?;
    Ok(())
}

/// Creates an admin recovery link for `identity` (a new browser flow and a token valid for
/// `lifespan`). Returns the link and its expiry.
pub async fn admin_recovery_link(
    app: &App,
    req: &crate::http::Request,
    identity: &Identity,
    lifespan: std::time::Duration,
) -> Result<(String, chrono::DateTime<chrono::Utc>)> {
    let cfg = app.config();
    if !cfg.selfservice.methods.link.enabled {
        return Err(ApiError::bad_request()
            .with_reason("The link method is not enabled.")
            .into());
    }
    let (mut flow, _) = recovery::build_flow(app, req, FlowType::Browser, lifespan, &Link)?;
    flow.data.internal.insert(
        crate::selfservice::flow::SKIP_CSRF_CHECK.into(),
        serde_json::Value::Bool(true),
    );
    form(&mut flow, None);
    let token = generate_token();
    crate::persistence::flows::insert(&app.db, &flow).await?;
    store(
        app,
        &NewSecret {
            purpose: Purpose::RecoveryLink,
            flow_id: flow.id,
            identity_id: Some(identity.id),
            address: None,
            issued_by_admin: true,
            secret: &token,
            expires_at: flow.expires_at,
        },
    )
    .await?;
    Ok((recovery_link(app, &flow, &token), flow.expires_at))
}

impl Link {
    async fn recovery_use_token(
        &self,
        ctx: &Ctx<'_>,
        flow: &mut Flow,
        token: &str,
    ) -> Result<OneTimeOutcome> {
        // Links open in a browser, whatever kind of client started the flow.
        flow.flow_type = FlowType::Browser;
        let Some(secret) = consume(ctx.app, flow, Purpose::RecoveryLink, token).await? else {
            let message = crate::text::error_validation_recovery_token_invalid_or_already_used();
            return recovery::retry(ctx.app, ctx.req, flow, message).await;
        };
        complete_recovery(ctx, flow, &secret, CredentialsType::LinkRecovery).await
    }
}

#[async_trait]
impl Strategy for Link {
    fn id(&self) -> &'static str {
        "link"
    }

    fn group(&self) -> Group {
        Group::Link
    }

    fn enabled(&self, cfg: &Config) -> bool {
        cfg.selfservice.methods.link.enabled
    }

    async fn recovery_form(&self, _ctx: &Ctx<'_>, flow: &mut Flow) -> Result<()> {
        form(flow, None);
        Ok(())
    }

    async fn recover(&self, ctx: &Ctx<'_>, flow: &mut Flow) -> Result<OneTimeOutcome> {
        if let Some(token) = ctx.field("token").filter(|t| !t.is_empty()) {
            return self.recovery_use_token(ctx, flow, token).await;
        }
        if let Some(m) = ctx.method()
            && m != "link"
        {
            return Ok(OneTimeOutcome::NotResponsible);
        }
        if ctx.req.method == http::Method::GET {
            return Ok(OneTimeOutcome::NotResponsible);
        }
        if ctx.session.is_some() {
            return Err(recovery::already_logged_in().into());
        }
        if flow.state == "passed_challenge" {
            let message = crate::text::error_validation_recovery_retry_success();
            return recovery::retry(ctx.app, ctx.req, flow, message).await;
        }
        let email = submitted_email(ctx).ok_or_else(required_email)?;
        crate::selfservice::flow::csrf::check_submission(ctx.app, ctx.req, flow, ctx.body)?;
        forget(ctx.app, flow, Purpose::RecoveryLink).await?;
        send_recovery_link(ctx.app, flow, &email).await?;
        flow.ui.reset_messages();
        flow.state = "sent_email".into();
        form(flow, Some(&email));
        flow.ui.messages = vec![crate::text::recovery_email_sent()];
        Ok(OneTimeOutcome::Updated)
    }

    async fn verification_form(&self, _ctx: &Ctx<'_>, flow: &mut Flow) -> Result<()> {
        form(flow, None);
        Ok(())
    }

    async fn verify(&self, ctx: &Ctx<'_>, flow: &mut Flow) -> Result<OneTimeOutcome> {
        let app = ctx.app;
        let retry_success = crate::text::error_validation_verification_retry_success;
        if let Some(token) = ctx.field("token").filter(|t| !t.is_empty()) {
            if flow.state == "passed_challenge" {
                return verification::retry(app, ctx.req, flow, retry_success()).await;
            }
            let Some(secret) = consume(app, flow, Purpose::VerificationLink, token).await? else {
                let message =
                    crate::text::error_validation_verification_token_invalid_or_already_used();
                return verification::retry(app, ctx.req, flow, message).await;
            };
            verification::complete(app, ctx.req, flow, &secret, Group::Link).await?;
            return Ok(OneTimeOutcome::Respond(
                verification::show_in_browser(app, ctx.req, flow).await?,
            ));
        }
        if let Some(m) = ctx.method()
            && m != "link"
        {
            return Ok(OneTimeOutcome::NotResponsible);
        }
        if ctx.req.method == http::Method::GET {
            return Ok(OneTimeOutcome::NotResponsible);
        }
        if flow.state == "passed_challenge" {
            return verification::retry(app, ctx.req, flow, retry_success()).await;
        }
        let email = submitted_email(ctx).ok_or_else(required_email)?;
        crate::selfservice::flow::csrf::check_submission(app, ctx.req, flow, ctx.body)?;
        forget(app, flow, Purpose::VerificationLink).await?;
        flow.ui.reset_messages();
        self.send_verification(app, flow, &email).await?;
        Ok(OneTimeOutcome::Updated)
    }

    async fn send_verification(&self, app: &App, flow: &mut Flow, email: &str) -> Result<()> {
        let cfg = app.config();
        let minutes = lifespan(&cfg).as_secs() / 60;
        let unknown = TemplateType::VerificationInvalid;
        if let Some(identity) = verification_recipient(app, flow, email, unknown, minutes).await? {
            let token = generate_token();
            store(
                app,
                &NewSecret {
                    purpose: Purpose::VerificationLink,
                    flow_id: flow.id,
                    identity_id: Some(identity.id),
                    address: Some(("email", email)),
                    issued_by_admin: false,
                    secret: &token,
                    expires_at: token_expiry(&cfg),
                },
            )
            .await?;
            mark_sent(app, &identity, email).await?;
            let mut url = verification::submit_url(app);
            url.query_pairs_mut()
                .append_pair("flow", &flow.id.to_string())
                .append_pair("token", &token);
            let mut model = recovery::message_model(flow, email, Some(&identity), minutes);
            model["VerificationURL"] = json!(url.to_string());
            queue(app, TemplateType::VerificationValid, email, model).await?;
        }
        flow.state = "sent_email".into();
        flow.data.active = Some("link".into());
        form(flow, Some(email));
        flow.ui.messages = vec![crate::text::verification_email_sent()];
        Ok(())
    }
}
