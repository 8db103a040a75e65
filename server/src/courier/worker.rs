//! The courier worker: claims queued messages and delivers them.
//!
//! Several workers (replicas, or `serve --watch-courier` next to `courier watch`) can share one
//! database: each message is claimed by exactly one of them (see
//! [`crate::persistence::courier::claim`]). A failed attempt puts the message back in the queue
//! until it has failed more than `courier.message_retries` times; then it is `abandoned`.

use std::future::Future;
use std::time::Duration;

use serde_json::{Value, json};

use super::template::{self, Rendered};
use super::{Channel, TemplateType, http, smtp};
use crate::App;
use crate::config::{ChannelId, DeliveryStrategy};
use crate::error::Result;
use crate::persistence::courier::{self as store, MessageRow, MessageStatus};

/// How long a claim protects a batch from other workers: messages of a batch are sent one after
/// the other, so the lease covers the worst case of every delivery timing out (SMTP 15 s, HTTP
/// 10 s, plus template fetches), with a margin.
fn claim_lease(batch: usize) -> chrono::Duration {
    let batch = i64::try_from(batch).unwrap_or(i64::MAX / 60);
    chrono::Duration::seconds(60_i64.saturating_add(batch.saturating_mul(40)))
}

/// Runs until `shutdown` completes, polling every `courier.worker.pull_wait`.
pub async fn run(app: App, shutdown: impl Future<Output = ()>) {
    tracing::info!("courier worker started");
    tokio::pin!(shutdown);
    // Poll the shutdown future once up front: signal listeners register on first poll, and a
    // signal arriving during the first batch must stop the worker gracefully, not kill it.
    tokio::select! {
        biased;
        _ = &mut shutdown => return,
        _ = std::future::ready(()) => {}
    }
    loop {
        match process_batch(&app).await {
            // A full batch: there may be more waiting.
            Ok(n) if n > 0 && n >= app.config().courier.worker.pull_count as usize => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "courier worker: unable to process the queue"),
        }
        let wait = app
            .config()
            .courier
            .worker
            .pull_wait
            .max(Duration::from_millis(10));
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("courier worker stopped");
}

/// Claims one batch (`courier.worker.pull_count`) and attempts each message once. Returns how
/// many messages were attempted.
pub async fn process_batch(app: &App) -> Result<usize> {
    let pull_count = app.config().courier.worker.pull_count.max(1) as usize;
    let messages = {
        let mut c = app.db.conn().await?;
        store::claim(c.conn(), pull_count, claim_lease(pull_count)).await?
    };
    let n = messages.len();
    for msg in messages {
        let outcome = deliver(app, &msg).await;
        let retries = i64::from(app.config().courier.message_retries);
        let (status, error) = match outcome {
            Ok(()) => (MessageStatus::Sent, None),
            Err(e) => {
                let attempts = i64::from(msg.send_count) + 1;
                let status = if attempts > retries {
                    MessageStatus::Abandoned
                } else {
                    MessageStatus::Queued
                };
                tracing::warn!(message_id = %msg.id, attempts, error = %e, "courier: delivery failed");
                (status, Some(error_json(&e)))
            }
        };
        let mut c = app.db.conn().await?;
        store::finish_attempt(c.conn(), msg.id, status, error.as_deref()).await?;
        if status == MessageStatus::Sent {
            tracing::debug!(message_id = %msg.id, "courier: message sent");
        }
    }
    Ok(n)
}

/// The dispatch error in Kratos's shape (a generic error object).
fn error_json(message: &str) -> String {
    json!({
        "code": 500,
        "status": "Internal Server Error",
        "message": message,
    })
    .to_string()
}

/// One delivery attempt.
async fn deliver(app: &App, msg: &MessageRow) -> std::result::Result<(), String> {
    let channel = msg.channel();
    let template = TemplateType::parse(&msg.template_type);
    let model: Value = serde_json::from_str(&msg.template_data).unwrap_or(Value::Null);
    // The HTML part is rendered now, from the stored model, as Kratos does; subject and
    // plaintext are the stored ones.
    let rendered = match template {
        Some(t) => template::render(app, t, channel, &model).await.ok(),
        None => None,
    };
    let rendered = Rendered {
        subject: msg.subject.clone(),
        plaintext: msg.body.clone(),
        html: rendered.and_then(|r| r.html),
    };
    let cfg = app.config();
    let courier = &cfg.courier;
    let ctx = |t: TemplateType| http::context(channel, &msg.recipient, t, &rendered, &model);
    match channel {
        Channel::Email => match courier.delivery_strategy {
            DeliveryStrategy::Smtp => {
                smtp::send(&courier.smtp, &msg.recipient, &msg.subject, &rendered).await
            }
            DeliveryStrategy::Http => {
                let t = template.ok_or("unknown template type")?;
                http::send(&courier.http.request_config, &ctx(t)).await
            }
        },
        Channel::Sms => {
            let sms = courier
                .channels
                .iter()
                .find(|c| c.id == ChannelId::Sms)
                .ok_or("no courier channels configured for: sms")?;
            let t = template.ok_or("unknown template type")?;
            http::send(&sms.request_config, &ctx(t)).await
        }
    }
}
