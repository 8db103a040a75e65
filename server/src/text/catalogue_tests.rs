//! The catalogue check: every message Kratos lists in its UI message catalogue (messages.json),
//! built with the catalogue's example arguments, must come out with the catalogue's id, type,
//! text and context. The expectations are embedded so the test never depends on files outside
//! the repository.
//!
//! The catalogue was generated with placeholder arguments ("{provider}"), times of
//! 2020-01-01T00:59:59Z (a second before 01:00) and 2020-01-01T01:01:00Z, and every wall-clock
//! duration fixed at one minute; the rows use the same.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::*;
use MessageType::{Error, Info, Success};

/// Kratos's UI message catalogue has this many entries.
const CATALOGUE_SIZE: usize = 158;

struct Row {
    built: Message,
    id: u32,
    r#type: MessageType,
    text: &'static str,
    context: Option<&'static str>,
}

fn row(
    built: Message,
    id: u32,
    r#type: MessageType,
    text: &'static str,
    context: Option<&'static str>,
) -> Row {
    Row {
        built,
        id,
        r#type,
        text,
        context,
    }
}

fn at(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 1, hour, minute, second)
        .single()
        .unwrap_or_default()
}

fn a_second_ago() -> DateTime<Utc> {
    at(0, 59, 59)
}

fn in_a_minute() -> DateTime<Utc> {
    at(1, 1, 0)
}

fn catalogue() -> Vec<Row> {
    vec![
        row(info_login(), 1010001, Info, r#"Sign in"#, None),
        row(
            info_login_with("{provider}", "{providerID}"),
            1010002,
            Info,
            r#"Sign in with {provider}"#,
            Some(r#"{"provider":"{provider}","provider_id":"{providerID}"}"#),
        ),
        row(
            info_login_re_auth(),
            1010003,
            Info,
            r#"Please confirm this action by verifying that it is you."#,
            None,
        ),
        row(
            info_login_mfa(),
            1010004,
            Info,
            r#"Please complete the second authentication challenge."#,
            None,
        ),
        row(info_login_verify(), 1010005, Info, r#"Verify"#, None),
        row(
            info_login_totp_label(),
            1010006,
            Info,
            r#"Authentication code"#,
            None,
        ),
        row(
            info_login_lookup_label(),
            1010007,
            Info,
            r#"Backup recovery code"#,
            None,
        ),
        row(
            info_self_service_login_web_authn(),
            1010008,
            Info,
            r#"Sign in with a hardware key"#,
            None,
        ),
        row(
            info_login_totp(),
            1010009,
            Info,
            r#"Use Authenticator"#,
            None,
        ),
        row(
            info_login_lookup(),
            1010010,
            Info,
            r#"Use backup recovery code"#,
            None,
        ),
        row(
            info_self_service_continue_login_web_authn(),
            1010011,
            Info,
            r#"Sign in with a hardware key"#,
            None,
        ),
        row(
            info_login_web_authn_passwordless(),
            1010012,
            Info,
            r#"Prepare your WebAuthn device (e.g. security key, biometrics scanner, ...) and press continue."#,
            None,
        ),
        row(
            info_self_service_login_continue(),
            1010013,
            Info,
            r#"Continue"#,
            None,
        ),
        row(
            login_code_sent(),
            1010014,
            Info,
            r#"A code was sent to the address you provided. If you didn't receive it, please check the spelling of the address and try again."#,
            None,
        ),
        row(
            info_self_service_login_code(),
            1010015,
            Info,
            r#"Send sign in code"#,
            None,
        ),
        row(
            info_login_link_message(
                "{duplicateIdentifier}",
                "{provider}",
                "{newLoginUrl}",
                &["{available_credential_types_list}"],
                &["{available_oidc_providers_list}"],
            ),
            1010016,
            Info,
            r#"You tried to sign in with "{duplicateIdentifier}", but that email is already used by another account. Sign in to your account with one of the options below to add your account "{duplicateIdentifier}" at "{provider}" as another way to sign in."#,
            Some(
                r#"{"available_credential_types":["{available_credential_types_list}"],"available_providers":["{available_oidc_providers_list}"],"duplicateIdentifier":"{duplicateIdentifier}","duplicate_identifier":"{duplicateIdentifier}","newLoginUrl":"{newLoginUrl}","new_login_url":"{newLoginUrl}","provider":"{provider}"}"#,
            ),
        ),
        row(
            info_login_and_link(),
            1010017,
            Info,
            r#"Sign in and link"#,
            None,
        ),
        row(
            info_login_with_and_link("{provider}"),
            1010018,
            Info,
            r#"Confirm with {provider}"#,
            Some(r#"{"provider":"{provider}"}"#),
        ),
        row(
            info_self_service_login_code_mfa(),
            1010019,
            Info,
            r#"Request code to continue"#,
            None,
        ),
        row(
            info_self_service_login_passkey(),
            1010021,
            Info,
            r#"Sign in with passkey"#,
            None,
        ),
        row(
            info_login_password(),
            1010022,
            Info,
            r#"Sign in with password"#,
            None,
        ),
        row(
            info_self_service_login_aal2_code_address("{channel}", "{address}"),
            1010023,
            Info,
            r#"Send code to {address}"#,
            Some(r#"{"address":"{address}","channel":"{channel}"}"#),
        ),
        row(
            info_self_service_login_device_authn(),
            1010024,
            Info,
            r#"Sign in with a hardware key"#,
            None,
        ),
        row(
            login_code_sent_for_authenticated_user(),
            1010025,
            Info,
            r#"A code was sent to your address. If you didn't receive it, please try again."#,
            None,
        ),
        row(info_registration(), 1040001, Info, r#"Sign up"#, None),
        row(
            info_registration_with("{provider}", "{providerID}"),
            1040002,
            Info,
            r#"Sign up with {provider}"#,
            Some(r#"{"provider":"{provider}","provider_id":"{providerID}"}"#),
        ),
        row(
            info_registration_continue(),
            1040003,
            Info,
            r#"Continue"#,
            None,
        ),
        row(
            info_self_service_registration_register_web_authn(),
            1040004,
            Info,
            r#"Sign up with security key"#,
            None,
        ),
        row(
            registration_email_with_code_sent(),
            1040005,
            Info,
            r#"A code has been sent to the address(es) you provided. If you have not received a message, check the spelling of the address and retry the registration."#,
            None,
        ),
        row(
            info_self_service_registration_register_code(),
            1040006,
            Info,
            r#"Send sign up code"#,
            None,
        ),
        row(
            info_self_service_registration_register_passkey(),
            1040007,
            Info,
            r#"Sign up with passkey"#,
            None,
        ),
        row(info_registration_back(), 1040008, Info, r#"Back"#, None),
        row(
            info_self_service_choose_credentials(),
            1040009,
            Info,
            r#"Please choose a credential to authenticate yourself with."#,
            None,
        ),
        row(
            info_self_service_settings_update_success(),
            1050001,
            Success,
            r#"Your changes have been saved!"#,
            None,
        ),
        row(
            info_self_service_settings_update_link_oidc("{provider}"),
            1050002,
            Info,
            r#"Link {provider}"#,
            Some(r#"{"provider":"{provider}"}"#),
        ),
        row(
            info_self_service_settings_update_unlink_oidc("{provider}"),
            1050003,
            Info,
            r#"Unlink {provider}"#,
            Some(r#"{"provider":"{provider}"}"#),
        ),
        row(
            info_self_service_settings_update_unlink_totp(),
            1050004,
            Info,
            r#"Unlink TOTP Authenticator App"#,
            None,
        ),
        row(
            info_self_service_settings_totp_qr_code(),
            1050005,
            Info,
            r#"Authenticator app QR code"#,
            None,
        ),
        row(
            info_self_service_settings_totp_secret("{secret}"),
            1050006,
            Info,
            r#"{secret}"#,
            Some(r#"{"secret":"{secret}"}"#),
        ),
        row(
            info_self_service_settings_reveal_lookup(),
            1050007,
            Info,
            r#"Reveal backup recovery codes"#,
            None,
        ),
        row(
            info_self_service_settings_regenerate_lookup(),
            1050008,
            Info,
            r#"Generate new backup recovery codes"#,
            None,
        ),
        row(
            info_self_service_settings_lookup_secret("{secret}"),
            1050009,
            Info,
            r#"{secret}"#,
            Some(r#"{"secret":"{secret}"}"#),
        ),
        row(
            info_self_service_settings_lookup_secrets_label(),
            1050010,
            Info,
            r#"These are your back up recovery codes. Please keep them in a safe place!"#,
            None,
        ),
        row(
            info_self_service_settings_lookup_confirm(),
            1050011,
            Info,
            r#"Confirm backup recovery codes"#,
            None,
        ),
        row(
            info_self_service_settings_register_web_authn(),
            1050012,
            Info,
            r#"Add security key"#,
            None,
        ),
        row(
            info_self_service_register_web_authn_display_name(),
            1050013,
            Info,
            r#"Name of the security key"#,
            None,
        ),
        row(
            info_self_service_settings_lookup_secret_used(a_second_ago()),
            1050014,
            Info,
            r#"Secret was used at 2020-01-01 00:59:59 +0000 UTC"#,
            Some(r#"{"used_at":"2020-01-01T00:59:59Z","used_at_unix":1577840399}"#),
        ),
        row(
            info_self_service_settings_lookup_secret_list(
                &["{secrets_list}"],
                &[
                    info_self_service_settings_lookup_secret("{secret}"),
                    info_self_service_settings_lookup_secret_used(a_second_ago()),
                ],
            ),
            1050015,
            Info,
            r#"{secrets_list}"#,
            Some(
                r#"{"secrets":[{"id":1050009,"text":"{secret}","type":"info","context":{"secret":"{secret}"}},{"id":1050014,"text":"Secret was used at 2020-01-01 00:59:59 +0000 UTC","type":"info","context":{"used_at":"2020-01-01T00:59:59Z","used_at_unix":1577840399}}]}"#,
            ),
        ),
        row(
            info_self_service_settings_disable_lookup(),
            1050016,
            Info,
            r#"Disable this method"#,
            None,
        ),
        row(
            info_self_service_settings_totp_secret_label(),
            1050017,
            Info,
            r#"This is your authenticator app secret. Use it if you can not scan the QR code."#,
            None,
        ),
        row(
            info_self_service_remove_web_authn("{display_name}", a_second_ago()),
            1050018,
            Info,
            r#"Remove security key "{display_name}""#,
            Some(
                r#"{"added_at":"2020-01-01T00:59:59Z","added_at_unix":1577840399,"display_name":"{display_name}"}"#,
            ),
        ),
        row(
            info_self_service_settings_register_passkey(),
            1050019,
            Info,
            r#"Add passkey"#,
            None,
        ),
        row(
            info_self_service_remove_passkey("{display_name}", a_second_ago()),
            1050020,
            Info,
            r#"Remove passkey "{display_name}""#,
            Some(
                r#"{"added_at":"2020-01-01T00:59:59Z","added_at_unix":1577840399,"display_name":"{display_name}"}"#,
            ),
        ),
        row(
            info_self_service_settings_managed_by_organization(),
            1050023,
            Info,
            r#"Your account is managed by your organization. To change these settings, contact your organization administrator."#,
            None,
        ),
        row(
            recovery_successful(in_a_minute(), TimeDelta::minutes(1)),
            1060001,
            Success,
            r#"You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next 1.00 minutes."#,
            Some(
                r#"{"privilegedSessionExpiresAt":"2020-01-01T01:01:00Z","privileged_session_expires_at":"2020-01-01T01:01:00Z","privileged_session_expires_at_unix":1577840460}"#,
            ),
        ),
        row(
            recovery_email_sent(),
            1060002,
            Info,
            r#"An email containing a recovery link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."#,
            None,
        ),
        row(
            recovery_email_with_code_sent(),
            1060003,
            Info,
            r#"An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."#,
            None,
        ),
        row(
            recovery_code_recovery_select_address_sent("{masked_address}"),
            1060004,
            Info,
            r#"A recovery code has been sent to {masked_address}. If you have not received it, check the spelling of the address and make sure to use the address you registered with."#,
            Some(r#"{"masked_address":"{masked_address}"}"#),
        ),
        row(
            recovery_ask_for_full_address(),
            1060005,
            Info,
            r#"Recover access to your account by providing your recovery address in full."#,
            None,
        ),
        row(
            recovery_ask_to_choose_address(),
            1060006,
            Info,
            r#"How do you want to recover your account?"#,
            None,
        ),
        row(recovery_back(), 1060007, Info, r#"Back"#, None),
        row(
            info_node_input_password(),
            1070001,
            Info,
            r#"Password"#,
            None,
        ),
        row(
            info_node_label_generated("{title}", "{name}"),
            1070002,
            Info,
            r#"{title}"#,
            Some(r#"{"name":"{name}","title":"{title}"}"#),
        ),
        row(info_node_label_save(), 1070003, Info, r#"Save"#, None),
        row(info_node_label_id(), 1070004, Info, r#"ID"#, None),
        row(info_node_label_submit(), 1070005, Info, r#"Submit"#, None),
        row(
            info_node_label_verify_otp(),
            1070006,
            Info,
            r#"Verify code"#,
            None,
        ),
        row(info_node_input_email(), 1070007, Info, r#"Email"#, None),
        row(
            info_node_resend_otp(),
            1070008,
            Info,
            r#"Resend code"#,
            None,
        ),
        row(
            info_node_label_continue(),
            1070009,
            Info,
            r#"Continue"#,
            None,
        ),
        row(
            info_node_label_recovery_code(),
            1070010,
            Info,
            r#"Recovery code"#,
            None,
        ),
        row(
            info_node_label_verification_code(),
            1070011,
            Info,
            r#"Verification code"#,
            None,
        ),
        row(
            info_node_label_registration_code(),
            1070012,
            Info,
            r#"Registration code"#,
            None,
        ),
        row(
            info_node_label_login_code(),
            1070013,
            Info,
            r#"Login code"#,
            None,
        ),
        row(
            info_node_login_and_link_credential(),
            1070014,
            Info,
            r#"Login and link credential"#,
            None,
        ),
        row(
            captcha_container_message(),
            1070015,
            Info,
            r#"Please complete the captcha challenge to continue."#,
            None,
        ),
        row(
            recovery_ask_any_recovery_address(),
            1070016,
            Info,
            r#"Recovery address"#,
            None,
        ),
        row(
            info_node_input_phone_number(),
            1070017,
            Info,
            r#"Phone number"#,
            None,
        ),
        row(
            info_node_input_email_or_phone(),
            1070018,
            Info,
            r#"Email or phone number"#,
            None,
        ),
        row(
            verification_email_sent(),
            1080001,
            Info,
            r#"An email containing a verification link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."#,
            None,
        ),
        row(
            info_self_service_verification_successful(),
            1080002,
            Success,
            r#"You successfully verified your email address."#,
            None,
        ),
        row(
            verification_email_with_code_sent(),
            1080003,
            Info,
            r#"An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with."#,
            None,
        ),
        row(
            verification_phone_with_code_sent(),
            1080004,
            Info,
            r#"A text message containing a verification code has been sent to the phone number you provided. If you have not received a text message, check the spelling of the number and make sure to use the number you registered with."#,
            None,
        ),
        row(
            info_self_service_verification_phone_successful(),
            1080005,
            Success,
            r#"You successfully verified your phone number."#,
            None,
        ),
        row(
            validation_error_generic("{reason}"),
            4000001,
            Error,
            r#"{reason}"#,
            Some(r#"{"reason":"{reason}"}"#),
        ),
        row(
            validation_error_required("{property}"),
            4000002,
            Error,
            r#"Property {property} is missing."#,
            Some(r#"{"property":"{property}"}"#),
        ),
        row(
            error_validation_min_length(5, 3),
            4000003,
            Error,
            r#"length must be >= 5, but got 3"#,
            Some(r#"{"actual_length":3,"min_length":5}"#),
        ),
        row(
            error_validation_invalid_format("{pattern}"),
            4000004,
            Error,
            r#"does not match pattern "{pattern}""#,
            Some(r#"{"pattern":"{pattern}"}"#),
        ),
        row(
            error_validation_password_policy_violation_generic("{reason}"),
            4000005,
            Error,
            r#"The password can not be used because {reason}."#,
            Some(r#"{"reason":"{reason}"}"#),
        ),
        row(
            error_validation_invalid_credentials(),
            4000006,
            Error,
            r#"The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number."#,
            None,
        ),
        row(
            error_validation_duplicate_credentials(),
            4000007,
            Error,
            r#"An account with the same identifier (email, phone, username, ...) exists already."#,
            None,
        ),
        row(
            error_validation_totp_verifier_wrong(),
            4000008,
            Error,
            r#"The provided authentication code is invalid, please try again."#,
            None,
        ),
        row(
            error_validation_identifier_missing(),
            4000009,
            Error,
            r#"Could not find any login identifiers. Did you forget to set them? This could also be caused by a server misconfiguration."#,
            None,
        ),
        row(
            error_validation_address_not_verified(),
            4000010,
            Error,
            r#"Account not active yet. Did you forget to verify your email address?"#,
            None,
        ),
        row(
            error_validation_no_totp_device(),
            4000011,
            Error,
            r#"You have no TOTP device set up."#,
            None,
        ),
        row(
            error_validation_lookup_already_used(),
            4000012,
            Error,
            r#"This backup recovery code has already been used."#,
            None,
        ),
        row(
            error_validation_no_web_authn_device(),
            4000013,
            Error,
            r#"You have no WebAuthn device set up."#,
            None,
        ),
        row(
            error_validation_no_lookup(),
            4000014,
            Error,
            r#"You have no backup recovery codes set up."#,
            None,
        ),
        row(
            error_validation_such_no_web_authn_user(),
            4000015,
            Error,
            r#"This account does not exist or has no security key set up."#,
            None,
        ),
        row(
            error_validation_lookup_invalid(),
            4000016,
            Error,
            r#"The backup recovery code is not valid."#,
            None,
        ),
        row(
            error_validation_max_length(5, 6),
            4000017,
            Error,
            r#"length must be <= 5, but got 6"#,
            Some(r#"{"actual_length":6,"max_length":5}"#),
        ),
        row(
            error_validation_minimum(5.0, 3.0),
            4000018,
            Error,
            r#"must be >= 5 but found 3"#,
            Some(r#"{"actual":3,"minimum":5}"#),
        ),
        row(
            error_validation_exclusive_minimum(5.0, 5.0),
            4000019,
            Error,
            r#"must be > 5 but found 5"#,
            Some(r#"{"actual":5,"minimum":5}"#),
        ),
        row(
            error_validation_maximum(5.0, 6.0),
            4000020,
            Error,
            r#"must be <= 5 but found 6"#,
            Some(r#"{"actual":6,"maximum":5}"#),
        ),
        row(
            error_validation_exclusive_maximum(5.0, 5.0),
            4000021,
            Error,
            r#"must be < 5 but found 5"#,
            Some(r#"{"actual":5,"maximum":5}"#),
        ),
        row(
            error_validation_multiple_of(7.0, 3.0),
            4000022,
            Error,
            r#"3 not multipleOf 7"#,
            Some(r#"{"actual":3,"base":7}"#),
        ),
        row(
            error_validation_max_items(3, 4),
            4000023,
            Error,
            r#"maximum 3 items allowed, but found 4 items"#,
            Some(r#"{"actual_items":4,"max_items":3}"#),
        ),
        row(
            error_validation_min_items(3, 2),
            4000024,
            Error,
            r#"minimum 3 items allowed, but found 2 items"#,
            Some(r#"{"actual_items":2,"min_items":3}"#),
        ),
        row(
            error_validation_unique_items(0, 2),
            4000025,
            Error,
            r#"items at index 0 and 2 are equal"#,
            Some(r#"{"index_a":0,"index_b":2}"#),
        ),
        row(
            error_validation_wrong_type(&["{allowed_types_list}"], "{actual_type}"),
            4000026,
            Error,
            r#"expected {allowed_types_list}, but got {actual_type}"#,
            Some(r#"{"actual_type":"{actual_type}","allowed_types":["{allowed_types_list}"]}"#),
        ),
        row(
            error_validation_duplicate_credentials_on_oidc_link(),
            4000027,
            Error,
            r#"An account with the same identifier (email, phone, username, ...) exists already. Please sign in to your existing account to link your social profile."#,
            None,
        ),
        row(
            error_validation_duplicate_credentials_with_hints(
                &["{available_credential_types_list}"],
                &["{available_oidc_providers_list}"],
                "{credential_identifier_hint}",
            ),
            4000028,
            Error,
            r#"You tried signing in with {credential_identifier_hint} which is already in use by another account. You can sign in using {available_credential_types_list}. You can sign in using one of the following social sign in providers: {available_oidc_providers_list}."#,
            Some(
                r#"{"available_credential_types":["{available_credential_types_list}"],"available_oidc_providers":["{available_oidc_providers_list}"],"credential_identifier_hint":"{credential_identifier_hint}"}"#,
            ),
        ),
        row(
            error_validation_const("{expected}"),
            4000029,
            Error,
            r#"must be equal to constant {expected}"#,
            Some(r#"{"expected":"{expected}"}"#),
        ),
        row(
            error_validation_const_generic(),
            4000030,
            Error,
            r#"const failed"#,
            None,
        ),
        row(
            error_validation_password_identifier_too_similar(),
            4000031,
            Error,
            r#"The password can not be used because it is too similar to the identifier."#,
            None,
        ),
        row(
            error_validation_password_min_length(6, 5),
            4000032,
            Error,
            r#"The password must be at least 6 characters long, but got 5."#,
            Some(r#"{"actual_length":5,"min_length":6}"#),
        ),
        row(
            error_validation_password_max_length(72, 80),
            4000033,
            Error,
            r#"The password must be at most 72 characters long, but got 80."#,
            Some(r#"{"actual_length":80,"max_length":72}"#),
        ),
        row(
            error_validation_password_too_many_breaches(101),
            4000034,
            Error,
            r#"The password has been found in data breaches and must no longer be used."#,
            Some(r#"{"breaches":101}"#),
        ),
        row(
            error_validation_no_code_user(),
            4000035,
            Error,
            r#"This account does not exist or has not setup sign in with code."#,
            None,
        ),
        row(
            error_validation_traits_mismatch(),
            4000036,
            Error,
            r#"The provided traits do not match the traits previously associated with this flow."#,
            None,
        ),
        row(
            error_validation_account_not_found(),
            4000037,
            Error,
            r#"This account does not exist or has no login method configured."#,
            None,
        ),
        row(
            error_captcha_failed(),
            4000038,
            Error,
            r#"Captcha verification failed, please try again."#,
            None,
        ),
        row(
            error_validation_password_new_same_as_old(),
            4000039,
            Error,
            r#"The new password must be different from the old password."#,
            None,
        ),
        row(
            error_validation_email("{value}"),
            4000040,
            Error,
            r#"Enter a valid email address"#,
            Some(r#"{"value":"{value}"}"#),
        ),
        row(
            error_validation_phone("{value}"),
            4000041,
            Error,
            r#"Enter a valid phone number"#,
            Some(r#"{"value":"{value}"}"#),
        ),
        row(
            error_validation_no_device_authn_device(),
            4000042,
            Error,
            r#"You have no DeviceAuthn device set up."#,
            None,
        ),
        row(
            error_validation_web_authn_verifier_wrong(),
            4000043,
            Error,
            r#"The provided web authn login is invalid, please try again."#,
            None,
        ),
        row(
            error_validation_device_authn_verifier_wrong(),
            4000044,
            Error,
            r#"The provided DeviceAuthn signature is invalid."#,
            None,
        ),
        row(
            error_validation_device_authn_relaxed_attestation_no_longer_valid(),
            4000045,
            Error,
            r#"This DeviceAuthn key can no longer be used because relaxed attestation is expired or disabled. Please enroll your device again."#,
            None,
        ),
        row(
            error_validation_login_flow_expired(a_second_ago(), TimeDelta::minutes(1)),
            4010001,
            Error,
            r#"The login flow expired 1.00 minutes ago, please try again."#,
            Some(r#"{"expired_at":"2020-01-01T00:59:59Z","expired_at_unix":1577840399}"#),
        ),
        row(
            error_validation_login_no_strategy_found(),
            4010002,
            Error,
            r#"Could not find a strategy to log you in with. Did you fill out the form correctly?"#,
            None,
        ),
        row(
            error_validation_registration_no_strategy_found(),
            4010003,
            Error,
            r#"Could not find a strategy to sign you up with. Did you fill out the form correctly?"#,
            None,
        ),
        row(
            error_validation_settings_no_strategy_found(),
            4010004,
            Error,
            r#"Could not find a strategy to update your settings. Did you fill out the form correctly?"#,
            None,
        ),
        row(
            error_validation_recovery_no_strategy_found(),
            4010005,
            Error,
            r#"Could not find a strategy to recover your account with. Did you fill out the form correctly?"#,
            None,
        ),
        row(
            error_validation_verification_no_strategy_found(),
            4010006,
            Error,
            r#"Could not find a strategy to verify your account with. Did you fill out the form correctly?"#,
            None,
        ),
        row(
            error_validation_login_retry_successful(),
            4010007,
            Error,
            r#"The request was already completed successfully and can not be retried."#,
            None,
        ),
        row(
            error_validation_login_code_invalid_or_already_used(),
            4010008,
            Error,
            r#"The login code is invalid or has already been used. Please try again."#,
            None,
        ),
        row(
            error_validation_login_linked_credentials_do_not_match(),
            4010009,
            Error,
            r#"Linked credentials do not match."#,
            None,
        ),
        row(
            error_validation_address_unknown(),
            4010010,
            Error,
            r#"The address you entered does not match any known addresses in the current account."#,
            None,
        ),
        row(
            error_validation_identity_disabled(),
            4010011,
            Error,
            r#"This account has been disabled. Please contact support for assistance."#,
            None,
        ),
        row(
            error_validation_registration_flow_expired(a_second_ago(), TimeDelta::minutes(1)),
            4040001,
            Error,
            r#"The registration flow expired 1.00 minutes ago, please try again."#,
            Some(r#"{"expired_at":"2020-01-01T00:59:59Z","expired_at_unix":1577840399}"#),
        ),
        row(
            error_validation_registration_retry_successful(),
            4040002,
            Error,
            r#"The request was already completed successfully and can not be retried."#,
            None,
        ),
        row(
            error_validation_registration_code_invalid_or_already_used(),
            4040003,
            Error,
            r#"The registration code is invalid or has already been used. Please try again."#,
            None,
        ),
        row(
            error_validation_settings_flow_expired(a_second_ago(), TimeDelta::minutes(1)),
            4050001,
            Error,
            r#"The settings flow expired 1.00 minutes ago, please try again."#,
            Some(r#"{"expired_at":"2020-01-01T00:59:59Z","expired_at_unix":1577840399}"#),
        ),
        row(
            error_validation_settings_too_many_address_changes(),
            4050002,
            Error,
            r#"You can only change one address at a time. Please update each address separately."#,
            None,
        ),
        row(
            error_validation_recovery_retry_success(),
            4060001,
            Error,
            r#"The request was already completed successfully and can not be retried."#,
            None,
        ),
        row(
            error_validation_recovery_state_failure(),
            4060002,
            Error,
            r#"The recovery flow reached a failure state and must be retried."#,
            None,
        ),
        row(
            error_validation_recovery_token_invalid_or_already_used(),
            4060004,
            Error,
            r#"The recovery token is invalid or has already been used. Please retry the flow."#,
            None,
        ),
        row(
            error_validation_recovery_flow_expired(a_second_ago(), TimeDelta::minutes(1)),
            4060005,
            Error,
            r#"The recovery flow expired 1.00 minutes ago, please try again."#,
            Some(r#"{"expired_at":"2020-01-01T00:59:59Z","expired_at_unix":1577840399}"#),
        ),
        row(
            error_validation_recovery_code_invalid_or_already_used(),
            4060006,
            Error,
            r#"The recovery code is invalid or has already been used. Please try again."#,
            None,
        ),
        row(
            error_validation_verification_token_invalid_or_already_used(),
            4070001,
            Error,
            r#"The verification token is invalid or has already been used. Please retry the flow."#,
            None,
        ),
        row(
            error_validation_verification_retry_success(),
            4070002,
            Error,
            r#"The request was already completed successfully and can not be retried."#,
            None,
        ),
        row(
            error_validation_verification_state_failure(),
            4070003,
            Error,
            r#"The verification flow reached a failure state and must be retried."#,
            None,
        ),
        row(
            error_validation_verification_flow_expired(a_second_ago(), TimeDelta::minutes(1)),
            4070005,
            Error,
            r#"The verification flow expired 1.00 minutes ago, please try again."#,
            Some(r#"{"expired_at":"2020-01-01T00:59:59Z","expired_at_unix":1577840399}"#),
        ),
        row(
            error_validation_verification_code_invalid_or_already_used(),
            4070006,
            Error,
            r#"The verification code is invalid or has already been used. Please try again."#,
            None,
        ),
        row(
            error_system_generic("{reason}"),
            5000001,
            Error,
            r#"{reason}"#,
            Some(r#"{"reason":"{reason}"}"#),
        ),
        row(
            error_system_no_authentication_methods_available(),
            5000002,
            Error,
            r#"No authentication methods are available. Please contact the system administrator."#,
            None,
        ),
        row(
            error_system_organization_no_sso_providers_available(),
            5000003,
            Error,
            r#"Your organization requires SSO authentication, but no SSO provider is configured. Please contact the system administrator."#,
            None,
        ),
    ]
}

#[test]
fn every_catalogue_message_is_reproduced() -> Result<(), serde_json::Error> {
    let rows = catalogue();
    assert_eq!(rows.len(), CATALOGUE_SIZE, "one row per catalogue entry");
    let ids: BTreeSet<u32> = rows.iter().map(|row| row.id).collect();
    assert_eq!(ids.len(), CATALOGUE_SIZE, "catalogue ids are unique");

    for row in rows {
        let message = &row.built;
        assert_eq!(
            message.id, row.id,
            "id of the message expected as {}",
            row.id
        );
        assert_eq!(message.r#type, row.r#type, "type of {}", row.id);
        assert_eq!(message.text, row.text, "text of {}", row.id);
        let expected_context = row.context.map(serde_json::from_str).transpose()?;
        assert_eq!(message.context, expected_context, "context of {}", row.id);

        // And the wire form is the catalogue entry itself.
        let mut expected = serde_json::json!({"id": row.id, "text": row.text, "type": row.r#type});
        if let Some(context) = expected_context {
            expected["context"] = context;
        }
        assert_eq!(
            serde_json::to_value(message)?,
            expected,
            "JSON of {}",
            row.id
        );
    }
    Ok(())
}

#[test]
fn parameterised_messages_use_their_arguments() {
    // The catalogue's placeholders would also pass if a constructor ignored its arguments and
    // returned the placeholder text, so check real values too.
    assert_eq!(
        info_login_with("Google", "google").text,
        "Sign in with Google"
    );
    assert_eq!(
        validation_error_required("email").text,
        "Property email is missing."
    );
    assert_eq!(
        error_validation_min_length(8, 2).context,
        Some(serde_json::json!({"actual_length": 2, "min_length": 8}))
    );
    assert_eq!(
        error_validation_login_flow_expired(a_second_ago(), TimeDelta::seconds(1)).text,
        "The login flow expired 0.02 minutes ago, please try again."
    );
    assert_eq!(
        recovery_successful(in_a_minute(), TimeDelta::minutes(15)).text,
        "You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next 15.00 minutes."
    );
    assert_eq!(
        info_login_link_message(
            "a@b.c",
            "Google",
            "https://x/login",
            &["password"],
            &["google"]
        )
        .text,
        "You tried to sign in with \"a@b.c\", but that email is already used by another account. Sign in to your account with one of the options below to add your account \"a@b.c\" at \"Google\" as another way to sign in."
    );
    assert_eq!(
        info_self_service_remove_passkey("My \"key\"", at(12, 0, 0)).text,
        "Remove passkey \"My \"key\"\""
    );
    assert_eq!(
        info_self_service_settings_lookup_secret_list(&["abc", "used"], &[]).text,
        "abc, used"
    );
    assert_eq!(
        verification_code_sent_message("sms").id,
        INFO_SELF_SERVICE_VERIFICATION_PHONE_WITH_CODE_SENT
    );
    assert_eq!(
        verification_code_sent_message("email").id,
        INFO_SELF_SERVICE_VERIFICATION_EMAIL_WITH_CODE_SENT
    );
    assert_eq!(info_node_label("j***@e***.com").id, INFO_NODE_LABEL);
}
