//! Profile-first registration: the traits form, the step to choosing a credential, and back.

use serde_json::Value;

use crate::error::Result;
use crate::identity::Identity;
use crate::selfservice::flow::Flow;
use crate::selfservice::registration::profile_first;
use crate::selfservice::strategy::{self, Ctx, RegistrationOutcome};
use crate::text;
use crate::ui::{Group, InputType, Node};

fn submit_node() -> Node {
    Node::input("method", Group::Profile, InputType::Submit)
        .with_value("profile")
        .with_label(text::info_registration())
}

fn previous_node() -> Node {
    Node::input("screen", Group::Profile, InputType::Submit)
        .with_value("previous")
        .with_label(text::info_registration_back())
}

/// The traits fields (default group), plus the "Sign up" button in the profile-first style.
pub fn form(ctx: &Ctx<'_>, flow: &mut Flow, schema: &Value) {
    for node in crate::ui::schema::trait_nodes(schema, Group::Default) {
        flow.ui.upsert(node);
    }
    if profile_first(ctx.app) {
        flow.ui.append_if_missing(submit_node());
    }
}

pub async fn register(
    ctx: &Ctx<'_>,
    flow: &mut Flow,
    schema: &Value,
) -> Result<RegistrationOutcome> {
    if !profile_first(ctx.app) {
        return Ok(RegistrationOutcome::NotResponsible);
    }
    let screen = ctx.field("screen").unwrap_or("");
    let method = ctx.method().unwrap_or("");
    if method != "profile" && method != "profile:back" && screen.is_empty() {
        return Ok(RegistrationOutcome::NotResponsible);
    }
    let traits = crate::selfservice::strategy::password::registration::traits_from(ctx, schema);
    if screen == "previous" || method == "profile:back" {
        back_to_profile(ctx, flow, schema, &traits);
        return Ok(RegistrationOutcome::Continue);
    }
    // Credential selection: the traits must be valid before a credential is chosen.
    let schema_id = flow.data.identity_schema.clone().unwrap_or_default();
    let mut identity = Identity::new(schema_id, traits.clone());
    ctx.app.identities().validate(&mut identity)?;
    if let Some(tp) = ctx.body.get("transient_payload") {
        flow.data.transient_payload = Some(tp.clone());
    }
    flow.data.active = None;
    flow.state = "choose_method".into();
    flow.ui.reset_messages();
    flow.ui.remove_in(Group::Profile, "method");
    flow.ui.append_if_missing(previous_node());
    for node in flow
        .ui
        .nodes
        .iter_mut()
        .filter(|n| n.group == Group::Default)
    {
        if let Some(a) = node.input_attributes_mut()
            && a.name != crate::ui::CSRF_TOKEN_NAME
        {
            a.input_type = InputType::Hidden;
        }
    }
    let cfg = ctx.app.config();
    for s in strategy::enabled(&cfg) {
        s.registration_credentials_form(ctx, flow).await?;
    }
    flow.ui
        .update_values_from_json(&identity.traits, "traits", Group::Default);
    flow.ui
        .messages
        .push(text::info_self_service_choose_credentials());
    Ok(RegistrationOutcome::Continue)
}

fn back_to_profile(ctx: &Ctx<'_>, flow: &mut Flow, schema: &Value, traits: &Value) {
    flow.ui.reset_messages();
    flow.state = "choose_method".into();
    // Only the traits form and the profile button remain.
    flow.ui.nodes.retain(|n| n.group == Group::Default);
    form(ctx, flow, schema);
    flow.ui
        .update_values_from_json(traits, "traits", Group::Default);
}
