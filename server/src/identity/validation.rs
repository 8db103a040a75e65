//! Validation errors of identity traits, each with the JSON pointer of the offending value and the
//! Kratos UI message it maps to, so that self-service flows can attach them to form nodes and the
//! admin API can render them as Kratos does (a 400 whose reason lists `I[pointer] S[schema] text`).

use std::fmt;

use serde_json::Value;

use super::schema::extension::pointer_to_dotted;

/// What is wrong with one value. The variants mirror Kratos's validation messages
/// (`text.NewErrorValidation…`, ids 4000001–4000041); [`Violation::message_id`] gives the id.
#[derive(Debug, Clone, PartialEq)]
pub enum Violation {
    /// 4000001: anything without a dedicated message; `reason` is shown as is.
    Generic { reason: String },
    /// 4000002
    Required { property: String },
    /// 4000003
    MinLength { min_length: u64, actual_length: u64 },
    /// 4000017
    MaxLength { max_length: u64, actual_length: u64 },
    /// 4000004 (a `pattern` mismatch)
    InvalidFormat { pattern: String },
    /// 4000018
    Minimum { minimum: f64, actual: f64 },
    /// 4000019
    ExclusiveMinimum { minimum: f64, actual: f64 },
    /// 4000020
    Maximum { maximum: f64, actual: f64 },
    /// 4000021
    ExclusiveMaximum { maximum: f64, actual: f64 },
    /// 4000022
    MultipleOf { base: f64, actual: f64 },
    /// 4000023
    MaxItems { max_items: u64, actual_items: u64 },
    /// 4000024
    MinItems { min_items: u64, actual_items: u64 },
    /// 4000025
    UniqueItems { index_a: usize, index_b: usize },
    /// 4000026
    WrongType {
        allowed_types: Vec<String>,
        actual_type: String,
    },
    /// 4000029: `expected` is the constant as JSON (`"foo"`, `5`).
    Const { expected: String },
    /// 4000030 (constant objects and arrays)
    ConstGeneric,
    /// 4000040
    Email { value: String },
    /// 4000041
    Phone { value: String },
}

fn size(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn num(n: f64) -> String {
    // Go's %v of a number: no trailing `.0` for integral values.
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

impl Violation {
    /// Kratos's UI message id.
    pub fn message_id(&self) -> u32 {
        match self {
            Violation::Generic { .. } => 4000001,
            Violation::Required { .. } => 4000002,
            Violation::MinLength { .. } => 4000003,
            Violation::InvalidFormat { .. } => 4000004,
            Violation::MaxLength { .. } => 4000017,
            Violation::Minimum { .. } => 4000018,
            Violation::ExclusiveMinimum { .. } => 4000019,
            Violation::Maximum { .. } => 4000020,
            Violation::ExclusiveMaximum { .. } => 4000021,
            Violation::MultipleOf { .. } => 4000022,
            Violation::MaxItems { .. } => 4000023,
            Violation::MinItems { .. } => 4000024,
            Violation::UniqueItems { .. } => 4000025,
            Violation::WrongType { .. } => 4000026,
            Violation::Const { .. } => 4000029,
            Violation::ConstGeneric => 4000030,
            Violation::Email { .. } => 4000040,
            Violation::Phone { .. } => 4000041,
        }
    }

    /// The UI message a form shows for this violation (Kratos's `translateValidationError`).
    pub fn ui_message(&self) -> crate::text::Message {
        use crate::text as t;
        match self {
            Violation::Generic { reason } => t::validation_error_generic(reason),
            Violation::Required { property } => t::validation_error_required(property),
            Violation::MinLength {
                min_length,
                actual_length,
            } => t::error_validation_min_length(size(*min_length), size(*actual_length)),
            Violation::MaxLength {
                max_length,
                actual_length,
            } => t::error_validation_max_length(size(*max_length), size(*actual_length)),
            Violation::InvalidFormat { pattern } => t::error_validation_invalid_format(pattern),
            Violation::Minimum { minimum, actual } => {
                t::error_validation_minimum(*minimum, *actual)
            }
            Violation::ExclusiveMinimum { minimum, actual } => {
                t::error_validation_exclusive_minimum(*minimum, *actual)
            }
            Violation::Maximum { maximum, actual } => {
                t::error_validation_maximum(*maximum, *actual)
            }
            Violation::ExclusiveMaximum { maximum, actual } => {
                t::error_validation_exclusive_maximum(*maximum, *actual)
            }
            Violation::MultipleOf { base, actual } => {
                t::error_validation_multiple_of(*base, *actual)
            }
            Violation::MaxItems {
                max_items,
                actual_items,
            } => t::error_validation_max_items(size(*max_items), size(*actual_items)),
            Violation::MinItems {
                min_items,
                actual_items,
            } => t::error_validation_min_items(size(*min_items), size(*actual_items)),
            Violation::UniqueItems { index_a, index_b } => {
                t::error_validation_unique_items(*index_a, *index_b)
            }
            Violation::WrongType {
                allowed_types,
                actual_type,
            } => t::error_validation_wrong_type(allowed_types, actual_type),
            Violation::Const { expected } => t::error_validation_const(expected),
            Violation::ConstGeneric => t::error_validation_const_generic(),
            Violation::Email { value } => t::error_validation_email(value),
            Violation::Phone { value } => t::error_validation_phone(value),
        }
    }

    /// The validator's wording (as in Kratos's error reasons), e.g. `length must be >= 3, but got 1`.
    pub fn describe(&self) -> String {
        match self {
            Violation::Generic { reason } => reason.clone(),
            Violation::Required { property } => format!("missing properties: {property:?}"),
            Violation::MinLength {
                min_length,
                actual_length,
            } => format!("length must be >= {min_length}, but got {actual_length}"),
            Violation::MaxLength {
                max_length,
                actual_length,
            } => format!("length must be <= {max_length}, but got {actual_length}"),
            Violation::InvalidFormat { pattern } => format!("does not match pattern {pattern:?}"),
            Violation::Minimum { minimum, actual } => {
                format!("must be >= {} but found {}", num(*minimum), num(*actual))
            }
            Violation::ExclusiveMinimum { minimum, actual } => {
                format!("must be > {} but found {}", num(*minimum), num(*actual))
            }
            Violation::Maximum { maximum, actual } => {
                format!("must be <= {} but found {}", num(*maximum), num(*actual))
            }
            Violation::ExclusiveMaximum { maximum, actual } => {
                format!("must be < {} but found {}", num(*maximum), num(*actual))
            }
            Violation::MultipleOf { base, actual } => {
                format!("{} not multipleOf {}", num(*actual), num(*base))
            }
            Violation::MaxItems {
                max_items,
                actual_items,
            } => format!("maximum {max_items} items allowed, but found {actual_items} items"),
            Violation::MinItems {
                min_items,
                actual_items,
            } => format!("minimum {min_items} items allowed, but found {actual_items} items"),
            Violation::UniqueItems { index_a, index_b } => {
                format!("items at index {index_a} and {index_b} are equal")
            }
            Violation::WrongType {
                allowed_types,
                actual_type,
            } => format!(
                "expected {}, but got {actual_type}",
                allowed_types.join(" or ")
            ),
            Violation::Const { expected } => format!("value must be {expected}"),
            Violation::ConstGeneric => "const failed".into(),
            Violation::Email { value } => format!("{value:?} is not valid \"email\""),
            Violation::Phone { value } => format!("{value:?} is not valid \"tel\""),
        }
    }

    /// The message's `context` object, with Kratos's keys.
    pub fn context(&self) -> Value {
        use serde_json::json;
        match self {
            Violation::Generic { reason } => json!({ "reason": reason }),
            Violation::Required { property } => json!({ "property": property }),
            Violation::MinLength {
                min_length,
                actual_length,
            } => json!({ "min_length": min_length, "actual_length": actual_length }),
            Violation::MaxLength {
                max_length,
                actual_length,
            } => json!({ "max_length": max_length, "actual_length": actual_length }),
            Violation::InvalidFormat { pattern } => json!({ "pattern": pattern }),
            Violation::Minimum { minimum, actual }
            | Violation::ExclusiveMinimum { minimum, actual } => {
                json!({ "minimum": minimum, "actual": actual })
            }
            Violation::Maximum { maximum, actual }
            | Violation::ExclusiveMaximum { maximum, actual } => {
                json!({ "maximum": maximum, "actual": actual })
            }
            Violation::MultipleOf { base, actual } => json!({ "base": base, "actual": actual }),
            Violation::MaxItems {
                max_items,
                actual_items,
            } => json!({ "max_items": max_items, "actual_items": actual_items }),
            Violation::MinItems {
                min_items,
                actual_items,
            } => json!({ "min_items": min_items, "actual_items": actual_items }),
            Violation::UniqueItems { index_a, index_b } => {
                json!({ "index_a": index_a, "index_b": index_b })
            }
            Violation::WrongType {
                allowed_types,
                actual_type,
            } => json!({ "allowed_types": allowed_types, "actual_type": actual_type }),
            Violation::Const { expected } => json!({ "expected": expected }),
            Violation::ConstGeneric => Value::Null,
            Violation::Email { value } | Violation::Phone { value } => json!({ "value": value }),
        }
    }
}

/// One invalid value.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    /// JSON pointer of the value in the validated document, e.g. `#/traits/email`. For a missing
    /// property it points at the property itself.
    pub pointer: String,
    /// JSON pointer of the failing schema keyword, e.g. `#/properties/traits/properties/email/format`.
    pub schema_pointer: String,
    pub violation: Violation,
}

impl ValidationError {
    pub fn new(
        pointer: impl Into<String>,
        schema_pointer: impl Into<String>,
        violation: Violation,
    ) -> Self {
        ValidationError {
            pointer: pointer.into(),
            schema_pointer: schema_pointer.into(),
            violation,
        }
    }

    /// The UI node this error belongs to (`traits.email`), empty for the whole document.
    pub fn field(&self) -> String {
        pointer_to_dotted(&self.pointer)
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "I[{}] S[{}] {}",
            self.pointer,
            self.schema_pointer,
            self.violation.describe()
        )
    }
}

/// All problems found in one identity's traits. Never empty.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    pub fn single(error: ValidationError) -> Self {
        ValidationErrors(vec![error])
    }

    pub fn iter(&self) -> impl Iterator<Item = &ValidationError> {
        self.0.iter()
    }

    /// The reason Kratos puts in the 400 error body: one error as `I[...] S[...] message`, several
    /// under a `validation failed` line, indented.
    pub fn reason(&self) -> String {
        match self.0.as_slice() {
            [one] => one.to_string(),
            many => {
                let mut out = "I[#] S[#] validation failed".to_string();
                for e in many {
                    out.push_str("\n  ");
                    out.push_str(&e.to_string());
                }
                out
            }
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_like_kratos() {
        let e = ValidationError::new(
            "#/traits/bar",
            "#/properties/traits/properties/bar/type",
            Violation::WrongType {
                allowed_types: vec!["string".into()],
                actual_type: "number".into(),
            },
        );
        assert_eq!(
            e.to_string(),
            "I[#/traits/bar] S[#/properties/traits/properties/bar/type] expected string, but got number"
        );
        assert_eq!(e.field(), "traits.bar");
        let two = ValidationErrors(vec![
            e.clone(),
            ValidationError::new(
                "#/traits/email",
                "#/properties/traits/required",
                Violation::Required {
                    property: "email".into(),
                },
            ),
        ]);
        let reason = two.reason();
        assert!(reason.starts_with("I[#] S[#] validation failed\n  I[#/traits/bar]"));
        assert!(reason.ends_with("missing properties: \"email\""));
        assert_eq!(
            Violation::Minimum {
                minimum: 5.0,
                actual: 3.0
            }
            .describe(),
            "must be >= 5 but found 3"
        );
        assert_eq!(Violation::Phone { value: "x".into() }.message_id(), 4000041);
    }
}
