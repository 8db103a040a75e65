//! Validation errors (4000xxx): identity-schema violations, credential problems and password
//! policy.

use serde_json::Value;

use super::format::{go_float, go_json_float, go_quote, go_title};
use super::ids::*;
use super::{Message, string_array};

/// `NewValidationErrorGeneric`: a validation error's reason, shown as is.
pub fn validation_error_generic(reason: &str) -> Message {
    Message::error(ERROR_VALIDATION_GENERIC, reason).with_context([("reason", Value::from(reason))])
}

/// `NewValidationErrorRequired`: `property` is the missing property's name (the last segment of
/// its JSON pointer).
pub fn validation_error_required(property: &str) -> Message {
    Message::error(
        ERROR_VALIDATION_REQUIRED,
        format!("Property {property} is missing."),
    )
    .with_context([("property", Value::from(property))])
}

/// `NewErrorValidationMinLength`.
pub fn error_validation_min_length(min_length: usize, actual_length: usize) -> Message {
    Message::error(
        ERROR_VALIDATION_MIN_LENGTH,
        format!("length must be >= {min_length}, but got {actual_length}"),
    )
    .with_context([
        ("min_length", Value::from(min_length)),
        ("actual_length", Value::from(actual_length)),
    ])
}

/// `NewErrorValidationMaxLength`.
pub fn error_validation_max_length(max_length: usize, actual_length: usize) -> Message {
    Message::error(
        ERROR_VALIDATION_MAX_LENGTH,
        format!("length must be <= {max_length}, but got {actual_length}"),
    )
    .with_context([
        ("max_length", Value::from(max_length)),
        ("actual_length", Value::from(actual_length)),
    ])
}

/// `NewErrorValidationInvalidFormat`: the value does not match the schema's `pattern`.
pub fn error_validation_invalid_format(pattern: &str) -> Message {
    Message::error(
        ERROR_VALIDATION_INVALID_FORMAT,
        format!("does not match pattern {}", go_quote(pattern)),
    )
    .with_context([("pattern", Value::from(pattern))])
}

/// `NewErrorValidationMinimum`.
pub fn error_validation_minimum(minimum: f64, actual: f64) -> Message {
    bound(ERROR_VALIDATION_MINIMUM, ">=", "minimum", minimum, actual)
}

/// `NewErrorValidationExclusiveMinimum`.
pub fn error_validation_exclusive_minimum(minimum: f64, actual: f64) -> Message {
    bound(
        ERROR_VALIDATION_EXCLUSIVE_MINIMUM,
        ">",
        "minimum",
        minimum,
        actual,
    )
}

/// `NewErrorValidationMaximum`.
pub fn error_validation_maximum(maximum: f64, actual: f64) -> Message {
    bound(ERROR_VALIDATION_MAXIMUM, "<=", "maximum", maximum, actual)
}

/// `NewErrorValidationExclusiveMaximum`.
pub fn error_validation_exclusive_maximum(maximum: f64, actual: f64) -> Message {
    bound(
        ERROR_VALIDATION_EXCLUSIVE_MAXIMUM,
        "<",
        "maximum",
        maximum,
        actual,
    )
}

/// "must be {op} {limit} but found {actual}", the numeric bound errors.
fn bound(id: u32, operator: &str, limit_key: &str, limit: f64, actual: f64) -> Message {
    Message::error(
        id,
        format!(
            "must be {operator} {} but found {}",
            go_float(limit),
            go_float(actual)
        ),
    )
    .with_context([
        (limit_key, go_json_float(limit)),
        ("actual", go_json_float(actual)),
    ])
}

/// `NewErrorValidationMultipleOf`: `actual` is not a multiple of `base`.
pub fn error_validation_multiple_of(base: f64, actual: f64) -> Message {
    Message::error(
        ERROR_VALIDATION_MULTIPLE_OF,
        format!("{} not multipleOf {}", go_float(actual), go_float(base)),
    )
    .with_context([
        ("base", go_json_float(base)),
        ("actual", go_json_float(actual)),
    ])
}

/// `NewErrorValidationMaxItems`.
pub fn error_validation_max_items(max_items: usize, actual_items: usize) -> Message {
    Message::error(
        ERROR_VALIDATION_MAX_ITEMS,
        format!("maximum {max_items} items allowed, but found {actual_items} items"),
    )
    .with_context([
        ("max_items", Value::from(max_items)),
        ("actual_items", Value::from(actual_items)),
    ])
}

/// `NewErrorValidationMinItems`.
pub fn error_validation_min_items(min_items: usize, actual_items: usize) -> Message {
    Message::error(
        ERROR_VALIDATION_MIN_ITEMS,
        format!("minimum {min_items} items allowed, but found {actual_items} items"),
    )
    .with_context([
        ("min_items", Value::from(min_items)),
        ("actual_items", Value::from(actual_items)),
    ])
}

/// `NewErrorValidationUniqueItems`: the array items at the two indexes are equal.
pub fn error_validation_unique_items(index_a: usize, index_b: usize) -> Message {
    Message::error(
        ERROR_VALIDATION_UNIQUE_ITEMS,
        format!("items at index {index_a} and {index_b} are equal"),
    )
    .with_context([
        ("index_a", Value::from(index_a)),
        ("index_b", Value::from(index_b)),
    ])
}

/// `NewErrorValidationWrongType`: `allowed_types` are JSON schema type names.
pub fn error_validation_wrong_type<S: AsRef<str>>(
    allowed_types: &[S],
    actual_type: &str,
) -> Message {
    let allowed = allowed_types
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(" or ");
    Message::error(
        ERROR_VALIDATION_WRONG_TYPE,
        format!("expected {allowed}, but got {actual_type}"),
    )
    .with_context([
        ("allowed_types", string_array(allowed_types)),
        ("actual_type", Value::from(actual_type)),
    ])
}

/// `NewErrorValidationConst`: `expected` is the schema's constant as the validator prints it
/// (Kratos passes the validator message's text, so it is always a string).
pub fn error_validation_const(expected: &str) -> Message {
    Message::error(
        ERROR_VALIDATION_CONST,
        format!("must be equal to constant {expected}"),
    )
    .with_context([("expected", Value::from(expected))])
}

/// `NewErrorValidationConstGeneric`.
pub fn error_validation_const_generic() -> Message {
    Message::error(ERROR_VALIDATION_CONST_GENERIC, "const failed")
}

/// `NewErrorValidationEmail`: `value` is the rejected input.
pub fn error_validation_email(value: &str) -> Message {
    Message::error(ERROR_VALIDATION_EMAIL, "Enter a valid email address")
        .with_context([("value", Value::from(value))])
}

/// `NewErrorValidationPhone`: `value` is the rejected input.
pub fn error_validation_phone(value: &str) -> Message {
    Message::error(ERROR_VALIDATION_PHONE, "Enter a valid phone number")
        .with_context([("value", Value::from(value))])
}

/// `NewErrorValidationPasswordPolicyViolationGeneric`: `reason` completes "because …".
pub fn error_validation_password_policy_violation_generic(reason: &str) -> Message {
    Message::error(
        ERROR_VALIDATION_PASSWORD_POLICY_VIOLATION_GENERIC,
        format!("The password can not be used because {reason}."),
    )
    .with_context([("reason", Value::from(reason))])
}

/// `NewErrorValidationPasswordIdentifierTooSimilar`.
pub fn error_validation_password_identifier_too_similar() -> Message {
    Message::error(
        ERROR_VALIDATION_PASSWORD_IDENTIFIER_TOO_SIMILAR,
        "The password can not be used because it is too similar to the identifier.",
    )
}

/// `NewErrorValidationPasswordMinLength`.
pub fn error_validation_password_min_length(min_length: usize, actual_length: usize) -> Message {
    Message::error(
        ERROR_VALIDATION_PASSWORD_MIN_LENGTH,
        format!(
            "The password must be at least {min_length} characters long, but got {actual_length}."
        ),
    )
    .with_context([
        ("min_length", Value::from(min_length)),
        ("actual_length", Value::from(actual_length)),
    ])
}

/// `NewErrorValidationPasswordMaxLength`.
pub fn error_validation_password_max_length(max_length: usize, actual_length: usize) -> Message {
    Message::error(
        ERROR_VALIDATION_PASSWORD_MAX_LENGTH,
        format!(
            "The password must be at most {max_length} characters long, but got {actual_length}."
        ),
    )
    .with_context([
        ("max_length", Value::from(max_length)),
        ("actual_length", Value::from(actual_length)),
    ])
}

/// `NewErrorValidationPasswordNewSameAsOld`.
pub fn error_validation_password_new_same_as_old() -> Message {
    Message::error(
        ERROR_VALIDATION_PASSWORD_NEW_SAME_AS_OLD,
        "The new password must be different from the old password.",
    )
}

/// `NewErrorValidationPasswordTooManyBreaches`: `breaches` is how often the password appears in
/// known breaches.
pub fn error_validation_password_too_many_breaches(breaches: u64) -> Message {
    Message::error(
        ERROR_VALIDATION_PASSWORD_TOO_MANY_BREACHES,
        "The password has been found in data breaches and must no longer be used.",
    )
    .with_context([("breaches", Value::from(breaches))])
}

/// `NewErrorValidationInvalidCredentials`.
pub fn error_validation_invalid_credentials() -> Message {
    Message::error(
        ERROR_VALIDATION_INVALID_CREDENTIALS,
        "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.",
    )
}

/// `NewErrorValidationAccountNotFound`.
pub fn error_validation_account_not_found() -> Message {
    Message::error(
        ERROR_VALIDATION_ACCOUNT_NOT_FOUND,
        "This account does not exist or has no login method configured.",
    )
}

/// `NewErrorValidationDuplicateCredentials`.
pub fn error_validation_duplicate_credentials() -> Message {
    Message::error(
        ERROR_VALIDATION_DUPLICATE_CREDENTIALS,
        "An account with the same identifier (email, phone, username, ...) exists already.",
    )
}

/// `NewErrorValidationDuplicateCredentialsWithHints`: the identifier is taken; tells the user
/// which credential types (`password`, `oidc`, `webauthn`, …) and social sign-in providers the
/// existing account can sign in with. An empty `credential_identifier_hint` reads as
/// "an email, phone, or username".
pub fn error_validation_duplicate_credentials_with_hints<C: AsRef<str>, P: AsRef<str>>(
    available_credential_types: &[C],
    available_oidc_providers: &[P],
    credential_identifier_hint: &str,
) -> Message {
    let identifier = if credential_identifier_hint.is_empty() {
        "an email, phone, or username"
    } else {
        credential_identifier_hint
    };
    let mut reason = format!(
        "You tried signing in with {identifier} which is already in use by another account."
    );

    if !available_credential_types.is_empty() {
        let mut methods: Vec<&str> = Vec::new();
        for credential_type in available_credential_types {
            let method = match credential_type.as_ref() {
                "password" => "your password",
                "oidc" | "saml" => "social sign in",
                "webauthn" => "your passkey or a security key",
                "passkey" => "your passkey",
                _ => continue,
            };
            if !methods.contains(&method) {
                methods.push(method);
            }
        }
        // Unknown types alone still give the user a hint (and the catalogue's placeholder).
        if methods.is_empty() {
            for credential_type in available_credential_types {
                if !methods.contains(&credential_type.as_ref()) {
                    methods.push(credential_type.as_ref());
                }
            }
        }
        let mut methods: Vec<String> = methods.into_iter().map(str::to_owned).collect();
        if let [_, .., last] = methods.as_mut_slice() {
            *last = format!("or {last}");
        }
        if !methods.is_empty() {
            reason.push_str(&format!(" You can sign in using {}.", methods.join(", ")));
        }
    }

    if !available_oidc_providers.is_empty() {
        let providers = available_oidc_providers
            .iter()
            .map(|provider| {
                let provider = provider.as_ref();
                // Catalogue placeholders such as "{providers}" stay verbatim.
                if provider.contains(['{', '}']) {
                    provider.to_owned()
                } else {
                    go_title(provider)
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        reason.push_str(&format!(
            " You can sign in using one of the following social sign in providers: {providers}."
        ));
    }

    Message::error(ERROR_VALIDATION_DUPLICATE_CREDENTIALS_WITH_HINTS, reason).with_context([
        (
            "available_credential_types",
            string_array(available_credential_types),
        ),
        (
            "available_oidc_providers",
            string_array(available_oidc_providers),
        ),
        (
            "credential_identifier_hint",
            Value::from(credential_identifier_hint),
        ),
    ])
}

/// `NewErrorValidationDuplicateCredentialsOnOIDCLink`.
pub fn error_validation_duplicate_credentials_on_oidc_link() -> Message {
    Message::error(
        ERROR_VALIDATION_DUPLICATE_CREDENTIALS_ON_OIDC_LINK,
        "An account with the same identifier (email, phone, username, ...) exists already. Please sign in to your existing account to link your social profile.",
    )
}

/// `NewErrorValidationTOTPVerifierWrong`.
pub fn error_validation_totp_verifier_wrong() -> Message {
    Message::error(
        ERROR_VALIDATION_TOTP_VERIFIER_WRONG,
        "The provided authentication code is invalid, please try again.",
    )
}

/// `NewErrorValidationLookupAlreadyUsed`.
pub fn error_validation_lookup_already_used() -> Message {
    Message::error(
        ERROR_VALIDATION_LOOKUP_ALREADY_USED,
        "This backup recovery code has already been used.",
    )
}

/// `NewErrorValidationLookupInvalid`.
pub fn error_validation_lookup_invalid() -> Message {
    Message::error(
        ERROR_VALIDATION_LOOKUP_INVALID,
        "The backup recovery code is not valid.",
    )
}

/// `NewErrorValidationIdentifierMissing`.
pub fn error_validation_identifier_missing() -> Message {
    Message::error(
        ERROR_VALIDATION_IDENTIFIER_MISSING,
        "Could not find any login identifiers. Did you forget to set them? This could also be caused by a server misconfiguration.",
    )
}

/// `NewErrorValidationAddressNotVerified`.
pub fn error_validation_address_not_verified() -> Message {
    Message::error(
        ERROR_VALIDATION_ADDRESS_NOT_VERIFIED,
        "Account not active yet. Did you forget to verify your email address?",
    )
}

/// `NewErrorValidationNoTOTPDevice`.
pub fn error_validation_no_totp_device() -> Message {
    Message::error(
        ERROR_VALIDATION_NO_TOTP_DEVICE,
        "You have no TOTP device set up.",
    )
}

/// `NewErrorValidationNoLookup`.
pub fn error_validation_no_lookup() -> Message {
    Message::error(
        ERROR_VALIDATION_NO_LOOKUP,
        "You have no backup recovery codes set up.",
    )
}

/// `NewErrorValidationNoWebAuthnDevice`.
pub fn error_validation_no_web_authn_device() -> Message {
    Message::error(
        ERROR_VALIDATION_NO_WEB_AUTHN_DEVICE,
        "You have no WebAuthn device set up.",
    )
}

/// `NewErrorValidationSuchNoWebAuthnUser`.
pub fn error_validation_such_no_web_authn_user() -> Message {
    Message::error(
        ERROR_VALIDATION_SUCH_NO_WEB_AUTHN_USER,
        "This account does not exist or has no security key set up.",
    )
}

/// `NewErrorValidationNoCodeUser`.
pub fn error_validation_no_code_user() -> Message {
    Message::error(
        ERROR_VALIDATION_NO_CODE_USER,
        "This account does not exist or has not setup sign in with code.",
    )
}

/// `NewErrorValidationTraitsMismatch`.
pub fn error_validation_traits_mismatch() -> Message {
    Message::error(
        ERROR_VALIDATION_TRAITS_MISMATCH,
        "The provided traits do not match the traits previously associated with this flow.",
    )
}

/// `NewErrorCaptchaFailed`.
pub fn error_captcha_failed() -> Message {
    Message::error(
        ERROR_VALIDATION_CAPTCHA_ERROR,
        "Captcha verification failed, please try again.",
    )
}

/// `NewErrorValidationNoDeviceAuthnDevice`.
pub fn error_validation_no_device_authn_device() -> Message {
    Message::error(
        ERROR_VALIDATION_NO_DEVICE_AUTHN_DEVICE,
        "You have no DeviceAuthn device set up.",
    )
}

/// `NewErrorValidationWebAuthnVerifierWrong`.
pub fn error_validation_web_authn_verifier_wrong() -> Message {
    Message::error(
        ERROR_VALIDATION_WEB_AUTHN_VERIFIER_WRONG,
        "The provided web authn login is invalid, please try again.",
    )
}

/// `NewErrorValidationDeviceAuthnVerifierWrong`.
pub fn error_validation_device_authn_verifier_wrong() -> Message {
    Message::error(
        ERROR_VALIDATION_DEVICE_AUTHN_VERIFIER_WRONG,
        "The provided DeviceAuthn signature is invalid.",
    )
}

/// `NewErrorValidationDeviceAuthnRelaxedAttestationNoLongerValid`.
pub fn error_validation_device_authn_relaxed_attestation_no_longer_valid() -> Message {
    Message::error(
        ERROR_VALIDATION_DEVICE_AUTHN_RELAXED_ATTESTATION_NO_LONGER_VALID,
        "This DeviceAuthn key can no longer be used because relaxed attestation is expired or disabled. Please enroll your device again.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_credentials_hints_read_naturally() {
        let message = error_validation_duplicate_credentials_with_hints(
            &["password", "oidc", "saml", "webauthn"],
            &["google", "github"],
            "user@example.com",
        );
        assert_eq!(
            message.text,
            "You tried signing in with user@example.com which is already in use by another account. You can sign in using your password, social sign in, or your passkey or a security key. You can sign in using one of the following social sign in providers: Google, Github."
        );
        assert_eq!(
            message.context,
            Some(json!({
                "available_credential_types": ["password", "oidc", "saml", "webauthn"],
                "available_oidc_providers": ["google", "github"],
                "credential_identifier_hint": "user@example.com",
            }))
        );
    }

    #[test]
    fn duplicate_credentials_without_hints() {
        let none: [&str; 0] = [];
        let message = error_validation_duplicate_credentials_with_hints(&none, &none, "");
        assert_eq!(
            message.text,
            "You tried signing in with an email, phone, or username which is already in use by another account."
        );
        let single = error_validation_duplicate_credentials_with_hints(&["passkey"], &none, "");
        assert!(
            single
                .text
                .ends_with(" You can sign in using your passkey.")
        );
        let unknown =
            error_validation_duplicate_credentials_with_hints(&["code", "totp"], &none, "x");
        assert!(
            unknown
                .text
                .ends_with(" You can sign in using code, or totp.")
        );
    }

    #[test]
    fn numeric_bounds_print_like_go() {
        let message = error_validation_minimum(1.5, 0.25);
        assert_eq!(message.text, "must be >= 1.5 but found 0.25");
        assert_eq!(
            message.context,
            Some(json!({"actual": 0.25, "minimum": 1.5}))
        );
        assert_eq!(
            error_validation_exclusive_maximum(1e7, 2e7).text,
            "must be < 1e+07 but found 2e+07"
        );
        assert_eq!(
            error_validation_multiple_of(0.5, 1.25).text,
            "1.25 not multipleOf 0.5"
        );
    }

    #[test]
    fn pattern_is_go_quoted() {
        let message = error_validation_invalid_format(r#"^\d+"x$"#);
        assert_eq!(message.text, r#"does not match pattern "^\\d+\"x$""#);
        assert_eq!(message.context, Some(json!({"pattern": r#"^\d+"x$"#})));
    }

    #[test]
    fn wrong_type_joins_with_or() {
        let message = error_validation_wrong_type(&["string", "null"], "integer");
        assert_eq!(message.text, "expected string or null, but got integer");
    }
}
