//! The profile method: the identity's traits. In registration (`profile_first` style) it is the
//! first step; in settings it updates traits.

mod registration;
mod settings;

use async_trait::async_trait;
use serde_json::Value;

use super::{Ctx, RegistrationOutcome, SettingsOutcome, Strategy};
use crate::config::Config;
use crate::error::Result;
use crate::identity::Identity;
use crate::selfservice::flow::Flow;
use crate::ui::Group;

pub struct Profile;

#[async_trait]
impl Strategy for Profile {
    fn id(&self) -> &'static str {
        "profile"
    }

    fn group(&self) -> Group {
        Group::Profile
    }

    fn enabled(&self, cfg: &Config) -> bool {
        cfg.selfservice.methods.profile.enabled
    }

    async fn registration_form(
        &self,
        ctx: &Ctx<'_>,
        flow: &mut Flow,
        schema: &Value,
    ) -> Result<()> {
        registration::form(ctx, flow, schema);
        Ok(())
    }

    async fn register(
        &self,
        ctx: &Ctx<'_>,
        flow: &mut Flow,
        schema: &Value,
    ) -> Result<RegistrationOutcome> {
        registration::register(ctx, flow, schema).await
    }

    async fn settings_form(
        &self,
        _ctx: &Ctx<'_>,
        flow: &mut Flow,
        identity: &Identity,
        schema: &Value,
    ) -> Result<()> {
        settings::form(flow, identity, schema);
        Ok(())
    }

    async fn settings(
        &self,
        ctx: &Ctx<'_>,
        _flow: &mut Flow,
        identity: &Identity,
        schema: &Value,
    ) -> Result<SettingsOutcome> {
        settings::settings(ctx, identity, schema)
    }
}
