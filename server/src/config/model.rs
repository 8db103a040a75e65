//! The typed configuration tree: one struct per object of Kratos's `kratos.yml`, with Kratos's
//! key names and defaults. The self-service and courier subtrees live in their own files.
//!
//! Every struct that Kratos's schema closes (`additionalProperties: false`) denies unknown
//! fields; the few objects Kratos leaves open (`clients`, `security`, ...) accept extra keys, and
//! the validator warns about them because they have no effect.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

use super::courier::Courier;
use super::selfservice::Selfservice;
use super::values::{
    ByteSize, GoDuration, OptionalBoolString, OptionalGoDuration, Untyped, UriRef, redact_dsn,
};

/// The whole configuration, as read from `kratos.yml` (plus environment overrides).
///
/// Build it through [`super::ConfigHandle`], which validates the input and reports every problem
/// with its key path; deserialising it directly skips those checks.
#[derive(Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Database connection string (`postgres://`, `mysql://`, `sqlite://`, `cockroach://`, or
    /// `memory` for an in-memory SQLite database).
    pub dsn: String,
    pub selfservice: Selfservice,
    pub identity: Identity,
    #[serde(default)]
    pub database: Database,
    #[serde(default)]
    pub courier: Courier,
    #[serde(default)]
    pub serve: Serve,
    #[serde(default)]
    pub log: Log,
    #[serde(default)]
    pub secrets: Secrets,
    #[serde(default)]
    pub hashers: Hashers,
    #[serde(default)]
    pub cookies: Cookies,
    #[serde(default)]
    pub session: Session,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub clients: Clients,
    /// The config version (e.g. `v26.2.0`); informational. Kratos's schema suggests semver but
    /// its pattern accepts any string, so any string is accepted here too.
    #[serde(default)]
    pub version: Option<String>,
    /// Development mode (`--dev`): relaxes cookie `Secure`, base URL scheme and bcrypt cost
    /// floors as Kratos does. Use [`Config::is_dev`].
    #[serde(default)]
    pub dev: bool,
    /// Set by the `--help` flag in Kratos; meaningless in a file.
    #[serde(default)]
    pub help: bool,
    #[serde(default, rename = "sqa-opt-out")]
    pub sqa_opt_out: bool,
    #[serde(default, rename = "watch-courier")]
    pub watch_courier: bool,
    #[serde(default, rename = "expose-metrics-port")]
    pub expose_metrics_port: u16,
    /// The `--config` flag's files, as Kratos mirrors them into the configuration.
    #[serde(default)]
    pub config: Vec<String>,
    /// Overrides the value of `GET /admin/health/config` (otherwise a digest of the config).
    #[serde(default)]
    pub revision: Option<String>,
    /// kratos-rs's own extensions (not a Kratos key).
    #[serde(default)]
    pub kratos_rs: KratosRs,

    // Subtrees Kratos knows that kratos-rs does not interpret (see `not_yet_implemented.rs`).
    #[serde(default)]
    pub oauth2_provider: Option<Untyped>,
    #[serde(default)]
    pub preview: Option<Untyped>,
    #[serde(default)]
    pub tracing: Option<Untyped>,
    #[serde(default)]
    pub ciphers: Option<Untyped>,
    #[serde(default)]
    pub feature_flags: Option<Untyped>,
    #[serde(default)]
    pub organizations: Option<Untyped>,
    #[serde(default)]
    pub enterprise: Option<Untyped>,

    /// Kratos's `DEV_DISABLE_API_FLOW_ENFORCEMENT=true` escape hatch (dev mode only); set by
    /// the loader from the environment, not a configuration key.
    #[serde(skip)]
    pub(crate) api_flow_enforcement_disabled: bool,
}

// ---------------------------------------------------------------------------------------------
// serve
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Serve {
    pub public: PublicServe,
    pub admin: AdminServe,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PublicServe {
    pub request_log: RequestLog,
    pub cors: Cors,
    /// The URL the public API is reachable at. Kratos allows a relative reference here; kratos-rs
    /// needs an absolute URL (it builds redirects and form actions from it). When unset, see
    /// [`Config::public_base_url`].
    pub base_url: Option<Url>,
    pub host: String,
    #[schemars(range(min = 1))]
    pub port: u16,
    /// Unix socket permissions; kratos-rs listens on TCP only.
    pub socket: Option<Untyped>,
    /// TLS termination; kratos-rs expects TLS to be terminated in front of it.
    pub tls: Option<Untyped>,
}

impl Default for PublicServe {
    fn default() -> Self {
        PublicServe {
            request_log: RequestLog::default(),
            cors: Cors::default(),
            base_url: None,
            host: "0.0.0.0".to_string(),
            port: 4433,
            socket: None,
            tls: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AdminServe {
    pub request_log: RequestLog,
    /// The URL the admin API is reachable at. When unset, see [`Config::admin_base_url`].
    pub base_url: Option<Url>,
    pub host: String,
    #[schemars(range(min = 1))]
    pub port: u16,
    pub socket: Option<Untyped>,
    pub tls: Option<Untyped>,
}

impl Default for AdminServe {
    fn default() -> Self {
        AdminServe {
            request_log: RequestLog::default(),
            base_url: None,
            host: "0.0.0.0".to_string(),
            port: 4434,
            socket: None,
            tls: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RequestLog {
    /// Do not log requests to the health endpoints.
    pub disable_for_health: bool,
}

/// CORS for the public API. Origins may contain one `*` wildcard (`https://*.example.com`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Cors {
    pub enabled: bool,
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<HttpMethod>,
    pub allowed_headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    pub allow_credentials: bool,
    pub options_passthrough: bool,
    /// Seconds browsers may cache a preflight response (0: no `Access-Control-Max-Age`).
    pub max_age: u32,
    pub debug: bool,
}

impl Default for Cors {
    fn default() -> Self {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Cors {
            enabled: false,
            allowed_origins: strings(&["*"]),
            allowed_methods: vec![
                HttpMethod::Post,
                HttpMethod::Get,
                HttpMethod::Put,
                HttpMethod::Patch,
                HttpMethod::Delete,
            ],
            allowed_headers: strings(&[
                "Authorization",
                "Content-Type",
                "Max-Age",
                "X-Session-Token",
                "X-XSRF-TOKEN",
                "X-CSRF-TOKEN",
            ]),
            exposed_headers: strings(&["Content-Type"]),
            allow_credentials: true,
            options_passthrough: false,
            max_age: 0,
            debug: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Post,
    Get,
    Put,
    Patch,
    Delete,
    Connect,
    Head,
    Options,
    Trace,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Post => "POST",
            HttpMethod::Get => "GET",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Connect => "CONNECT",
            HttpMethod::Head => "HEAD",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Trace => "TRACE",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// log
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    pub level: LogLevel,
    /// Log sensitive values (e.g. email addresses) instead of redacting them.
    pub leak_sensitive_values: bool,
    /// Replacement text for redacted values (unset: the logger's default text).
    pub redaction_text: Option<String>,
    pub format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    #[default]
    Info,
    Warning,
    Error,
    Fatal,
    Panic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    #[default]
    Text,
}

// ---------------------------------------------------------------------------------------------
// secrets
// ---------------------------------------------------------------------------------------------

/// Secrets, newest first: the first entry signs/encrypts, the others are still accepted.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Secrets {
    /// Fallback for every other secret. Required outside `--dev` (see `load.rs`).
    #[schemars(inner(length(min = 16)))]
    pub default: Vec<String>,
    /// Signs cookies; falls back to `default` ([`Config::cookie_secrets`]).
    #[schemars(inner(length(min = 16)))]
    pub cookie: Vec<String>,
    /// Encryption keys for `ciphers` (exactly 32 characters each to be usable).
    #[schemars(length(min = 1), inner(length(min = 32)))]
    pub cipher: Vec<String>,
    /// Keys for pagination tokens.
    #[schemars(length(min = 1), inner(length(min = 16)))]
    pub pagination: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |v: &Vec<String>| format!("[{} redacted]", v.len());
        f.debug_struct("Secrets")
            .field("default", &format_args!("{}", count(&self.default)))
            .field("cookie", &format_args!("{}", count(&self.cookie)))
            .field("cipher", &format_args!("{}", count(&self.cipher)))
            .field("pagination", &format_args!("{}", count(&self.pagination)))
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// identity
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    #[serde(default = "default_schema_id")]
    pub default_schema_id: String,
    #[schemars(length(min = 1))]
    pub schemas: Vec<IdentitySchemaRef>,
}

fn default_schema_id() -> String {
    "default".to_string()
}

/// One entry of `identity.schemas`. Kratos's schema leaves these objects open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IdentitySchemaRef {
    pub id: String,
    /// `file://`, `base64://`, `http://` or `https://` location of the JSON schema.
    #[schemars(url)]
    pub url: String,
    /// Whether self-service flows may pick this schema (`identity_schema` parameter).
    #[serde(default)]
    pub selfservice_selectable: bool,
}

// ---------------------------------------------------------------------------------------------
// hashers
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Hashers {
    /// Deviation from Kratos, on purpose: kratos-rs defaults to `argon2` (argon2id), where
    /// Kratos defaults to `bcrypt`. Set `bcrypt` explicitly to keep Kratos's behaviour.
    pub algorithm: HashAlgorithm,
    pub argon2: Argon2,
    pub bcrypt: Bcrypt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// argon2id. The kratos-rs default (Kratos: bcrypt).
    #[default]
    Argon2,
    Bcrypt,
}

/// argon2id parameters, with Kratos's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2 {
    pub memory: ByteSize,
    #[schemars(range(min = 1))]
    pub iterations: u32,
    /// Lanes. Unset: twice the number of CPUs, as Kratos ([`Argon2::effective_parallelism`]).
    /// Kept unset rather than filled in so the configuration (and its revision digest) is the
    /// same on every machine.
    #[schemars(range(min = 1))]
    pub parallelism: Option<u32>,
    #[schemars(range(min = 16))]
    pub salt_length: u32,
    #[schemars(range(min = 16))]
    pub key_length: u32,
    /// Target time of one hash (used by Kratos's calibration tooling).
    #[serde(with = "GoDuration")]
    pub expected_duration: Duration,
    #[serde(with = "GoDuration")]
    pub expected_deviation: Duration,
    /// Memory the machine dedicates to hashing; bounds how many hashes run at once.
    pub dedicated_memory: ByteSize,
}

impl Argon2 {
    /// `parallelism`, or twice the number of CPUs when unset.
    pub fn effective_parallelism(&self) -> u32 {
        self.parallelism.unwrap_or_else(|| {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            u32::try_from(cpus.saturating_mul(2)).unwrap_or(u32::MAX)
        })
    }
}

impl Default for Argon2 {
    fn default() -> Self {
        Argon2 {
            memory: ByteSize::mib(128),
            iterations: 1,
            parallelism: None,
            salt_length: 16,
            key_length: 32,
            expected_duration: Duration::from_millis(500),
            expected_deviation: Duration::from_millis(500),
            dedicated_memory: ByteSize::gib(1),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Bcrypt {
    /// Outside `--dev`, costs below 12 are raised to 12 ([`Config::bcrypt_cost`]).
    #[schemars(range(min = 4, max = 31))]
    pub cost: u32,
}

impl Default for Bcrypt {
    fn default() -> Self {
        Bcrypt { cost: 12 }
    }
}

// ---------------------------------------------------------------------------------------------
// cookies and session
// ---------------------------------------------------------------------------------------------

/// Settings for all cookies (CSRF and session); `session.cookie` overrides some of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Cookies {
    pub domain: Option<String>,
    pub path: String,
    /// Kratos types this as a string ("true"/"false"); booleans are accepted too. Unset means
    /// secure unless in dev mode ([`Config::cookie_secure`]).
    #[serde(with = "OptionalBoolString")]
    pub secure: Option<bool>,
    pub same_site: SameSite,
}

impl Default for Cookies {
    fn default() -> Self {
        Cookies {
            domain: None,
            path: "/".to_string(),
            secure: None,
            same_site: SameSite::Lax,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum SameSite {
    Strict,
    #[default]
    Lax,
    None,
}

impl SameSite {
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Session {
    pub whoami: Whoami,
    #[serde(with = "GoDuration")]
    pub lifespan: Duration,
    pub cookie: SessionCookie,
    /// How close to expiry a session must be before it may be extended. Unset: any time
    /// ([`Config::session_earliest_possible_extend`]).
    #[serde(with = "OptionalGoDuration")]
    pub earliest_possible_extend: Option<Duration>,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            whoami: Whoami::default(),
            lifespan: Duration::from_secs(24 * 3600),
            cookie: SessionCookie::default(),
            earliest_possible_extend: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Whoami {
    pub required_aal: RequiredAal,
    pub tokenizer: Tokenizer,
}

/// The AAL an endpoint or flow requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequiredAal {
    Aal1,
    /// The highest level the identity has credentials for.
    #[default]
    HighestAvailable,
}

/// Session-to-JWT templates (`/sessions/whoami?tokenize_as=`). Open object in Kratos's schema.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Tokenizer {
    pub templates: BTreeMap<String, TokenizerTemplate>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TokenizerTemplate {
    #[serde(default = "one_minute", with = "GoDuration")]
    pub ttl: Duration,
    /// Jsonnet mapper (`file://`, `base64://`, `http(s)://`).
    #[serde(default)]
    #[schemars(url)]
    pub claims_mapper_url: Option<String>,
    #[schemars(url)]
    pub jwks_url: String,
    #[serde(default)]
    pub subject_source: TokenSubjectSource,
}

fn one_minute() -> Duration {
    Duration::from_secs(60)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenSubjectSource {
    #[default]
    Id,
    ExternalId,
}

/// The session cookie. Unset `domain`, `path` and `same_site` fall back to `cookies.*`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SessionCookie {
    pub domain: Option<String>,
    pub name: String,
    /// Send `Max-Age` (the session lifespan), so the cookie survives browser restarts.
    pub persistent: bool,
    pub path: Option<String>,
    #[serde(with = "OptionalBoolString")]
    pub secure: Option<bool>,
    pub same_site: Option<SameSite>,
}

impl Default for SessionCookie {
    fn default() -> Self {
        SessionCookie {
            domain: None,
            name: "ory_kratos_session".to_string(),
            persistent: true,
            path: None,
            secure: None,
            same_site: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// database, clients, security
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    pub cleanup: Cleanup,
}

/// `kratos cleanup sql` settings. Open object in Kratos's schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Cleanup {
    #[schemars(range(min = 1))]
    pub batch_size: u32,
    pub sleep: CleanupSleep,
    /// Only delete records older than this.
    #[serde(with = "GoDuration")]
    pub older_than: Duration,
}

impl Default for Cleanup {
    fn default() -> Self {
        Cleanup {
            batch_size: 100,
            sleep: CleanupSleep::default(),
            older_than: Duration::ZERO,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CleanupSleep {
    /// Pause between tables.
    #[serde(with = "GoDuration")]
    pub tables: Duration,
}

impl Default for CleanupSleep {
    fn default() -> Self {
        CleanupSleep {
            tables: Duration::from_secs(60),
        }
    }
}

/// Outgoing HTTP clients (webhooks, schema and jsonnet loading). Open object in Kratos's schema.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Clients {
    pub http: HttpClients,
    pub web_hook: WebHookClients,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct HttpClients {
    /// Refuse outgoing requests to private, loopback and link-local addresses (SSRF guard).
    pub disallow_private_ip_ranges: bool,
    /// URLs exempt from `disallow_private_ip_ranges`.
    pub private_ip_exception_urls: Vec<UriRef>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct WebHookClients {
    /// Request headers forwarded to webhooks.
    pub header_allowlist: Vec<String>,
}

impl Default for WebHookClients {
    fn default() -> Self {
        let headers = [
            "Accept",
            "Accept-Encoding",
            "Accept-Language",
            "Content-Length",
            "Content-Type",
            "Origin",
            "Priority",
            "Referer",
            "Sec-Ch-Ua",
            "Sec-Ch-Ua-Mobile",
            "Sec-Ch-Ua-Platform",
            "Sec-Fetch-Dest",
            "Sec-Fetch-Mode",
            "Sec-Fetch-Site",
            "Sec-Fetch-User",
            "True-Client-Ip",
            "User-Agent",
        ];
        WebHookClients {
            header_allowlist: headers.iter().map(|h| h.to_string()).collect(),
        }
    }
}

/// Open object in Kratos's schema.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Security {
    pub account_enumeration: AccountEnumeration,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct AccountEnumeration {
    /// Make it harder to find out whether an identifier is registered (worse UX).
    pub mitigate: bool,
}

// ---------------------------------------------------------------------------------------------
// kratos_rs (our extension)
// ---------------------------------------------------------------------------------------------

/// kratos-rs's own keys. Kratos would refuse them; they are ignored by nothing else.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct KratosRs {
    pub kubernetes: Option<Kubernetes>,
    /// The whoami session cache (`kratos_rs.session_cache`).
    pub session_cache: SessionCache,
}

/// The per-process cache of active sessions that answers `/sessions/whoami` without the database.
///
/// Revocation stays coherent across replicas: on PostgreSQL every replica listens for the
/// notifications that triggers send when a session or identity changes, and drops the entries
/// concerned at once; on an SQLite file every process watches the database for commits and, while
/// there are none, keeps its entries; elsewhere (MySQL, or while the listener is reconnecting, or
/// an entry read before the last SQLite commit) an entry is trusted for at most `ttl`. Changes
/// made through this process are applied to its own cache immediately on every database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SessionCache {
    /// Off: every whoami reads the database.
    pub enabled: bool,
    /// How long a cached session is trusted where no change notifications arrive (MySQL,
    /// PostgreSQL while the listener is down, SQLite after a commit): the longest a replica may
    /// still accept a session revoked through another replica.
    #[serde(with = "GoDuration")]
    pub ttl: Duration,
    /// How long a cached session is kept while PostgreSQL change notifications are received, or
    /// while an SQLite database has seen no commit since the session was read.
    #[serde(with = "GoDuration")]
    pub notified_ttl: Duration,
    /// Most sessions kept; beyond it stale entries are dropped, then the whole cache.
    #[schemars(range(min = 1))]
    pub max_entries: usize,
}

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache {
            enabled: true,
            ttl: Duration::from_secs(1),
            notified_ttl: Duration::from_secs(600),
            max_entries: 100_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Kubernetes {
    /// When present, the server also serves the `IdentitySchema` resources it finds in the
    /// cluster (in addition to `identity.schemas`).
    pub identity_schemas: Option<KubernetesIdentitySchemas>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct KubernetesIdentitySchemas {
    /// Namespace to watch (unset: the pod's own namespace).
    pub namespace: Option<String>,
    /// Label selector restricting which `IdentitySchema`s are served.
    pub label_selector: Option<String>,
    /// Only schemas addressed to this `KratosInstance` name.
    pub instance: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Derived values
// ---------------------------------------------------------------------------------------------

impl Config {
    /// Development mode: the `--dev` flag or `dev: true`. Relaxes what Kratos relaxes (cookie
    /// `Secure` default, `http` base URLs, bcrypt cost floor, courier message redaction).
    pub fn is_dev(&self) -> bool {
        self.dev
    }

    /// `serve.public.base_url`, or (like Kratos) `https://<host>:<port>/` — `http` in dev mode —
    /// where a wildcard host (`0.0.0.0`, empty) becomes the machine's hostname.
    pub fn public_base_url(&self) -> Url {
        let public = &self.serve.public;
        public
            .base_url
            .clone()
            .unwrap_or_else(|| default_base_url(&public.host, public.port, self.is_dev()))
    }

    /// `serve.admin.base_url`, defaulted like [`Config::public_base_url`].
    pub fn admin_base_url(&self) -> Url {
        let admin = &self.serve.admin;
        admin
            .base_url
            .clone()
            .unwrap_or_else(|| default_base_url(&admin.host, admin.port, self.is_dev()))
    }

    /// Secrets signing cookies: `secrets.cookie`, else `secrets.default`.
    pub fn cookie_secrets(&self) -> &[String] {
        if self.secrets.cookie.is_empty() {
            &self.secrets.default
        } else {
            &self.secrets.cookie
        }
    }

    /// `secrets.cipher` as 32-byte keys. Like Kratos, only secrets of exactly 32 bytes are
    /// usable; the loader warns about the others.
    pub fn cipher_secrets(&self) -> Vec<[u8; 32]> {
        self.secrets
            .cipher
            .iter()
            .filter_map(|secret| <[u8; 32]>::try_from(secret.as_bytes()).ok())
            .collect()
    }

    /// The `Secure` attribute of CSRF and other cookies: `cookies.secure`, else not in dev mode.
    pub fn cookie_secure(&self) -> bool {
        self.cookies.secure.unwrap_or(!self.is_dev())
    }

    /// The session cookie's `Secure` attribute: `session.cookie.secure`, else not in dev mode.
    /// (Kratos does not fall back to `cookies.secure` here.)
    pub fn session_cookie_secure(&self) -> bool {
        self.session.cookie.secure.unwrap_or(!self.is_dev())
    }

    pub fn session_cookie_domain(&self) -> Option<&str> {
        self.session
            .cookie
            .domain
            .as_deref()
            .or(self.cookies.domain.as_deref())
    }

    pub fn session_cookie_path(&self) -> &str {
        self.session
            .cookie
            .path
            .as_deref()
            .unwrap_or(&self.cookies.path)
    }

    pub fn session_cookie_same_site(&self) -> SameSite {
        self.session
            .cookie
            .same_site
            .unwrap_or(self.cookies.same_site)
    }

    /// A session may be extended once less than this is left; defaults to the lifespan.
    pub fn session_earliest_possible_extend(&self) -> Duration {
        self.session
            .earliest_possible_extend
            .unwrap_or(self.session.lifespan)
    }

    /// `hashers.bcrypt.cost`, raised to 12 outside dev mode as Kratos does.
    pub fn bcrypt_cost(&self) -> u32 {
        if self.is_dev() {
            self.hashers.bcrypt.cost
        } else {
            self.hashers.bcrypt.cost.max(12)
        }
    }

    /// The TOTP issuer: `selfservice.methods.totp.config.issuer`, else the public host name.
    pub fn totp_issuer(&self) -> String {
        match &self.selfservice.methods.totp.config.issuer {
            Some(issuer) => issuer.clone(),
            None => self
                .public_base_url()
                .host_str()
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// The IdentitySchema watch settings when `kratos_rs.kubernetes.identity_schemas` is set.
    pub fn kubernetes_identity_schemas(&self) -> Option<&KubernetesIdentitySchemas> {
        self.kratos_rs
            .kubernetes
            .as_ref()?
            .identity_schemas
            .as_ref()
    }

    /// The DSN with its password masked, for logs.
    pub fn redacted_dsn(&self) -> String {
        redact_dsn(&self.dsn)
    }

    /// Whether the admin API redacts courier message bodies and subjects (always, except in
    /// dev mode, as Kratos).
    pub fn redact_courier_messages(&self) -> bool {
        !self.is_dev()
    }

    /// Whether self-service API flows skip the check that the client is not a browser: only
    /// in dev mode with `DEV_DISABLE_API_FLOW_ENFORCEMENT=true`, as Kratos. Dangerous (defeats
    /// CSRF protection); for automated tests only.
    pub fn api_flow_enforcement_disabled(&self) -> bool {
        self.is_dev() && self.api_flow_enforcement_disabled
    }
}

fn default_base_url(host: &str, port: u16, dev: bool) -> Url {
    let scheme = if dev { "http" } else { "https" };
    let host = match host {
        "" | "0.0.0.0" => machine_hostname(),
        host => host,
    };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Url::parse(&format!("{scheme}://{host}:{port}/")).unwrap_or_else(|_| loopback_url(scheme, port))
}

/// Used when the host does not form a valid URL (Kratos would produce a broken one).
#[allow(clippy::expect_used)]
fn loopback_url(scheme: &str, port: u16) -> Url {
    Url::parse(&format!("{scheme}://127.0.0.1:{port}/"))
        .expect("a loopback URL with a numeric port always parses")
}

/// The machine's host name (Linux), else `127.0.0.1`, as Kratos falls back to.
fn machine_hostname() -> &'static str {
    static HOSTNAME: OnceLock<String> = OnceLock::new();
    HOSTNAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "127.0.0.1".to_string())
    })
}

impl fmt::Debug for Config {
    /// Like a derived `Debug`, but the DSN's password and all secrets are masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("dsn", &self.redacted_dsn())
            .field("selfservice", &self.selfservice)
            .field("identity", &self.identity)
            .field("database", &self.database)
            .field("courier", &self.courier)
            .field("serve", &self.serve)
            .field("log", &self.log)
            .field("secrets", &self.secrets)
            .field("hashers", &self.hashers)
            .field("cookies", &self.cookies)
            .field("session", &self.session)
            .field("security", &self.security)
            .field("clients", &self.clients)
            .field("version", &self.version)
            .field("dev", &self.dev)
            .field("help", &self.help)
            .field("sqa_opt_out", &self.sqa_opt_out)
            .field("watch_courier", &self.watch_courier)
            .field("expose_metrics_port", &self.expose_metrics_port)
            .field("config", &self.config)
            .field("revision", &self.revision)
            .field("kratos_rs", &self.kratos_rs)
            .field("oauth2_provider", &self.oauth2_provider)
            .field("preview", &self.preview)
            .field("tracing", &self.tracing)
            .field("ciphers", &self.ciphers)
            .field("feature_flags", &self.feature_flags)
            .field("organizations", &self.organizations)
            .field("enterprise", &self.enterprise)
            .field(
                "api_flow_enforcement_disabled",
                &self.api_flow_enforcement_disabled,
            )
            .finish()
    }
}
