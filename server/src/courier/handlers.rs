//! Admin API: `GET /admin/courier/messages` and `GET /admin/courier/messages/{id}`.

use chrono::{DateTime, Utc};
use http::HeaderValue;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::App;
use crate::error::{ApiError, Result};
use crate::http::{Request, Response, RouterBuilder, response};
use crate::persistence::courier::{
    self as store, DispatchRow, MessageFilter, MessageRow, MessageStatus,
};
use crate::persistence::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, finish_page};

pub fn register_admin(r: &mut RouterBuilder) {
    r.get("/admin/courier/messages", list);
    r.get("/admin/courier/messages/{id}", get);
}

/// A message in Kratos's JSON shape (`message` in the OpenAPI spec).
#[derive(Serialize)]
pub struct MessageView {
    pub id: Uuid,
    pub status: String,
    pub r#type: String,
    pub channel: Option<String>,
    pub recipient: String,
    pub body: String,
    pub subject: String,
    pub template_type: String,
    pub send_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatches: Option<Vec<DispatchView>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A delivery attempt (`messageDispatch`).
#[derive(Serialize)]
pub struct DispatchView {
    pub id: Uuid,
    pub message_id: Uuid,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl MessageView {
    pub fn new(m: MessageRow, dispatches: Option<Vec<DispatchRow>>) -> Self {
        MessageView {
            id: m.id,
            status: m.status,
            r#type: m.r#type,
            channel: m.channel,
            recipient: m.recipient,
            body: m.body,
            subject: m.subject,
            template_type: m.template_type,
            send_count: i64::from(m.send_count),
            dispatches: dispatches.map(|list| list.into_iter().map(DispatchView::new).collect()),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl DispatchView {
    fn new(d: DispatchRow) -> Self {
        DispatchView {
            id: d.id,
            message_id: d.message_id,
            status: d.status,
            error: d
                .error
                .map(|e| serde_json::from_str(&e).unwrap_or(Value::String(e))),
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// `GET /admin/courier/messages?status=&recipient=&page_size=&page_token=`, newest first.
async fn list(app: App, req: Request) -> Result<Response> {
    let status = match req.query_param("status").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(MessageStatus::parse(&s).ok_or_else(|| {
            ApiError::bad_request().with_reason(format!(
                "The status parameter must be one of queued, processing, sent, abandoned; got \"{s}\"."
            ))
        })?),
    };
    let recipient = req.query_param("recipient").filter(|s| !s.is_empty());
    let tokens = app.page_tokens();
    let page = tokens.parse(&req, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let after = match &page.after {
        Some(Value::Array(key)) => match (key.first(), key.get(1)) {
            (Some(Value::String(at)), Some(Value::String(id))) => Some((
                DateTime::parse_from_rfc3339(at)
                    .map_err(|_| invalid_token())?
                    .with_timezone(&Utc),
                crate::http::request::parse_uuid(id, "page_token")?,
            )),
            _ => return Err(invalid_token().into()),
        },
        Some(Value::Null) | None => None,
        Some(_) => return Err(invalid_token().into()),
    };
    let filter = MessageFilter {
        status,
        recipient,
        after,
        limit: page.size + 1,
    };
    let rows = {
        let mut c = app.db.conn().await?;
        store::list(c.conn(), &filter).await?
    };
    let (rows, next) = finish_page(rows, page.size, |m| {
        json!([
            m.created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            m.id.to_string()
        ])
    });
    let link = tokens.link_header(&req, page.size, next.as_ref());
    let list: Vec<MessageView> = rows
        .into_iter()
        .map(|m| MessageView::new(m, None))
        .collect();
    let mut res = response::ok(&list);
    if let Ok(v) = HeaderValue::from_str(&link) {
        res.headers_mut().insert(http::header::LINK, v);
    }
    Ok(res)
}

fn invalid_token() -> ApiError {
    ApiError::bad_request()
        .with_reason("The page token is invalid, do not craft page tokens yourself.")
}

/// `GET /admin/courier/messages/{id}`, with its delivery attempts.
async fn get(app: App, req: Request) -> Result<Response> {
    let raw = req.param("id");
    let id = Uuid::parse_str(raw).map_err(|_| {
        ApiError::bad_request().with_reason(format!("Invalid message id: \"{raw}\"."))
    })?;
    let mut c = app.db.conn().await?;
    let message = store::find(c.conn(), id).await?.ok_or_else(|| {
        ApiError::not_found().with_reason(format!("Could not find message with id: {id}"))
    })?;
    let dispatches = store::dispatches(c.conn(), id).await?;
    Ok(response::ok(&MessageView::new(message, Some(dispatches))))
}
