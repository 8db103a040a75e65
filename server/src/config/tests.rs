//! End-to-end tests of loading: files, environment, validation rules, dev mode, reloads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::error::Error;

const SECRET: &str = "a-default-secret-of-32-characters";

/// A small valid configuration, deep-merged with `extra` (YAML), as YAML.
fn base_yaml(extra: &str) -> String {
    let base = format!(
        r#"dsn: memory
identity:
  schemas:
    - id: default
      url: file:///etc/kratos/identity.schema.json
selfservice:
  default_browser_return_url: http://127.0.0.1:4455/
secrets:
  default: [{SECRET}]
"#
    );
    let mut merged: serde_json::Value = serde_yaml_ng::from_str(&base).unwrap();
    let extra: Option<serde_json::Value> = serde_yaml_ng::from_str(extra).unwrap();
    if let Some(extra) = extra {
        super::env::merge(&mut merged, extra);
    }
    serde_yaml_ng::to_string(&merged).unwrap()
}

fn options(files: Vec<PathBuf>, env: &[(&str, &str)]) -> Options {
    Options {
        files,
        dev: false,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn config_error(result: Result<(ConfigHandle, Vec<String>), Error>) -> String {
    match result {
        Err(Error::Config(message)) => message,
        Err(other) => panic!("expected a config error, got {other}"),
        Ok(_) => panic!("expected the configuration to be refused"),
    }
}

#[test]
fn loads_a_realistic_full_kratos_config() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/testdata/kratos.full.yml");
    let (handle, warnings) = ConfigHandle::load(options(vec![path], &[])).unwrap();
    let config = handle.get();

    assert_eq!(
        config.selfservice.flows.login.ui_url.as_str(),
        "https://app.example.com/login"
    );
    assert_eq!(
        config.selfservice.flows.login.lifespan,
        Duration::from_secs(600)
    );
    assert_eq!(
        config.selfservice.flows.login.style,
        LoginStyle::IdentifierFirst
    );
    assert_eq!(
        config.selfservice.flows.verification.r#use,
        FlowStrategy::Code
    );
    assert_eq!(config.session.lifespan, Duration::from_secs(720 * 3600));
    assert_eq!(
        config.session_earliest_possible_extend(),
        Duration::from_secs(24 * 3600)
    );
    assert_eq!(config.hashers.argon2.memory, ByteSize::mib(64));
    assert_eq!(config.hashers.argon2.effective_parallelism(), 2);
    assert_eq!(
        config.hashers.argon2.expected_duration,
        Duration::from_millis(300)
    );
    assert_eq!(config.serve.public.cors.allowed_methods[0], HttpMethod::Get);
    assert_eq!(config.serve.public.cors.max_age, 600);
    assert_eq!(
        config.public_base_url().as_str(),
        "https://auth.example.com/"
    );
    assert_eq!(
        config.admin_base_url().as_str(),
        "http://kratos-admin.internal:4434/"
    );
    assert_eq!(config.cookie_secrets()[0], "PLEASE-CHANGE-ME-COOKIE-SECRET");
    assert_eq!(config.cipher_secrets().len(), 1);
    assert!(config.cookie_secure());
    assert_eq!(config.session_cookie_same_site(), SameSite::Strict);
    assert_eq!(config.session_cookie_domain(), Some("auth.example.com"));
    assert_eq!(config.session_cookie_path(), "/");
    assert_eq!(config.identity.schemas.len(), 2);
    assert!(config.identity.schemas[0].selfservice_selectable);
    assert_eq!(config.selfservice.methods.oidc.config.providers.len(), 4);
    assert_eq!(
        config.selfservice.methods.oidc.config.providers[3].pkce,
        Pkce::Force
    );
    assert_eq!(config.courier.channels[0].id, ChannelId::Sms);
    assert_eq!(config.courier.worker.pull_wait, Duration::from_secs(2));
    assert_eq!(
        config.session.whoami.tokenizer.templates["jwt_example"].ttl,
        Duration::from_secs(600)
    );
    assert_eq!(config.totp_issuer(), "Example Inc.");

    let before = &config.selfservice.flows.registration.before.hooks;
    match &before[0] {
        Hook::WebHook { config } => {
            assert!(config.can_interrupt);
            assert!(
                matches!(config.auth, Some(HttpAuth::BasicAuth(ref auth)) if auth.user == "kratos")
            );
        }
        other => panic!("expected a web hook, got {other:?}"),
    }
    let after_password = &config.selfservice.flows.registration.after.password.hooks;
    assert_eq!(
        after_password,
        &vec![Hook::Session, Hook::ShowVerificationUi]
    );

    // Only the subtrees kratos-rs does not implement produce warnings.
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    for key in ["ciphers:", "feature_flags:", "tracing:"] {
        assert!(
            warnings.iter().any(|w| w.starts_with(key)),
            "no warning for {key} in {warnings:#?}"
        );
    }
}

#[test]
fn merges_files_of_different_formats_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = write(
        dir.path(),
        "base.yaml",
        &base_yaml(
            "serve:\n  public:\n    port: 4433\n    cors:\n      allowed_origins: [https://a.example, https://b.example]\n  admin:\n    port: 4434\nlog:\n  level: info\n",
        ),
    );
    let json = write(
        dir.path(),
        "override.json",
        r#"{"serve": {"public": {"port": 5533, "cors": {"allowed_origins": ["https://c.example"]}}}, "log": {"format": "json"}}"#,
    );
    let toml = write(
        dir.path(),
        "last.toml",
        "[log]\nlevel = \"debug\"\n\n[serve.admin]\nhost = \"127.0.0.1\"\n",
    );

    let (handle, warnings) = ConfigHandle::load(options(vec![yaml, json, toml], &[])).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let config = handle.get();
    assert_eq!(config.serve.public.port, 5533, "later files win");
    assert_eq!(
        config.serve.admin.port, 4434,
        "objects are merged key by key"
    );
    assert_eq!(config.serve.admin.host, "127.0.0.1");
    assert_eq!(
        config.serve.public.cors.allowed_origins,
        vec!["https://c.example"],
        "arrays are replaced"
    );
    assert_eq!(config.log.level, LogLevel::Debug);
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.dsn, "memory");
}

#[test]
fn unreadable_files_and_unknown_extensions_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let ini = write(dir.path(), "kratos.ini", "dsn=memory");
    let broken = write(dir.path(), "broken.yml", "dsn: [unclosed");
    let missing = dir.path().join("missing.yml");
    let message = config_error(ConfigHandle::load(options(vec![ini, broken, missing], &[])));
    assert!(
        message.contains("kratos.ini: unknown config file extension \"ini\""),
        "{message}"
    );
    assert!(message.contains("broken.yml: invalid YAML"), "{message}");
    assert!(message.contains("missing.yml: cannot read"), "{message}");
}

#[test]
fn environment_variables_override_keys() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "kratos.yml",
        &base_yaml(
            "secrets:\n  default: [file-secret-0000000]\n  cookie: [file-cookie-0000000, file-cookie-1111111]\n",
        ),
    );
    let (handle, _) = ConfigHandle::load(options(
        vec![file],
        &[
            ("DSN", "postgres://kratos:pw@db:5432/kratos"),
            ("SERVE_PUBLIC_PORT", "4999"),
            (
                "SELFSERVICE_FLOWS_LOGIN_UI_URL",
                "https://app.example/login",
            ),
            ("SELFSERVICE_FLOWS_LOGIN_LIFESPAN", "15m30s"),
            ("SELFSERVICE_FLOWS_REGISTRATION_ENABLED", "false"),
            ("SECRETS_COOKIE_0", "env-cookie-secret-0000"),
            (
                "SECRETS_DEFAULT",
                r#"["env-default-secret-1","env-default-secret-2"]"#,
            ),
            ("HASHERS_ALGORITHM", "bcrypt"),
            ("HASHERS_ARGON2_MEMORY", "256MB"),
            ("COOKIES_SECURE", "false"),
            ("HOME", "/root"),
            ("PATH", "/usr/bin"),
        ],
    ))
    .unwrap();
    let config = handle.get();
    assert_eq!(config.dsn, "postgres://kratos:pw@db:5432/kratos");
    assert_eq!(config.serve.public.port, 4999);
    assert_eq!(
        config.selfservice.flows.login.ui_url.as_str(),
        "https://app.example/login"
    );
    assert_eq!(
        config.selfservice.flows.login.lifespan,
        Duration::from_secs(930)
    );
    assert!(!config.selfservice.flows.registration.enabled);
    assert_eq!(
        config.secrets.cookie,
        vec!["env-cookie-secret-0000", "file-cookie-1111111"],
        "one element replaced"
    );
    assert_eq!(
        config.secrets.default,
        vec!["env-default-secret-1", "env-default-secret-2"]
    );
    assert_eq!(config.hashers.algorithm, HashAlgorithm::Bcrypt);
    assert_eq!(config.hashers.argon2.memory, ByteSize::mib(256));
    assert!(!config.cookie_secure());
}

#[test]
fn environment_alone_can_complete_a_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "kratos.yml",
        "selfservice:\n  default_browser_return_url: /\n",
    );
    let (handle, _) = ConfigHandle::load(options(
        vec![file],
        &[
            ("DSN", "memory"),
            (
                "IDENTITY_SCHEMAS",
                r#"[{"id":"default","url":"file:///schema.json"}]"#,
            ),
            (
                "SECRETS_DEFAULT",
                "first-secret-0000000,second-secret-000000",
            ),
        ],
    ))
    .unwrap();
    let config = handle.get();
    assert_eq!(config.identity.schemas[0].url, "file:///schema.json");
    assert_eq!(config.secrets.default.len(), 2, "comma-separated list");
}

#[test]
fn reports_all_problems_at_once_with_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "kratos.yml",
        &base_yaml(
            "serve:\n  public:\n    prot: 4433\nselfservice:\n  default_browser_return_url: /\n  flows:\n    login:\n      lifespan: abc\n    registration:\n      after:\n        password:\n          hooks:\n            - hook: revoke_active_sessions\nsession:\n  cookie:\n    same_site: Sometimes\n",
        ),
    );
    let message = config_error(ConfigHandle::load(options(
        vec![file],
        &[("SERVE_ADMIN_PORT", "many")],
    )));
    for expected in [
        "selfservice.flows.login.lifespan: invalid duration \"abc\"",
        "serve.public.prot: unknown key",
        "session.cookie.same_site: must be one of",
        "serve.admin.port: invalid integer \"many\" (from environment variable SERVE_ADMIN_PORT)",
    ] {
        assert!(
            message.contains(expected),
            "missing {expected:?} in:\n{message}"
        );
    }
    assert!(message.starts_with("4 problems:"), "{message}");
}

#[test]
fn rules_spanning_keys_are_checked() {
    let yaml = base_yaml(
        r#"selfservice:
  default_browser_return_url: /
  flows:
    registration:
      after:
        password:
          hooks:
            - hook: revoke_active_sessions
    login:
      after:
        hooks:
          - hook: web_hook
            config: {url: "https://h.example", method: POST, can_interrupt: true, response: {ignore: true}}
  methods:
    code: {passwordless_enabled: true, mfa_enabled: true}
    webauthn: {enabled: true}
    oidc:
      config:
        providers:
          - {id: ms, provider: microsoft, client_id: x, client_secret: y, mapper_url: "file:///m.jsonnet"}
          - {id: apple, provider: apple, client_id: x, client_secret: y, mapper_url: "file:///m.jsonnet"}
serve:
  public:
    cors:
      allowed_origins: ["https://*.*.example.com", "not a url"]
"#,
    );
    let message = match ConfigHandle::from_yaml(&yaml, false) {
        Err(Error::Config(message)) => message,
        other => panic!("expected a config error, got {other:?}"),
    };
    for expected in [
        "selfservice.flows.registration.after.password.hooks[0].hook: hook \"revoke_active_sessions\" is not allowed here",
        "selfservice.flows.login.after.hooks[0].config.can_interrupt: cannot be true when response.ignore is true",
        "selfservice.methods.code: passwordless_enabled and mfa_enabled cannot both be true",
        "selfservice.methods.webauthn.config: required when webauthn is enabled",
        "selfservice.methods.oidc.config.providers[0].microsoft_tenant: required for the microsoft provider",
        "selfservice.methods.oidc.config.providers[1].apple_team_id: required for the apple provider",
        "selfservice.methods.oidc.config.providers[1].client_secret: not allowed for the apple provider",
        "serve.public.cors.allowed_origins[0]: may contain at most one * wildcard",
        "serve.public.cors.allowed_origins[1]: invalid origin",
    ] {
        assert!(
            message.contains(expected),
            "missing {expected:?} in:\n{message}"
        );
    }
}

#[test]
fn unknown_keys_fail_but_known_unimplemented_keys_only_warn() {
    let dir = tempfile::tempdir().unwrap();
    let known = write(
        dir.path(),
        "known.yml",
        &base_yaml(
            "tracing:\n  provider: jaeger\nserve:\n  public:\n    tls:\n      cert:\n        path: /tls/cert.pem\n",
        ),
    );
    let (_, warnings) = ConfigHandle::load(options(vec![known], &[])).unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("tracing: known Kratos key, not implemented"))
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("serve.public.tls: known Kratos key, not implemented"))
    );

    let unknown = write(
        dir.path(),
        "unknown.yml",
        &base_yaml("tracingg:\n  provider: jaeger\n"),
    );
    let message = config_error(ConfigHandle::load(options(vec![unknown], &[])));
    assert!(
        message.contains("tracingg: unknown key (did you mean \"tracing\"?)"),
        "{message}"
    );

    let open = write(
        dir.path(),
        "open.yml",
        &base_yaml("security:\n  account_enumeration:\n    mitgate: true\n"),
    );
    let (_, warnings) = ConfigHandle::load(options(vec![open], &[])).unwrap();
    assert_eq!(
        warnings,
        vec![
            "security.account_enumeration.mitgate: unknown key, ignored (Kratos's schema allows extra keys here)"
        ]
    );
}

#[test]
fn default_secret_is_required_outside_dev_mode() {
    let yaml = "dsn: memory\nidentity:\n  schemas: [{id: default, url: 'file:///s.json'}]\nselfservice:\n  default_browser_return_url: /\n";
    let message = match ConfigHandle::from_yaml(yaml, false) {
        Err(Error::Config(message)) => message,
        other => panic!("expected a config error, got {other:?}"),
    };
    assert!(
        message.contains("secrets.default: missing required key"),
        "{message}"
    );

    let dev = ConfigHandle::from_yaml(yaml, true).unwrap();
    let config = dev.get();
    assert!(config.is_dev());
    assert_eq!(config.secrets.default.len(), 1);
    assert!(config.secrets.default[0].len() >= 32);
    assert_eq!(config.cookie_secrets(), config.secrets.default.as_slice());
}

#[test]
fn dev_mode_secret_survives_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "dsn: memory\nidentity:\n  schemas: [{id: default, url: 'file:///s.json'}]\nselfservice:\n  default_browser_return_url: /\n";
    let path = write(dir.path(), "kratos.yml", yaml);
    let (handle, warnings) = ConfigHandle::load(Options {
        files: vec![path.clone()],
        dev: true,
        env: BTreeMap::new(),
    })
    .unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("secrets.default: not set; using a random secret")),
        "{warnings:?}"
    );
    let secret = handle.get().secrets.default.clone();

    std::fs::write(&path, format!("{yaml}session:\n  lifespan: 2h\n")).unwrap();
    assert!(matches!(handle.reload(), ReloadOutcome::Applied { .. }));
    assert_eq!(handle.get().session.lifespan, Duration::from_secs(7200));
    assert_eq!(handle.get().secrets.default, secret);
}

#[test]
fn dev_mode_relaxes_what_kratos_relaxes() {
    let yaml = base_yaml(
        "serve:\n  public:\n    host: 127.0.0.1\n    port: 4433\n  admin:\n    host: 10.0.0.1\nhashers:\n  bcrypt:\n    cost: 4\n",
    );
    let production = ConfigHandle::from_yaml(&yaml, false).unwrap().get();
    let dev = ConfigHandle::from_yaml(&yaml, true).unwrap().get();

    assert!(!production.is_dev() && dev.is_dev());
    assert!(production.cookie_secure() && !dev.cookie_secure());
    assert!(production.session_cookie_secure() && !dev.session_cookie_secure());
    assert_eq!(
        production.public_base_url().as_str(),
        "https://127.0.0.1:4433/"
    );
    assert_eq!(dev.public_base_url().as_str(), "http://127.0.0.1:4433/");
    assert_eq!(dev.admin_base_url().as_str(), "http://10.0.0.1:4434/");
    assert_eq!(production.bcrypt_cost(), 12);
    assert_eq!(dev.bcrypt_cost(), 4);

    // Explicit settings win over dev mode; `dev: true` in the file counts like the flag.
    let explicit =
        base_yaml("dev: true\ncookies:\n  secure: true\nsession:\n  cookie:\n    secure: \"1\"\n");
    let config = ConfigHandle::from_yaml(&explicit, false).unwrap().get();
    assert!(config.is_dev());
    assert!(config.cookie_secure());
    assert!(config.session_cookie_secure());
}

#[test]
fn api_flow_enforcement_is_only_disabled_in_dev_mode() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kratos.yml", &base_yaml(""));
    let env = [("DEV_DISABLE_API_FLOW_ENFORCEMENT", "true")];
    let (production, _) = ConfigHandle::load(options(vec![file.clone()], &env)).unwrap();
    assert!(!production.get().api_flow_enforcement_disabled());
    assert!(production.get().redact_courier_messages());

    let mut dev_options = options(vec![file], &env);
    dev_options.dev = true;
    let (dev, warnings) = ConfigHandle::load(dev_options).unwrap();
    assert!(dev.get().api_flow_enforcement_disabled());
    assert!(!dev.get().redact_courier_messages());
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("DEV_DISABLE_API_FLOW_ENFORCEMENT=true"))
    );
}

#[test]
fn wildcard_hosts_default_to_the_machine_name() {
    let config = ConfigHandle::from_yaml(&base_yaml(""), false)
        .unwrap()
        .get();
    let url = config.public_base_url();
    assert_eq!(url.scheme(), "https");
    assert_eq!(url.port(), Some(4433));
    assert_ne!(url.host_str(), Some("0.0.0.0"));
    assert_eq!(url.path(), "/");
}

#[test]
fn defaults_follow_kratos_except_the_hash_algorithm() {
    let config = ConfigHandle::from_yaml(&base_yaml(""), false)
        .unwrap()
        .get();
    assert_eq!(config.hashers.algorithm, HashAlgorithm::Argon2);
    assert_eq!(config.hashers.argon2.memory, ByteSize::mib(128));
    assert_eq!(config.hashers.argon2.iterations, 1);
    assert_eq!(config.hashers.argon2.parallelism, None);
    assert!(config.hashers.argon2.effective_parallelism() >= 2);
    assert_eq!(config.hashers.argon2.salt_length, 16);
    assert_eq!(config.hashers.argon2.key_length, 32);
    assert_eq!(config.hashers.argon2.dedicated_memory, ByteSize::gib(1));
    assert_eq!(config.hashers.bcrypt.cost, 12);
    assert_eq!(config.serve.public.port, 4433);
    assert_eq!(config.serve.admin.port, 4434);
    assert_eq!(config.serve.public.cors.allowed_origins, vec!["*"]);
    assert_eq!(config.session.lifespan, Duration::from_secs(24 * 3600));
    assert_eq!(config.session.cookie.name, "ory_kratos_session");
    assert_eq!(
        config.session.whoami.required_aal,
        RequiredAal::HighestAvailable
    );
    assert_eq!(config.cookies.same_site, SameSite::Lax);
    assert_eq!(
        config.selfservice.flows.login.ui_url.as_str(),
        "https://www.ory.sh/kratos/docs/fallback/login"
    );
    assert_eq!(
        config.selfservice.flows.registration.style,
        RegistrationStyle::ProfileFirst
    );
    assert!(config.selfservice.methods.password.enabled && config.selfservice.methods.code.enabled);
    assert!(!config.selfservice.methods.totp.enabled);
    assert_eq!(config.selfservice.methods.code.config.max_submissions, 5);
    assert_eq!(config.courier.smtp.from_address, "no-reply@ory.kratos.sh");
    assert_eq!(config.courier.message_retries, 5);
    assert_eq!(config.database.cleanup.batch_size, 100);
    assert_eq!(config.identity.default_schema_id, "default");
    assert_eq!(config.log.level, LogLevel::Info);
}

#[test]
fn debug_output_hides_dsn_password_and_secrets() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/testdata/kratos.full.yml");
    let (handle, _) = ConfigHandle::load(options(vec![path], &[])).unwrap();
    let shown = format!("{:?}", handle.get());
    assert!(
        shown.contains("postgres://kratos:***@postgres:5432/kratos"),
        "DSN shown masked"
    );
    for secret in [
        "change-me-please",
        "PLEASE-CHANGE-ME",
        "OLD-COOKIE-SECRET",
        "32-LONG-SECRET",
        "PAGINATION-SECRET",
        "hook-password",
        "hook-api-key",
        "mailer-password",
        "sms-password",
        "google-client-secret",
        "not-a-real-key",
    ] {
        assert!(!shown.contains(secret), "Debug output leaks {secret:?}");
    }
}

#[test]
fn serialised_configs_load_back_identically() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/testdata/kratos.full.yml");
    let (handle, _) = ConfigHandle::load(options(vec![path], &[])).unwrap();
    let original = handle.get();
    let reloaded =
        ConfigHandle::from_value(serde_json::to_value(&*original).unwrap(), false).unwrap();
    assert_eq!(*reloaded.get(), *original);
    assert_eq!(reloaded.revision(), handle.revision());
}

#[test]
fn yaml_anchors_and_merge_keys_are_applied() {
    let yaml = base_yaml("")
        + "serve:\n  public: &listener\n    host: 127.0.0.1\n  admin:\n    <<: *listener\n    port: 4500\n"
        + "session:\n  lifespan: &long 72h\n  earliest_possible_extend: *long\n";
    let config = ConfigHandle::from_yaml(&yaml, false).unwrap().get();
    assert_eq!(config.serve.admin.host, "127.0.0.1");
    assert_eq!(config.serve.admin.port, 4500);
    assert_eq!(
        config.session.earliest_possible_extend,
        Some(Duration::from_secs(72 * 3600))
    );
}

#[test]
fn empty_yaml_keys_count_as_unset() {
    let yaml = base_yaml(
        "selfservice:\n  flows:\n    login:\n      after:\n        password:\n          hooks:\n",
    );
    let yaml = yaml.replace("hooks: null", "hooks:");
    assert!(yaml.contains("hooks:\n"), "{yaml}");
    let config = ConfigHandle::from_yaml(&yaml, false).unwrap().get();
    assert!(
        config
            .selfservice
            .flows
            .login
            .after
            .password
            .hooks
            .is_empty()
    );
}

#[test]
fn options_debug_hides_environment_values() {
    let options = options(Vec::new(), &[("DSN", "postgres://u:hunter2@db/kratos")]);
    let shown = format!("{options:?}");
    assert!(
        shown.contains("[1 variables]") && !shown.contains("hunter2"),
        "{shown}"
    );
}

#[test]
fn revision_is_the_revision_key_or_a_digest() {
    let digest = ConfigHandle::from_yaml(&base_yaml(""), false)
        .unwrap()
        .revision();
    assert_eq!(digest.len(), 64);
    assert!(digest.chars().all(|c| c.is_ascii_hexdigit()));
    let same = ConfigHandle::from_yaml(&base_yaml(""), false)
        .unwrap()
        .revision();
    assert_eq!(digest, same, "deterministic");
    let other = ConfigHandle::from_yaml(&base_yaml("log:\n  level: debug\n"), false)
        .unwrap()
        .revision();
    assert_ne!(digest, other);
    let named = ConfigHandle::from_yaml(&base_yaml("revision: release-42\n"), false)
        .unwrap()
        .revision();
    assert_eq!(named, "release-42");
}

#[test]
fn values_from_code_are_validated_too() {
    let mut value = json!({
        "dsn": "memory",
        "identity": {"schemas": [{"id": "default", "url": "file:///s.json"}]},
        "selfservice": {"default_browser_return_url": "/"},
        "secrets": {"default": [SECRET]},
    });
    assert!(ConfigHandle::from_value(value.clone(), false).is_ok());
    value["serve"] = json!({"public": {"port": 70000}});
    let Err(Error::Config(message)) = ConfigHandle::from_value(value, false) else {
        panic!("expected a config error")
    };
    assert!(
        message.contains("serve.public.port: must be at most 65535 (got 70000)"),
        "{message}"
    );
}

#[test]
fn reload_refuses_immutable_keys_but_not_cors_origins() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "kratos.yml", &base_yaml(""));
    let (handle, _) = ConfigHandle::load(options(vec![path.clone()], &[])).unwrap();
    assert_eq!(handle.reload(), ReloadOutcome::Unchanged);

    std::fs::write(&path, base_yaml("log:\n  format: json\n")).unwrap();
    assert_eq!(
        handle.reload(),
        ReloadOutcome::Immutable {
            key: "log.format".to_string()
        }
    );
    assert_eq!(handle.get().log.format, LogFormat::Text);

    std::fs::write(
        &path,
        base_yaml("serve:\n  public:\n    cors:\n      allowed_origins: [https://app.example]\n"),
    )
    .unwrap();
    assert!(matches!(handle.reload(), ReloadOutcome::Applied { .. }));
    assert_eq!(
        handle.get().serve.public.cors.allowed_origins,
        vec!["https://app.example"]
    );
}

/// Waits (bounded) until the watcher reports `attempts` reload attempts.
async fn reload_number(
    status: &mut tokio::sync::watch::Receiver<ReloadStatus>,
    attempts: u64,
) -> ReloadOutcome {
    let waited = tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.attempts >= attempts),
    )
    .await;
    let status = waited
        .expect("the watcher did not reload within 10s")
        .expect("the handle is alive");
    status.last.clone().expect("an outcome is recorded")
}

/// Replaces the file the way editors and `kubectl` tooling do: write a sibling, rename it over.
fn replace(path: &Path, content: &str) {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, content).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_applies_valid_changes_and_keeps_the_old_config_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "kratos.yml", &base_yaml(""));
    let (handle, _) = ConfigHandle::load(options(vec![path.clone()], &[])).unwrap();
    let _watching = handle.watch().unwrap();
    let mut status = handle.reload_status();
    let mut changes = handle.subscribe();
    let initial_revision = handle.revision();

    // A valid change is applied: new values, new revision, subscribers notified.
    replace(
        &path,
        &base_yaml(
            "selfservice:\n  default_browser_return_url: /\n  flows:\n    login:\n      lifespan: 2h\n",
        ),
    );
    let outcome = reload_number(&mut status, 1).await;
    assert!(
        matches!(outcome, ReloadOutcome::Applied { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        handle.get().selfservice.flows.login.lifespan,
        Duration::from_secs(7200)
    );
    let applied_revision = handle.revision();
    assert_ne!(applied_revision, initial_revision);
    assert!(changes.has_changed().unwrap());
    assert_eq!(
        changes.borrow_and_update().selfservice.flows.login.lifespan,
        Duration::from_secs(7200)
    );

    // An invalid change is refused; the previous revision stays live.
    replace(
        &path,
        &base_yaml(
            "selfservice:\n  default_browser_return_url: /\n  flows:\n    login:\n      lifespan: abc\n",
        ),
    );
    match reload_number(&mut status, 2).await {
        ReloadOutcome::Invalid { problems } => assert!(
            problems
                .iter()
                .any(|p| p == "selfservice.flows.login.lifespan: invalid duration \"abc\""),
            "{problems:?}"
        ),
        other => panic!("expected the change to be refused, got {other:?}"),
    }
    assert_eq!(
        handle.get().selfservice.flows.login.lifespan,
        Duration::from_secs(7200)
    );
    assert_eq!(handle.revision(), applied_revision);

    // A change to an immutable key is refused as a whole.
    replace(
        &path,
        &base_yaml(
            "serve:\n  public:\n    port: 4999\nselfservice:\n  default_browser_return_url: /\n  flows:\n    login:\n      lifespan: 3h\n",
        ),
    );
    assert_eq!(
        reload_number(&mut status, 3).await,
        ReloadOutcome::Immutable {
            key: "serve.public.port".to_string()
        }
    );
    assert_eq!(handle.get().serve.public.port, 4433);
    assert_eq!(
        handle.get().selfservice.flows.login.lifespan,
        Duration::from_secs(7200)
    );
    assert_eq!(handle.revision(), applied_revision);
    assert!(
        !changes.has_changed().unwrap(),
        "refused changes notify nobody"
    );
}
