//! A flow's `ui`: the form a UI renders (action, method, nodes) and its messages.

pub mod node;
pub mod schema;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use node::{Attributes, Group, InputType, Node, NodeType};

use crate::text::Message;

pub const CSRF_TOKEN_NAME: &str = "csrf_token";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Container {
    pub action: String,
    pub method: String,
    pub nodes: Vec<Node>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
}

impl Container {
    pub fn new(action: impl Into<String>) -> Container {
        Container {
            action: action.into(),
            method: "POST".into(),
            nodes: vec![],
            messages: vec![],
        }
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id() == id)
    }

    pub fn node_mut(&mut self, id: &str) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|n| n.id() == id)
    }

    /// Adds a node, replacing the one with the same id in the same group. (Submit buttons are all
    /// named `method`; the group tells them apart.)
    pub fn upsert(&mut self, node: Node) {
        match self
            .nodes
            .iter_mut()
            .find(|n| n.id() == node.id() && n.group == node.group)
        {
            Some(existing) => *existing = node,
            None => self.nodes.push(node),
        }
    }

    /// Adds a node unless one with the same id exists in its group.
    pub fn append_if_missing(&mut self, node: Node) {
        if !self
            .nodes
            .iter()
            .any(|n| n.id() == node.id() && n.group == node.group)
        {
            self.nodes.push(node);
        }
    }

    pub fn remove_in(&mut self, group: Group, id: &str) {
        self.nodes.retain(|n| !(n.group == group && n.id() == id));
    }

    pub fn remove_group(&mut self, group: Group) {
        self.nodes.retain(|n| n.group != group);
    }

    pub fn remove(&mut self, id: &str) {
        self.nodes.retain(|n| n.id() != id);
    }

    /// The hidden `csrf_token` field browser flows carry.
    pub fn set_csrf(&mut self, token: &str) {
        self.upsert(
            Node::input(CSRF_TOKEN_NAME, Group::Default, InputType::Hidden)
                .with_value(token)
                .required(),
        );
    }

    /// Attaches a message to the field `field` (creating a text input for it if the form has no
    /// such field, as Kratos does) or, without a field, to the form.
    pub fn add_message(&mut self, group: Group, message: Message, field: Option<&str>) {
        match field.filter(|f| !f.is_empty()) {
            None => self.messages.push(message),
            Some(field) => {
                if let Some(node) = self.node_mut(field) {
                    node.messages.push(message);
                } else {
                    let mut node = Node::input(field, group, InputType::Text);
                    node.messages.push(message);
                    self.nodes.push(node);
                }
            }
        }
    }

    /// Clears every message (form and nodes).
    pub fn reset_messages(&mut self) {
        self.messages.clear();
        for n in &mut self.nodes {
            n.messages.clear();
        }
    }

    /// Clears the values of the named fields (e.g. passwords after a failed attempt).
    pub fn reset_values(&mut self, ids: &[&str]) {
        for n in &mut self.nodes {
            if ids.contains(&n.id())
                && let Some(a) = n.input_attributes_mut()
            {
                a.value = None;
            }
        }
    }

    /// Fills the values of fields from a submitted (or stored) JSON object, e.g. the traits a user
    /// typed, so the re-rendered form keeps them. Nested objects become dotted names under `prefix`;
    /// only fields of `group` that exist are touched, and password fields never get a value.
    pub fn update_values_from_json(&mut self, value: &Value, prefix: &str, group: Group) {
        let mut flat = Vec::new();
        flatten(value, prefix, &mut flat);
        for (name, v) in flat {
            if let Some(node) = self
                .nodes
                .iter_mut()
                .find(|n| n.id() == name && n.group == group)
                && let Some(a) = node.input_attributes_mut()
                && a.input_type != InputType::Password
            {
                a.value = Some(v);
            }
        }
    }

    /// Orders nodes like Kratos: groups in `group_order`, and within the default and password
    /// groups the keys in `key_order` (e.g. `csrf_token`, `identifier`, traits in schema order);
    /// the submit button (`method`) last within its group. Stable otherwise.
    pub fn sort(&mut self, group_order: &[Group], key_order: &[String]) {
        let group_pos = |g: Group| {
            group_order
                .iter()
                .position(|x| *x == g)
                .unwrap_or(group_order.len())
        };
        let key_pos = |n: &Node| {
            if n.id() == "method" {
                return usize::MAX;
            }
            key_order
                .iter()
                .position(|k| n.id() == k || n.id().starts_with(&format!("{k}.")))
                .unwrap_or(key_order.len())
        };
        self.nodes.sort_by(|a, b| {
            let same_block = a.group == b.group
                || matches!(
                    (a.group, b.group),
                    (Group::Default, Group::Password) | (Group::Password, Group::Default)
                );
            if same_block {
                key_pos(a).cmp(&key_pos(b))
            } else {
                group_pos(a.group).cmp(&group_pos(b.group))
            }
        });
    }
}

fn flatten(value: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, &name, out);
            }
        }
        other => {
            if !prefix.is_empty() {
                out.push((prefix.to_string(), other.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_like_kratos() {
        let mut c = Container::new("http://127.0.0.1:4433/self-service/login?flow=x");
        c.set_csrf("tok");
        c.upsert(Node::input("identifier", Group::Default, InputType::Text).required());
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["method"], "POST");
        assert!(v.get("messages").is_none());
        let csrf = &v["nodes"][0];
        assert_eq!(csrf["type"], "input");
        assert_eq!(csrf["group"], "default");
        assert_eq!(
            csrf["attributes"],
            json!({"name": "csrf_token", "type": "hidden", "value": "tok", "required": true, "disabled": false, "node_type": "input"})
        );
        assert_eq!(csrf["messages"], json!([]));
        assert_eq!(csrf["meta"], json!({}));
        let back: Container = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn values_flow_back_into_fields_but_not_passwords() {
        let mut c = Container::new("/");
        c.upsert(Node::input(
            "traits.email",
            Group::Password,
            InputType::Email,
        ));
        c.upsert(Node::input(
            "traits.name.first",
            Group::Password,
            InputType::Text,
        ));
        c.upsert(Node::input(
            "password",
            Group::Password,
            InputType::Password,
        ));
        c.update_values_from_json(
            &json!({"traits": {"email": "a@b.c", "name": {"first": "Ann"}}, "password": "x"}),
            "",
            Group::Password,
        );
        assert_eq!(
            c.node("traits.email").unwrap().value(),
            Some(&json!("a@b.c"))
        );
        assert_eq!(
            c.node("traits.name.first").unwrap().value(),
            Some(&json!("Ann"))
        );
        assert_eq!(c.node("password").unwrap().value(), None);
    }
}
