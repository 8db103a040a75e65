//! `selfservice`: the flows (login, registration, settings, recovery, verification, logout,
//! error) and the authentication methods.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

use super::hooks::{Hook, HttpAuth};
use super::model::RequiredAal;
use super::values::{GoDuration, Sensitive, Untyped, UriRef};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Selfservice {
    /// Where browsers go after a flow when nothing more specific is configured.
    pub default_browser_return_url: UriRef,
    /// `return_to` values browsers may be redirected to (besides the default return URL).
    #[serde(default)]
    pub allowed_return_urls: Vec<UriRef>,
    #[serde(default)]
    pub flows: Flows,
    #[serde(default)]
    pub methods: Methods,
}

// ---------------------------------------------------------------------------------------------
// Flows
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Flows {
    pub settings: SettingsFlow,
    pub logout: LogoutFlow,
    pub registration: RegistrationFlow,
    pub login: LoginFlow,
    pub verification: VerificationFlow,
    pub recovery: RecoveryFlow,
    pub error: ErrorFlow,
}

const FALLBACK_UI: &str = "https://www.ory.sh/kratos/docs/fallback/";

fn fallback_ui(flow: &str) -> UriRef {
    UriRef::known_valid(format!("{FALLBACK_UI}{flow}"))
}

const ONE_HOUR: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsFlow {
    pub ui_url: UriRef,
    #[serde(with = "GoDuration")]
    pub lifespan: Duration,
    /// How long after authenticating a session may change credentials without re-authenticating.
    #[serde(with = "GoDuration")]
    pub privileged_session_max_age: Duration,
    pub required_aal: RequiredAal,
    pub after: SettingsAfter,
    pub before: BeforeHooks,
}

impl Default for SettingsFlow {
    fn default() -> Self {
        SettingsFlow {
            ui_url: fallback_ui("settings"),
            lifespan: ONE_HOUR,
            privileged_session_max_age: ONE_HOUR,
            required_aal: RequiredAal::HighestAvailable,
            after: SettingsAfter::default(),
            before: BeforeHooks::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogoutFlow {
    pub after: LogoutAfter,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogoutAfter {
    /// Unset: `selfservice.default_browser_return_url`.
    pub default_browser_return_url: Option<UriRef>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationFlow {
    pub enabled: bool,
    /// On "identifier already exists", tell the user which methods the account has.
    pub login_hints: bool,
    pub ui_url: UriRef,
    #[serde(with = "GoDuration")]
    pub lifespan: Duration,
    pub before: BeforeHooks,
    pub after: RegistrationAfter,
    /// Deprecated by Kratos in favour of `style`; `true` means the one-step (`unified`) style.
    pub enable_legacy_one_step: bool,
    pub style: RegistrationStyle,
}

impl Default for RegistrationFlow {
    fn default() -> Self {
        RegistrationFlow {
            enabled: true,
            login_hints: false,
            ui_url: fallback_ui("registration"),
            lifespan: ONE_HOUR,
            before: BeforeHooks::default(),
            after: RegistrationAfter::default(),
            enable_legacy_one_step: false,
            style: RegistrationStyle::ProfileFirst,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStyle {
    /// All fields on one screen.
    Unified,
    /// Traits first, then credentials (two steps).
    #[default]
    ProfileFirst,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LoginFlow {
    pub ui_url: UriRef,
    #[serde(with = "GoDuration")]
    pub lifespan: Duration,
    pub style: LoginStyle,
    pub before: BeforeHooks,
    pub after: LoginAfter,
}

impl Default for LoginFlow {
    fn default() -> Self {
        LoginFlow {
            ui_url: fallback_ui("login"),
            lifespan: ONE_HOUR,
            style: LoginStyle::Unified,
            before: BeforeHooks::default(),
            after: LoginAfter::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginStyle {
    #[default]
    Unified,
    IdentifierFirst,
}

/// Whether recovery/verification send a one-time code or a magic link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlowStrategy {
    Link,
    #[default]
    Code,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VerificationFlow {
    pub enabled: bool,
    pub ui_url: UriRef,
    pub after: VerificationAfter,
    #[serde(with = "GoDuration")]
    pub lifespan: Duration,
    pub before: BeforeHooks,
    pub r#use: FlowStrategy,
    /// Also send a message when the address is not registered (account enumeration trade-off).
    pub notify_unknown_recipients: bool,
}

impl Default for VerificationFlow {
    fn default() -> Self {
        VerificationFlow {
            enabled: false,
            ui_url: fallback_ui("verification"),
            after: VerificationAfter::default(),
            lifespan: ONE_HOUR,
            before: BeforeHooks::default(),
            r#use: FlowStrategy::Code,
            notify_unknown_recipients: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RecoveryFlow {
    pub enabled: bool,
    pub ui_url: UriRef,
    pub after: RecoveryAfter,
    #[serde(with = "GoDuration")]
    pub lifespan: Duration,
    pub before: BeforeHooks,
    pub r#use: FlowStrategy,
    pub notify_unknown_recipients: bool,
}

impl Default for RecoveryFlow {
    fn default() -> Self {
        RecoveryFlow {
            enabled: false,
            ui_url: fallback_ui("recovery"),
            after: RecoveryAfter::default(),
            lifespan: ONE_HOUR,
            before: BeforeHooks::default(),
            r#use: FlowStrategy::Code,
            notify_unknown_recipients: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ErrorFlow {
    pub ui_url: UriRef,
}

impl Default for ErrorFlow {
    fn default() -> Self {
        ErrorFlow {
            ui_url: fallback_ui("error"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hook lists
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BeforeHooks {
    pub hooks: Vec<Hook>,
}

/// Hooks and return URL after a flow completed with one method.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AfterMethod {
    /// Unset: the flow's `after.default_browser_return_url`, then the global one.
    pub default_browser_return_url: Option<UriRef>,
    pub hooks: Vec<Hook>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LoginAfter {
    pub default_browser_return_url: Option<UriRef>,
    pub password: AfterMethod,
    pub webauthn: AfterMethod,
    pub passkey: AfterMethod,
    pub oidc: AfterMethod,
    pub code: AfterMethod,
    pub totp: AfterMethod,
    pub lookup_secret: AfterMethod,
    /// Hooks run after every method's hooks.
    pub hooks: Vec<Hook>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationAfter {
    pub default_browser_return_url: Option<UriRef>,
    pub password: AfterMethod,
    pub webauthn: AfterMethod,
    pub passkey: AfterMethod,
    pub oidc: AfterMethod,
    pub code: AfterMethod,
    pub hooks: Vec<Hook>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsAfter {
    pub default_browser_return_url: Option<UriRef>,
    pub password: AfterMethod,
    pub totp: AfterMethod,
    pub oidc: AfterMethod,
    pub webauthn: AfterMethod,
    pub passkey: AfterMethod,
    pub lookup_secret: AfterMethod,
    pub profile: AfterMethod,
    pub hooks: Vec<Hook>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VerificationAfter {
    pub default_browser_return_url: Option<UriRef>,
    pub hooks: Vec<Hook>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RecoveryAfter {
    pub default_browser_return_url: Option<UriRef>,
    pub hooks: Vec<Hook>,
}

// ---------------------------------------------------------------------------------------------
// Methods
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Methods {
    /// Organisation SSO (Ory Network only).
    pub b2b: Option<Untyped>,
    pub profile: ProfileMethod,
    pub link: LinkMethod,
    pub code: CodeMethod,
    pub password: PasswordMethod,
    pub totp: TotpMethod,
    pub lookup_secret: LookupSecretMethod,
    pub webauthn: WebauthnMethod,
    pub passkey: PasskeyMethod,
    pub oidc: OidcMethod,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileMethod {
    pub enabled: bool,
}

impl Default for ProfileMethod {
    fn default() -> Self {
        ProfileMethod { enabled: true }
    }
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LookupSecretMethod {
    pub enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LinkMethod {
    pub enabled: bool,
    pub config: LinkConfig,
}

/// Open object in Kratos's schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LinkConfig {
    /// Base URL for links in messages (Kratos ignores it in favour of the public base URL).
    pub base_url: Option<String>,
    #[serde(with = "GoDuration")]
    pub lifespan: Duration,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            base_url: None,
            lifespan: ONE_HOUR,
        }
    }
}

/// One-time codes: recovery/verification by code, passwordless login, and MFA by code.
/// `passwordless_enabled` and `mfa_enabled` exclude each other. Open object in Kratos's schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CodeMethod {
    pub passwordless_enabled: bool,
    pub mfa_enabled: bool,
    pub enabled: bool,
    pub config: CodeConfig,
}

impl Default for CodeMethod {
    fn default() -> Self {
        CodeMethod {
            passwordless_enabled: false,
            mfa_enabled: false,
            enabled: true,
            config: CodeConfig::default(),
        }
    }
}

/// Open object in Kratos's schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct CodeConfig {
    #[serde(with = "GoDuration")]
    pub lifespan: Duration,
    /// Wrong codes accepted per flow before it must be restarted.
    #[schemars(range(min = 1, max = 255))]
    pub max_submissions: u32,
    /// Offer `code` login for identities without a code credential (sent to a verified address).
    pub missing_credential_fallback_enabled: bool,
}

impl Default for CodeConfig {
    fn default() -> Self {
        CodeConfig {
            lifespan: ONE_HOUR,
            max_submissions: 5,
            missing_credential_fallback_enabled: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordMethod {
    pub enabled: bool,
    pub config: PasswordConfig,
}

impl Default for PasswordMethod {
    fn default() -> Self {
        PasswordMethod {
            enabled: true,
            config: PasswordConfig::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    pub haveibeenpwned_host: String,
    pub haveibeenpwned_enabled: bool,
    /// Breaches a password may appear in before it is refused.
    #[schemars(range(max = 100))]
    pub max_breaches: u32,
    /// Accept the password when the breach API cannot be reached.
    pub ignore_network_errors: bool,
    #[schemars(range(min = 6))]
    pub min_password_length: u32,
    /// Refuse passwords too similar to the identifier.
    pub identifier_similarity_check_enabled: bool,
    pub migrate_hook: PasswordMigrateHook,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            haveibeenpwned_host: "api.pwnedpasswords.com".to_string(),
            haveibeenpwned_enabled: true,
            max_breaches: 0,
            ignore_network_errors: true,
            min_password_length: 8,
            identifier_similarity_check_enabled: true,
            migrate_hook: PasswordMigrateHook::default(),
        }
    }
}

/// Verifies passwords of identities imported without a hash against an external system.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordMigrateHook {
    pub enabled: bool,
    pub config: Option<PasswordMigrateHookConfig>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordMigrateHookConfig {
    pub url: Option<Url>,
    /// Always `POST`.
    #[schemars(regex(pattern = r"^POST$"))]
    pub method: String,
    pub headers: Sensitive<BTreeMap<String, String>>,
    pub emit_analytics_event: bool,
    pub auth: Option<HttpAuth>,
    /// Jsonnet body template (`http(s)://`, `file://`, `base64://`).
    #[schemars(url, regex(pattern = r"^(http|https|file|base64)://"))]
    pub body: Option<String>,
}

impl Default for PasswordMigrateHookConfig {
    fn default() -> Self {
        PasswordMigrateHookConfig {
            url: None,
            method: "POST".to_string(),
            headers: Sensitive::default(),
            emit_analytics_event: true,
            auth: None,
            body: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TotpMethod {
    pub enabled: bool,
    pub config: TotpConfig,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TotpConfig {
    /// Issuer shown in authenticator apps. Unset: the public base URL's host.
    pub issuer: Option<String>,
}

/// WebAuthn as a second factor (or passwordless with `passwordless: true`). `config` is
/// required when enabled.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WebauthnMethod {
    pub enabled: bool,
    pub config: Option<WebauthnConfig>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WebauthnConfig {
    pub passwordless: Option<bool>,
    pub rp: Option<WebauthnRelyingParty>,
}

/// The relying party. `origin` and `origins` exclude each other; with neither, the origin is
/// `<public base URL scheme>://<id>`. Open object in Kratos's schema. Origins stay strings (as
/// written) because browsers compare them textually, without the trailing `/` a `Url` adds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WebauthnRelyingParty {
    pub display_name: String,
    pub id: String,
    #[serde(default)]
    #[schemars(url)]
    pub origin: Option<String>,
    #[serde(default)]
    #[schemars(inner(url))]
    pub origins: Option<Vec<String>>,
    #[serde(default)]
    pub icon: Option<Url>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PasskeyMethod {
    pub enabled: bool,
    pub config: Option<PasskeyConfig>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PasskeyConfig {
    pub rp: Option<PasskeyRelyingParty>,
}

/// Open object in Kratos's schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PasskeyRelyingParty {
    pub display_name: String,
    pub id: String,
    #[serde(default)]
    pub origins: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OidcMethod {
    pub enabled: bool,
    pub config: OidcConfig,
}

#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// Base of the callback URLs. Unset: the public base URL.
    pub base_redirect_uri: Option<Url>,
    pub providers: Vec<OidcProvider>,
}

/// A social sign-in / OpenID Connect provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcProvider {
    /// Stable id (part of callback URLs; do not change once in use).
    pub id: String,
    pub provider: OidcProviderKind,
    #[serde(default)]
    pub label: Option<String>,
    pub client_id: String,
    /// Required for every provider except `apple`.
    #[serde(default)]
    pub client_secret: Option<Sensitive<String>>,
    #[serde(default)]
    pub issuer_url: Option<Url>,
    #[serde(default)]
    pub auth_url: Option<Url>,
    #[serde(default)]
    pub token_url: Option<Url>,
    /// Jsonnet mapping claims to traits (`file://`, `base64://`, `http(s)://`).
    #[schemars(url)]
    pub mapper_url: String,
    #[serde(default)]
    pub scope: Vec<String>,
    /// Required for (and only for) `microsoft`.
    #[serde(default)]
    pub microsoft_tenant: Option<String>,
    #[serde(default)]
    pub subject_source: OidcSubjectSource,
    #[serde(default)]
    pub apple_team_id: Option<String>,
    #[serde(default)]
    pub apple_private_key_id: Option<String>,
    #[serde(default)]
    pub apple_private_key: Option<Sensitive<String>>,
    /// OpenID Connect `claims` request parameter.
    #[serde(default)]
    pub requested_claims: Option<Untyped>,
    #[serde(default)]
    pub organization_id: Option<String>,
    #[serde(default)]
    pub additional_id_token_audiences: Vec<String>,
    #[serde(default)]
    pub claims_source: OidcClaimsSource,
    #[serde(default)]
    pub pkce: Pkce,
    #[serde(default)]
    pub fedcm_config_url: Option<Url>,
    #[serde(default)]
    pub net_id_token_origin_header: Option<String>,
    #[serde(default)]
    pub account_linking_mode: AccountLinkingMode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum OidcProviderKind {
    #[serde(rename = "github")]
    Github,
    #[serde(rename = "github-app")]
    GithubApp,
    #[serde(rename = "gitlab")]
    Gitlab,
    #[serde(rename = "generic")]
    Generic,
    #[serde(rename = "google")]
    Google,
    #[serde(rename = "microsoft")]
    Microsoft,
    #[serde(rename = "discord")]
    Discord,
    #[serde(rename = "salesforce")]
    Salesforce,
    #[serde(rename = "slack")]
    Slack,
    #[serde(rename = "facebook")]
    Facebook,
    #[serde(rename = "auth0")]
    Auth0,
    #[serde(rename = "vk")]
    Vk,
    #[serde(rename = "yandex")]
    Yandex,
    #[serde(rename = "apple")]
    Apple,
    #[serde(rename = "spotify")]
    Spotify,
    #[serde(rename = "netid")]
    Netid,
    #[serde(rename = "dingtalk")]
    Dingtalk,
    #[serde(rename = "patreon")]
    Patreon,
    #[serde(rename = "line")]
    Line,
    #[serde(rename = "linkedin")]
    Linkedin,
    #[serde(rename = "linkedin_v2")]
    LinkedinV2,
    #[serde(rename = "lark")]
    Lark,
    #[serde(rename = "x")]
    X,
    #[serde(rename = "fedcm-test")]
    FedcmTest,
    #[serde(rename = "amazon")]
    Amazon,
    #[serde(rename = "uaepass")]
    Uaepass,
}

/// Where the subject (the provider's user id) comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OidcSubjectSource {
    #[default]
    Userinfo,
    Me,
    Oid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OidcClaimsSource {
    #[default]
    IdToken,
    Userinfo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pkce {
    /// PKCE when the provider advertises support for it.
    #[default]
    Auto,
    Never,
    Force,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountLinkingMode {
    /// Linking a provider to an existing account requires signing in to that account first.
    #[default]
    ConfirmWithExistingCredential,
    Automatic,
}
