//! Authentication methods. Each method is a module implementing [`Strategy`] for the flows it
//! takes part in, registered once in [`all`]; the flow handlers ask every enabled strategy to add
//! its form fields and offer each submission to them in turn.

pub mod code;
pub mod link;
pub mod one_time;
pub mod password;
pub mod profile;

use async_trait::async_trait;
use serde_json::Value;

use super::flow::Flow;
use crate::app::App;
use crate::config::Config;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::identity::Identity;
use crate::session::{AuthenticationMethod, Session};
use crate::ui::Group;

/// What a strategy gets for one request.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub req: &'a Request,
    /// The submitted form (JSON or form-encoded, decoded to JSON); empty on flow creation.
    pub body: &'a Value,
    /// The caller's session, if any (refresh, second factor, settings).
    pub session: Option<&'a Session>,
}

impl Ctx<'_> {
    /// The submitted `method`, which selects the strategy.
    pub fn method(&self) -> Option<&str> {
        self.body.get("method").and_then(Value::as_str)
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.body.get(name).and_then(Value::as_str)
    }
}

pub enum LoginOutcome {
    /// The submission is for another method.
    NotResponsible,
    /// The identity proved itself with `method`.
    Authenticated {
        identity: Box<Identity>,
        method: AuthenticationMethod,
    },
}

pub enum RegistrationOutcome {
    NotResponsible,
    /// The flow moved to another step (e.g. profile-first: traits accepted, now choose a
    /// credential); it is re-rendered as is.
    Continue,
    /// A new identity, ready to be created.
    Register(Box<Identity>),
}

pub enum SettingsOutcome {
    NotResponsible,
    /// The identity with the changes applied, ready to be saved.
    Update(Box<Identity>),
}

/// What a recovery or verification method did with a submission.
pub enum OneTimeOutcome {
    /// The submission is for another method.
    NotResponsible,
    /// The flow changed (a message was sent, a code was wrong); it is stored and re-sent.
    Updated,
    /// The method answered itself: the flow finished, or was replaced by a new one.
    Respond(Response),
}

impl OneTimeOutcome {
    /// The flow handler's answer: `no_strategy` as a form error if no method took the
    /// submission; a changed flow is stored and answered with `send_updated`.
    pub async fn answer(
        self,
        app: &App,
        flow: &Flow,
        no_strategy: crate::text::Message,
        send_updated: impl FnOnce(&Flow) -> Response,
    ) -> Result<Response> {
        match self {
            OneTimeOutcome::NotResponsible => {
                Err(crate::error::FormErrors::global(no_strategy).into())
            }
            OneTimeOutcome::Respond(res) => Ok(res),
            OneTimeOutcome::Updated => {
                let mut c = app.db.conn().await?;
                crate::persistence::flows::update(c.conn(), flow).await?;
                Ok(send_updated(flow))
            }
        }
    }
}

/// Keeps a submission's `transient_payload` on the flow, for the messages it sends.
pub fn keep_transient_payload(flow: &mut Flow, body: &Value) {
    if let Some(tp) = body.get("transient_payload").filter(|v| v.is_object()) {
        flow.data.transient_payload = Some(tp.clone());
    }
}

#[async_trait]
pub trait Strategy: Send + Sync + 'static {
    /// The method name (`password`, `profile`, ...), which is also the `method` form value.
    fn id(&self) -> &'static str;
    /// The UI node group of this method's fields.
    fn group(&self) -> Group;
    /// Whether `selfservice.methods.<id>.enabled` is on.
    fn enabled(&self, cfg: &Config) -> bool;

    /// Adds this method's fields to a new login flow.
    async fn login_form(&self, _ctx: &Ctx<'_>, _flow: &mut Flow) -> Result<()> {
        Ok(())
    }
    async fn login(&self, _ctx: &Ctx<'_>, _flow: &mut Flow) -> Result<LoginOutcome> {
        Ok(LoginOutcome::NotResponsible)
    }

    /// Adds this method's fields to a new registration flow; `schema` is the identity schema.
    async fn registration_form(
        &self,
        _ctx: &Ctx<'_>,
        _flow: &mut Flow,
        _schema: &Value,
    ) -> Result<()> {
        Ok(())
    }
    async fn register(
        &self,
        _ctx: &Ctx<'_>,
        _flow: &mut Flow,
        _schema: &Value,
    ) -> Result<RegistrationOutcome> {
        Ok(RegistrationOutcome::NotResponsible)
    }
    /// Profile-first registration, second step: adds this method's credential fields once the
    /// traits are accepted.
    async fn registration_credentials_form(&self, _ctx: &Ctx<'_>, _flow: &mut Flow) -> Result<()> {
        Ok(())
    }

    /// Adds this method's fields to a settings flow for `identity`.
    async fn settings_form(
        &self,
        _ctx: &Ctx<'_>,
        _flow: &mut Flow,
        _identity: &Identity,
        _schema: &Value,
    ) -> Result<()> {
        Ok(())
    }
    async fn settings(
        &self,
        _ctx: &Ctx<'_>,
        _flow: &mut Flow,
        _identity: &Identity,
        _schema: &Value,
    ) -> Result<SettingsOutcome> {
        Ok(SettingsOutcome::NotResponsible)
    }

    /// Adds this method's fields to a new recovery flow (only the method in
    /// `selfservice.flows.recovery.use` is asked).
    async fn recovery_form(&self, _ctx: &Ctx<'_>, _flow: &mut Flow) -> Result<()> {
        Ok(())
    }
    async fn recover(&self, _ctx: &Ctx<'_>, _flow: &mut Flow) -> Result<OneTimeOutcome> {
        Ok(OneTimeOutcome::NotResponsible)
    }

    /// Adds this method's fields to a new verification flow (the method in
    /// `selfservice.flows.verification.use`).
    async fn verification_form(&self, _ctx: &Ctx<'_>, _flow: &mut Flow) -> Result<()> {
        Ok(())
    }
    async fn verify(&self, _ctx: &Ctx<'_>, _flow: &mut Flow) -> Result<OneTimeOutcome> {
        Ok(OneTimeOutcome::NotResponsible)
    }
    /// Sends a verification message for `address` within `flow` (after registration or an
    /// address change in settings, or a submitted email).
    async fn send_verification(&self, _app: &App, _flow: &mut Flow, _address: &str) -> Result<()> {
        Ok(())
    }
}

/// Every method, in the order Kratos renders and tries them. A new method is a module plus a
/// line here.
pub fn all() -> &'static [&'static dyn Strategy] {
    &[
        &profile::Profile,
        &password::Password,
        &code::Code,
        &link::Link,
    ]
}

/// The UI group of the method named `method`.
pub fn group_of(method: &str) -> Option<Group> {
    all().iter().find(|s| s.id() == method).map(|s| s.group())
}

/// The group a recovery or verification flow's messages go to: its method's.
pub fn one_time_group(flow: &Flow) -> Group {
    flow.data
        .active
        .as_deref()
        .and_then(group_of)
        .unwrap_or(Group::Code)
}

/// The enabled methods.
pub fn enabled(cfg: &Config) -> impl Iterator<Item = &'static dyn Strategy> + '_ {
    all().iter().copied().filter(move |s| s.enabled(cfg))
}

/// The method a one-method flow is configured to use (`selfservice.flows.<flow>.use`), or 400
/// when that method is not enabled.
pub fn in_use(
    cfg: &Config,
    method: crate::config::FlowStrategy,
    flow: &str,
) -> Result<&'static dyn Strategy> {
    let id = match method {
        crate::config::FlowStrategy::Code => "code",
        crate::config::FlowStrategy::Link => "link",
    };
    enabled(cfg).find(|s| s.id() == id).ok_or_else(|| {
        crate::error::ApiError::bad_request()
            .with_reason(format!(
                "The {flow} method {id:?} is not enabled (selfservice.methods.{id}.enabled)."
            ))
            .into()
    })
}

/// The method a flow was created with, while it is still enabled; otherwise the flow's
/// "no strategy found" form error.
pub fn of_flow(
    cfg: &Config,
    flow: &Flow,
    not_found: crate::text::Message,
) -> Result<&'static dyn Strategy> {
    let active = flow.data.active.as_deref().unwrap_or_default();
    enabled(cfg)
        .find(|s| s.id() == active)
        .ok_or_else(|| crate::error::FormErrors::global(not_found).into())
}
