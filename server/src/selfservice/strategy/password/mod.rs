//! The password method: login with an identifier and a password, registration with traits and a
//! password, and changing the password in settings.

mod login;
pub mod policy;
pub mod registration;
mod settings;

use async_trait::async_trait;

use serde_json::Value;

use super::{Ctx, LoginOutcome, RegistrationOutcome, SettingsOutcome, Strategy};
use crate::config::Config;
use crate::error::Result;
use crate::identity::Identity;
use crate::selfservice::flow::Flow;
use crate::ui::Group;

pub struct Password;

#[async_trait]
impl Strategy for Password {
    fn id(&self) -> &'static str {
        "password"
    }

    fn group(&self) -> Group {
        Group::Password
    }

    fn enabled(&self, cfg: &Config) -> bool {
        cfg.selfservice.methods.password.enabled
    }

    async fn login_form(&self, ctx: &Ctx<'_>, flow: &mut Flow) -> Result<()> {
        login::form(ctx, flow).await
    }

    async fn login(&self, ctx: &Ctx<'_>, flow: &mut Flow) -> Result<LoginOutcome> {
        login::login(ctx, flow).await
    }

    async fn registration_form(
        &self,
        ctx: &Ctx<'_>,
        flow: &mut Flow,
        _schema: &Value,
    ) -> Result<()> {
        registration::form(ctx, flow).await
    }

    async fn register(
        &self,
        ctx: &Ctx<'_>,
        flow: &mut Flow,
        schema: &Value,
    ) -> Result<RegistrationOutcome> {
        registration::register(ctx, flow, schema).await
    }

    async fn registration_credentials_form(&self, _ctx: &Ctx<'_>, flow: &mut Flow) -> Result<()> {
        registration::credentials_form(flow);
        Ok(())
    }

    async fn settings_form(
        &self,
        _ctx: &Ctx<'_>,
        flow: &mut Flow,
        _identity: &Identity,
        _schema: &Value,
    ) -> Result<()> {
        settings::form(flow);
        Ok(())
    }

    async fn settings(
        &self,
        ctx: &Ctx<'_>,
        _flow: &mut Flow,
        identity: &Identity,
        _schema: &Value,
    ) -> Result<SettingsOutcome> {
        settings::settings(ctx, identity).await
    }
}
