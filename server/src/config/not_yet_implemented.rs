//! Keys Kratos knows that kratos-rs does not implement (yet). A configuration using them still
//! starts (so any valid Kratos config does), with a warning naming each such key.
//!
//! **Keep this list current**: remove an entry in the change that implements the feature, and
//! add one when a Kratos key is found that we accept but ignore.

use serde_json::Value;

use super::hooks::Hook;
use super::model::Config;

/// Key prefixes (dot-separated, as written in `kratos.yml`) and why they have no effect.
pub const NOT_YET_IMPLEMENTED: &[(&str, &str)] = &[
    ("serve.public.socket", "kratos-rs listens on TCP only"),
    ("serve.admin.socket", "kratos-rs listens on TCP only"),
    ("serve.public.tls", "terminate TLS in front of kratos-rs"),
    ("serve.admin.tls", "terminate TLS in front of kratos-rs"),
    ("tracing", "distributed tracing is not implemented"),
    (
        "oauth2_provider",
        "the Ory Hydra login/consent integration is not implemented",
    ),
    (
        "preview",
        "preview features (read consistency levels) are not implemented",
    ),
    (
        "ciphers",
        "encryption of stored OIDC tokens is not implemented",
    ),
    ("feature_flags", "Kratos feature flags are not implemented"),
    ("organizations", "organizations are an Ory Network feature"),
    ("enterprise", "Ory Enterprise features are not implemented"),
    (
        "selfservice.methods.b2b",
        "organization SSO is an Ory Network feature",
    ),
    (
        "sqa-opt-out",
        "kratos-rs sends no telemetry, there is nothing to opt out of",
    ),
    (
        "watch-courier",
        "a command-line flag of `kratos serve`, meaningless in a file",
    ),
    (
        "expose-metrics-port",
        "the courier exposes no separate metrics port",
    ),
    ("help", "a command-line flag, meaningless in a file"),
    ("config", "a command-line flag (-c), meaningless in a file"),
];

/// Warnings for the not-yet-implemented keys present in the user's input (before defaults).
pub(crate) fn key_warnings(input: &Value) -> Vec<String> {
    NOT_YET_IMPLEMENTED
        .iter()
        .filter(|(prefix, _)| is_present(input, prefix))
        .map(|(prefix, why)| {
            format!("{prefix}: known Kratos key, not implemented by kratos-rs and ignored ({why})")
        })
        .collect()
}

/// Warnings for configured hooks kratos-rs does not run.
pub(crate) fn hook_warnings(config: &Config) -> Vec<String> {
    super::checks::all_hooks(config)
        .into_iter()
        .filter(|(_, hook)| matches!(hook, Hook::B2bSso { .. } | Hook::Organization { .. }))
        .map(|(path, hook)| {
            format!(
                "{path}: hook {:?} is not implemented by kratos-rs and is skipped (organization SSO is an Ory Network feature)",
                hook.kind()
            )
        })
        .collect()
}

fn is_present(input: &Value, dotted: &str) -> bool {
    dotted
        .split('.')
        .try_fold(input, |node, key| node.get(key))
        .is_some_and(|node| !node.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn warns_for_present_keys_only() {
        let input = json!({
            "tracing": {"provider": "jaeger"},
            "serve": {"public": {"tls": {"cert": {"path": "x"}}}, "admin": {"port": 4434}},
            "sqa-opt-out": true
        });
        let warnings = key_warnings(&input);
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(warnings[0].starts_with("serve.public.tls: known Kratos key, not implemented"));
        assert!(warnings[1].starts_with("tracing: "));
        assert!(warnings[2].starts_with("sqa-opt-out: "));
    }

    #[test]
    fn entries_name_keys_the_schema_knows() {
        for (prefix, _) in NOT_YET_IMPLEMENTED {
            let dotted = prefix.replace('-', "_");
            let known = super::super::schema::key_patterns().iter().any(|pattern| {
                let rendered: Vec<String> = pattern
                    .segs
                    .iter()
                    .map(|seg| match seg {
                        super::super::schema::PatternSeg::Key(key) => key.replace('-', "_"),
                        super::super::schema::PatternSeg::Item => "#".to_string(),
                    })
                    .collect();
                rendered.join(".") == dotted
            });
            assert!(known, "{prefix} is not a key of the configuration");
        }
    }
}
