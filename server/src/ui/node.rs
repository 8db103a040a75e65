//! UI nodes: the form fields, texts, images, anchors and scripts of a flow's `ui`, serialised
//! exactly as Kratos's `uiNode`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::text::Message;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Default,
    Password,
    Oidc,
    Profile,
    Link,
    Code,
    Totp,
    LookupSecret,
    Webauthn,
    Passkey,
    IdentifierFirst,
    Captcha,
    Saml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeType {
    Text,
    Input,
    Img,
    A,
    Script,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputType {
    Text,
    Password,
    Number,
    Checkbox,
    Hidden,
    Email,
    Tel,
    Submit,
    Button,
    DatetimeLocal,
    Date,
    Url,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputAttributes {
    pub name: String,
    #[serde(rename = "type")]
    pub input_type: InputType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autocomplete: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    pub disabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onclick: Option<String>,
    #[serde(
        rename = "onclickTrigger",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub onclick_trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onload: Option<String>,
    #[serde(
        rename = "onloadTrigger",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub onload_trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxlength: Option<u32>,
    pub node_type: NodeType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextAttributes {
    pub text: Message,
    pub id: String,
    pub node_type: NodeType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageAttributes {
    pub src: String,
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub node_type: NodeType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnchorAttributes {
    pub href: String,
    pub title: Message,
    pub id: String,
    pub node_type: NodeType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptAttributes {
    pub src: String,
    #[serde(rename = "async")]
    pub is_async: bool,
    pub referrerpolicy: String,
    pub crossorigin: String,
    pub integrity: String,
    #[serde(rename = "type")]
    pub script_type: String,
    pub id: String,
    pub nonce: String,
    pub node_type: NodeType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DivAttributes {
    #[serde(default, rename = "class", skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<std::collections::BTreeMap<String, String>>,
    pub node_type: NodeType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Attributes {
    Input(InputAttributes),
    Text(TextAttributes),
    Img(ImageAttributes),
    A(AnchorAttributes),
    Script(ScriptAttributes),
    Div(DivAttributes),
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Message>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    #[serde(rename = "type")]
    pub node_type: NodeType,
    pub group: Group,
    pub attributes: Attributes,
    pub messages: Vec<Message>,
    pub meta: Meta,
}

impl Node {
    /// An input field.
    pub fn input(name: impl Into<String>, group: Group, input_type: InputType) -> Node {
        Node {
            node_type: NodeType::Input,
            group,
            attributes: Attributes::Input(InputAttributes {
                name: name.into(),
                input_type,
                value: None,
                required: false,
                autocomplete: None,
                label: None,
                pattern: None,
                disabled: false,
                onclick: None,
                onclick_trigger: None,
                onload: None,
                onload_trigger: None,
                maxlength: None,
                node_type: NodeType::Input,
            }),
            messages: vec![],
            meta: Meta::default(),
        }
    }

    /// A text node (e.g. a TOTP secret or lookup codes).
    pub fn text(id: impl Into<String>, text: Message, group: Group) -> Node {
        Node {
            node_type: NodeType::Text,
            group,
            attributes: Attributes::Text(TextAttributes {
                text,
                id: id.into(),
                node_type: NodeType::Text,
            }),
            messages: vec![],
            meta: Meta::default(),
        }
    }

    /// An image node (e.g. a TOTP QR code as a data URI).
    pub fn image(
        id: impl Into<String>,
        src: impl Into<String>,
        group: Group,
        width: u32,
        height: u32,
    ) -> Node {
        Node {
            node_type: NodeType::Img,
            group,
            attributes: Attributes::Img(ImageAttributes {
                src: src.into(),
                id: id.into(),
                width,
                height,
                node_type: NodeType::Img,
            }),
            messages: vec![],
            meta: Meta::default(),
        }
    }

    /// An anchor node.
    pub fn anchor(
        id: impl Into<String>,
        href: impl Into<String>,
        title: Message,
        group: Group,
    ) -> Node {
        Node {
            node_type: NodeType::A,
            group,
            attributes: Attributes::A(AnchorAttributes {
                href: href.into(),
                title,
                id: id.into(),
                node_type: NodeType::A,
            }),
            messages: vec![],
            meta: Meta::default(),
        }
    }

    /// The node's identity within a container: the input name or the element id.
    pub fn id(&self) -> &str {
        match &self.attributes {
            Attributes::Input(a) => &a.name,
            Attributes::Text(a) => &a.id,
            Attributes::Img(a) => &a.id,
            Attributes::A(a) => &a.id,
            Attributes::Script(a) => &a.id,
            Attributes::Div(a) => &a.id,
        }
    }

    pub fn input_attributes(&self) -> Option<&InputAttributes> {
        match &self.attributes {
            Attributes::Input(a) => Some(a),
            _ => None,
        }
    }

    pub fn input_attributes_mut(&mut self) -> Option<&mut InputAttributes> {
        match &mut self.attributes {
            Attributes::Input(a) => Some(a),
            _ => None,
        }
    }

    pub fn value(&self) -> Option<&Value> {
        self.input_attributes().and_then(|a| a.value.as_ref())
    }

    // Builder-style modifiers for inputs; no-ops on other node types.

    pub fn with_value(mut self, value: impl Into<Value>) -> Node {
        if let Some(a) = self.input_attributes_mut() {
            a.value = Some(value.into());
        }
        self
    }

    pub fn required(mut self) -> Node {
        if let Some(a) = self.input_attributes_mut() {
            a.required = true;
        }
        self
    }

    pub fn with_autocomplete(mut self, autocomplete: &str) -> Node {
        if let Some(a) = self.input_attributes_mut() {
            a.autocomplete = Some(autocomplete.to_string());
        }
        self
    }

    pub fn with_label(mut self, label: Message) -> Node {
        self.meta.label = Some(label);
        self
    }

    pub fn with_maxlength(mut self, n: u32) -> Node {
        if let Some(a) = self.input_attributes_mut() {
            a.maxlength = Some(n);
        }
        self
    }

    pub fn disabled(mut self) -> Node {
        if let Some(a) = self.input_attributes_mut() {
            a.disabled = true;
        }
        self
    }

    /// Clears the value (inputs) and messages, as Kratos does when re-rendering a form.
    pub fn reset(&mut self) {
        self.messages.clear();
        if let Some(a) = self.input_attributes_mut() {
            a.value = None;
        }
    }
}
