//! Updating traits in settings. Changing identifiers or verifiable addresses needs a privileged
//! session; the identity manager enforces it on update.

use serde_json::Value;

use crate::error::Result;
use crate::identity::Identity;
use crate::selfservice::flow::Flow;
use crate::selfservice::strategy::{Ctx, SettingsOutcome};
use crate::text;
use crate::ui::{Group, InputType, Node};

pub fn form(flow: &mut Flow, identity: &Identity, schema: &Value) {
    for node in crate::ui::schema::trait_nodes(schema, Group::Profile) {
        flow.ui.upsert(node);
    }
    flow.ui
        .update_values_from_json(&identity.traits, "traits", Group::Profile);
    flow.ui.upsert(
        Node::input("method", Group::Profile, InputType::Submit)
            .with_value("profile")
            .with_label(text::info_node_label_save()),
    );
}

pub fn settings(ctx: &Ctx<'_>, identity: &Identity, schema: &Value) -> Result<SettingsOutcome> {
    if ctx.method() != Some("profile") {
        return Ok(SettingsOutcome::NotResponsible);
    }
    let traits = crate::selfservice::strategy::password::registration::traits_from(ctx, schema);
    let mut updated = identity.clone();
    updated.traits = traits;
    Ok(SettingsOutcome::Update(Box::new(updated)))
}
